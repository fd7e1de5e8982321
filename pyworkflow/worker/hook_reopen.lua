-- A delivered payload the run's model refused: drop its claim and count the refusal, so
-- the hook takes another payload (or ends, when the run stopped waiting at that moment).
-- KEYS[1]  the hook's hash (keys.hook; see hook_claim.lua): status, payload, delivery,
--          rejected (how many payloads the run refused so far; absent means 0)
-- ARGV[1]  how many the run had refused before this one (the round the payload belongs to)
-- ARGV[2]  the status to leave the hook in: 'pending', or 'expired' / 'cancelled'
-- Only a 'received' hook still in that round moves, so a refusal handled twice (a turn
-- that did not commit, then ran again) never drops a later delivery's claim.
-- Returns 1 when moved, 0 when not.
if redis.call('HGET', KEYS[1], 'status') ~= 'received' then
  return 0
end
local rejected = tonumber(redis.call('HGET', KEYS[1], 'rejected') or '0') or 0
if rejected ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'rejected', rejected + 1)
redis.call('HDEL', KEYS[1], 'payload', 'delivery')
return 1
