-- Claim timers that are due, so exactly one worker delivers each (at least once).
-- KEYS[1]  {timers:N}:due     zset: timer id -> due time (ms, Redis server clock)
-- KEYS[2]  {timers:N}:body    hash: timer id -> JSON message
-- KEYS[3]  {timers:N}:claimed zset: timer id -> claim expiry (ms)
-- ARGV[1]  max timers to claim;  ARGV[2]  claim lease in ms
-- A claim whose worker died before confirming delivery expires and the timer is due again.
-- Returns {now_ms, next_due_ms_or_-1, id1, body1, due1, id2, body2, due2, ...}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[1], now, id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0,
                      tonumber(ARGV[1]))
local out = {now, -1}
for i = 1, #due, 2 do
  local id = due[i]
  redis.call('ZREM', KEYS[1], id)
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
    out[#out + 1] = id
    out[#out + 1] = body
    out[#out + 1] = math.floor(tonumber(due[i + 1]))
  end
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #nxt > 0 then
  out[2] = tonumber(nxt[2])
end
return out
