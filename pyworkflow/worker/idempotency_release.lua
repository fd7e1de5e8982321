-- Let go of an idempotency key, if it still names the given run.
--
-- KEYS[1]  string: the run id that holds the app's idempotency key
-- KEYS[2]  zset:   idempotency keys (see idempotency_claim.lua)
-- ARGV[1]  the run id expected to hold the key
-- ARGV[2]  the key as the app gave it (the index member)
--
-- Returns 1 when the key was deleted, 0 when another run holds it (left alone).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 0
