-- Take a slot of one limit key, or wait for one in order of arrival.
-- KEYS[1] holders  sorted set: holder -> lease expiry (ms, Redis clock)
-- KEYS[2] waiters  sorted set: holder -> arrival number (FIFO)
-- KEYS[3] payloads hash: holder -> "<since ms>|<what to deliver when granted>", kept
--                  while it waits and until a granted holder takes its slot
-- KEYS[4] order    sorted set: holder -> arrival number (cancel_oldest picks the first)
-- KEYS[5] meta     hash: max (the last declared), arrivals (counter)
-- ARGV: holder, max, policy (queue | cancel_newest | cancel_oldest | force: a retried run
--       takes its slot back, over the max if it must), lease ms, payload
-- Returns {state, held, victim, first}: state 1 holds a slot (a granted holder taking it
-- renews it here), 0 waits, -1 refused (cancel_newest); held: slots held now; victim: the
-- holder cancel_oldest chose to cancel, or ""; first: 1 when the limit key had neither
-- holders nor waiters before (the caller puts it in the sweep's index).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder, max, policy, lease = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
redis.call('HSET', KEYS[5], 'max', max)
if redis.call('ZSCORE', KEYS[1], holder) then
  redis.call('ZADD', KEYS[1], now + lease, holder)
  redis.call('HDEL', KEYS[3], holder)
  return {1, redis.call('ZCARD', KEYS[1]), '', 0}
end
local held = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[2], holder) then
  return {0, held, '', 0}
end
local waiting = redis.call('ZCARD', KEYS[2])
local first = 0
if held == 0 and waiting == 0 then first = 1 end
local arrival = redis.call('HINCRBY', KEYS[5], 'arrivals', 1)
if (held < max and waiting == 0) or policy == 'force' then
  redis.call('ZADD', KEYS[1], now + lease, holder)
  redis.call('ZADD', KEYS[4], arrival, holder)
  return {1, held + 1, '', first}
end
if policy == 'cancel_newest' then
  return {-1, held, '', 0}
end
redis.call('ZADD', KEYS[2], arrival, holder)
redis.call('HSET', KEYS[3], holder, now .. '|' .. ARGV[5])
local victim = ''
if policy == 'cancel_oldest' then
  local oldest = redis.call('ZRANGE', KEYS[4], 0, 0)
  if oldest[1] then
    victim = oldest[1]
    redis.call('ZREM', KEYS[4], victim)
  end
end
return {0, held, victim, first}
