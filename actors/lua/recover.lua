-- Take over an actor whose turn chain died (its lease expired).
-- KEYS[1]  {actor}:activation  string: owning token, PX lease
-- KEYS[2]  {actor}:inflight    list: delivery tags the dead turn took, oldest first
-- KEYS[3]  {actor}:taken       list: envelopes it took from a Redis mailbox, oldest first
-- KEYS[4]  {actor}:mailbox     list: where those go back, at the head, in order
-- ARGV[1]  new token;  ARGV[2]  lease in milliseconds
-- Returns {0, pttl} when the actor is still owned (nothing to recover),
-- or {1, tag, tag, ...} (oldest first) when the caller now owns it and must restore those
-- tags and enqueue a turn.
local pttl = redis.call('PTTL', KEYS[1])
if pttl ~= -2 then
  return {0, pttl}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local tags = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
local taken = redis.call('LRANGE', KEYS[3], 0, -1)
for i = #taken, 1, -1 do
  redis.call('RPUSH', KEYS[4], taken[i])
end
redis.call('DEL', KEYS[3])
local out = {1}
for _, tag in ipairs(tags) do
  out[#out + 1] = tag
end
return out
