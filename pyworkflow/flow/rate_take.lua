-- One start under a rate limit (GCRA on the Redis clock), or its start time reserved.
-- KEYS[1] tat      string: the theoretical arrival time of the next start (ms)
-- KEYS[2] reserved sorted set: attempt -> the start time set aside for it (ms)
-- ARGV: attempt, interval ms (period / count), burst
-- Returns {1, 0} when the attempt may start now (or holds a reservation: it was deferred
-- once already and its time has come), {0, at} when it must wait until ``at`` (ms), its
-- start reserved then, so a deferred attempt is deferred once and the spacing is exact.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {1, 0}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 3600000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local allowed_at = tat - (burst - 1) * interval
local ttl = math.ceil(tat + interval - now + burst * interval) + 1000
redis.call('SET', KEYS[1], string.format('%.3f', tat + interval), 'PX', ttl)
if now >= allowed_at then
  return {1, 0}
end
redis.call('ZADD', KEYS[2], allowed_at, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl + 3600000)
return {0, math.ceil(allowed_at)}
