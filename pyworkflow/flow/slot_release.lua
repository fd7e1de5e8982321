-- Let go of a slot (or of a place in the wait), drop the slots of dead step attempts,
-- and grant the freed slots to the oldest waiters.
-- KEYS: holders, waiters, payloads, order, meta (see slot_acquire.lua)
-- ARGV: holder ("" to only sweep), max ("" = the one meta keeps), a granted run's lease
--       ms, how many expired run holders to report at most, a granted step's lease ms
-- A step attempt's slot is a pure lease (its worker renews it while the step runs): an
-- expired one is dead and dropped here. A run's slot is renewed by the sweep after it
-- checked the run still runs; expired ones are returned for that check.
-- Returns {released, held, waiting, next_due, n, run holders x n, granted/payload pairs}:
-- released 1 when the holder held or awaited a slot; next_due: the earliest lease
-- expiry left (-1: no holder).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = ARGV[1]
local max = tonumber(ARGV[2]) or tonumber(redis.call('HGET', KEYS[5], 'max')) or 0
local released = 0
if holder ~= '' then
  released = redis.call('ZREM', KEYS[1], holder) + redis.call('ZREM', KEYS[2], holder)
  redis.call('HDEL', KEYS[3], holder)
  redis.call('ZREM', KEYS[4], holder)
end
local runs = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, member in ipairs(expired) do
  if string.sub(member, 1, 5) == 'step:' then
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZREM', KEYS[4], member)
    redis.call('HDEL', KEYS[3], member)
  elseif #runs < tonumber(ARGV[4]) then
    runs[#runs + 1] = member
  end
end
local grants = {}
local held = redis.call('ZCARD', KEYS[1])
while held < max do
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if not first[1] then break end
  redis.call('ZREM', KEYS[2], first[1])
  local lease = tonumber(ARGV[3])
  if string.sub(first[1], 1, 5) == 'step:' then lease = tonumber(ARGV[5]) end
  redis.call('ZADD', KEYS[1], now + lease, first[1])
  redis.call('ZADD', KEYS[4], first[2], first[1])
  grants[#grants + 1] = first[1]
  grants[#grants + 1] = redis.call('HGET', KEYS[3], first[1]) or ''
  held = held + 1
end
local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_due = -1
if soonest[1] then next_due = tonumber(soonest[2]) end
local out = {released, held, redis.call('ZCARD', KEYS[2]), next_due, #runs}
for _, member in ipairs(runs) do out[#out + 1] = member end
for _, value in ipairs(grants) do out[#out + 1] = value end
return out
