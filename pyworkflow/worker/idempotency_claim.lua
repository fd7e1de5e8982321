-- Claim an idempotency key for a new run, or learn which run holds it.
--
-- KEYS[1]  string: the run id that holds the app's idempotency key
-- KEYS[2]  zset:   idempotency keys, scored by when retention looks at them next
-- ARGV[1]  the new run's id
-- ARGV[2]  the run id the caller saw holding the key ("" = the caller expects it free);
--          a holder is only replaced when it is still the one the caller judged
--          replaceable (finished and reuse allowed, or its start never happened)
-- ARGV[3]  score for the index (ms)
-- ARGV[4]  the key as the app gave it (the index member)
--
-- Returns {1, new run id} when the key now names the new run, else {0, holder}.
local holder = redis.call('GET', KEYS[1])
if (holder == false and ARGV[2] == '') or (holder ~= false and holder == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
  return {1, ARGV[1]}
end
if holder == false then
  return {0, ''}
end
return {0, holder}
