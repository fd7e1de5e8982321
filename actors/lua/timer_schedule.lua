-- Schedule (or reschedule) a durable timer.
-- KEYS[1]  {timers:N}:due     zset: timer id -> due time (ms since epoch, Redis server clock)
-- KEYS[2]  {timers:N}:body    hash: timer id -> JSON message to deliver when it fires
-- KEYS[3]  {timers:N}:claimed zset: timer id -> claim expiry (ms); a timer being delivered
-- ARGV[1]  timer id;  ARGV[2]  'at' or 'in';  ARGV[3]  ms since epoch ('at') or delay in ms ('in')
-- ARGV[4]  JSON message
-- Returns the due time in ms. Idempotent: scheduling the same id again moves it.
local due = tonumber(ARGV[3])
if ARGV[2] == 'in' then
  local t = redis.call('TIME')
  due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + due
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[1], due, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return due
