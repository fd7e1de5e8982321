-- Start one turn of a turn chain: prove the chain still owns the actor, renew its lease,
-- and notice whether the previous turn task died without finishing.
-- KEYS[1]  {actor}:activation  string: owning token, PX lease
-- KEYS[2]  {actor}:meta        hash: 'turns' = turns ever started; 'running' = token of
--                              the turn task in progress (cleared when a turn task ends);
--                              'crashes' = turn tasks that died since the actor last
--                              acknowledged it
-- ARGV[1]  token the turn was enqueued with;  ARGV[2]  lease in milliseconds
-- Returns {0, 0} for a stale turn (the token no longer owns the actor), else
-- {turn number, crashes not yet acknowledged}.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0, 0}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('HEXISTS', KEYS[2], 'running') == 1 then
  redis.call('HINCRBY', KEYS[2], 'crashes', 1)
end
redis.call('HSET', KEYS[2], 'running', ARGV[1])
local turn = redis.call('HINCRBY', KEYS[2], 'turns', 1)
local crashes = tonumber(redis.call('HGET', KEYS[2], 'crashes') or '0')
return {turn, crashes}
