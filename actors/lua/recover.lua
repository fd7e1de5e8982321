-- Take over an actor whose turn chain died (its lease expired).
-- KEYS[1]  {actor}:activation  string: owning token, PX lease
-- KEYS[2]  {actor}:inflight    list: delivery tags the dead turn took, oldest first
-- KEYS[3]  {actor}:taken       list: envelopes it took from a Redis mailbox, oldest first
-- KEYS[4]  {actor}:mailbox     list: where those go back, at the head, in order
-- KEYS[5]  (with ARGV[3]) {actor}:meta  hash: 'running' while a turn task is under way
-- ARGV[1]  new token;  ARGV[2]  lease in milliseconds
-- ARGV[3], ARGV[4]  (optional) take the actor over although its flag is still held, if
--          the flag's PTTL is above ARGV[3] and at most ARGV[4] and no turn task runs:
--          a queued turn, whose task the caller found in no queue (``recovery.py``). A
--          turn that began holds a lease of ARGV[3] at most, and sets 'running'.
-- Returns {0, pttl} when the actor is still owned (nothing to recover),
-- or {1, tag, tag, ...} (oldest first) when the caller now owns it and must restore those
-- tags and enqueue a turn.
local pttl = redis.call('PTTL', KEYS[1])
if pttl ~= -2 then
  if not ARGV[3] or pttl <= tonumber(ARGV[3]) or pttl > tonumber(ARGV[4])
      or redis.call('HEXISTS', KEYS[5], 'running') == 1 then
    return {0, pttl}
  end
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
