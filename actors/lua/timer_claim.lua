-- Claim timers that are due, so exactly one worker delivers each (at least once).
-- KEYS     one shard's three keys, or several shards' one after the other (one server
--          only: the shards' keys carry different hash tags):
--   {timers:N}:due     zset: timer id -> due time (ms, Redis server clock)
--   {timers:N}:body    hash: timer id -> JSON message
--   {timers:N}:claimed zset: timer id -> claim expiry (ms)
-- ARGV[1]  max timers to claim (in all the shards given: the earliest due first)
-- ARGV[2]  claim lease in ms
-- ARGV[3]  grace in ms (optional, 0): claim only timers due at least this long ago; a
--          worker's main loop leaves a timer that long to the pool processes that run
--          due timers themselves (``actors.timer_runner``)
-- A claim whose worker died before confirming delivery expires and the timer is due again.
-- Returns {now_ms, next_due_ms_or_-1, id1, body1, due1, id2, body2, due2, ...}; the next
-- due time is the earliest still waiting in any of the shards.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local grace = tonumber(ARGV[3]) or 0
local found = {}
for s = 1, #KEYS, 3 do
  local expired = redis.call('ZRANGEBYSCORE', KEYS[s + 2], '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(expired) do
    redis.call('ZREM', KEYS[s + 2], id)
    redis.call('ZADD', KEYS[s], now, id)
  end
  local due = redis.call('ZRANGEBYSCORE', KEYS[s], '-inf', now - grace, 'WITHSCORES',
                         'LIMIT', 0, limit)
  for i = 1, #due, 2 do
    found[#found + 1] = {tonumber(due[i + 1]), due[i], s}
  end
end
if #KEYS > 3 then
  table.sort(found, function(a, b) return a[1] < b[1] end)
end
local out = {now, -1}
for i = 1, math.min(limit, #found) do
  local score, id, s = found[i][1], found[i][2], found[i][3]
  redis.call('ZREM', KEYS[s], id)
  local body = redis.call('HGET', KEYS[s + 1], id)
  if body then
    redis.call('ZADD', KEYS[s + 2], now + tonumber(ARGV[2]), id)
    out[#out + 1] = id
    out[#out + 1] = body
    out[#out + 1] = math.floor(score)
  end
end
for s = 1, #KEYS, 3 do
  local nxt = redis.call('ZRANGE', KEYS[s], 0, 0, 'WITHSCORES')
  if #nxt > 0 and (out[2] < 0 or tonumber(nxt[2]) < out[2]) then
    out[2] = tonumber(nxt[2])
  end
end
return out
