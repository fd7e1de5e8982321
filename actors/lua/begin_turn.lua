-- Start one turn of a turn chain: prove the chain still owns the actor, renew its lease,
-- and notice whether the previous turn task died without finishing.
-- KEYS[1]  {actor}:activation  string: owning token, PX lease
-- KEYS[2]  {actor}:meta        hash: 'turns' = turns ever started; 'running' = token of
--                              the turn task in progress (cleared when a turn task ends);
--                              'crashes' = turn tasks that died since the actor last
--                              acknowledged it
-- KEYS[3]  {actor}:inflight    list: delivery tags the dead turn task took, if one died
-- ARGV[1]  token the turn was enqueued with;  ARGV[2]  lease in milliseconds
-- Returns {0, 0} for a stale turn (the token no longer owns the actor), else
-- {turn number, crashes not yet acknowledged, tag, tag, ...}: the tags of messages a
-- dead turn task of this chain took (the broker handed its task back before the lease
-- expired); the caller must put them back in the mailbox.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0, 0}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local tags = {}
if redis.call('HEXISTS', KEYS[2], 'running') == 1 then
  redis.call('HINCRBY', KEYS[2], 'crashes', 1)
  tags = redis.call('LRANGE', KEYS[3], 0, -1)
  redis.call('DEL', KEYS[3])
end
redis.call('HSET', KEYS[2], 'running', ARGV[1])
local turn = redis.call('HINCRBY', KEYS[2], 'turns', 1)
local crashes = tonumber(redis.call('HGET', KEYS[2], 'crashes') or '0')
local out = {turn, crashes}
for _, tag in ipairs(tags) do
  out[#out + 1] = tag
end
return out
