-- Drop an idle actor from the lease index, unless somebody re-indexed it meanwhile.
-- KEYS[1]  lease index  zset: actor id -> lease expiry (ms, with a random fraction so each write is unique)
-- ARGV[1]  actor id;  ARGV[2]  the score the caller read before releasing the actor
-- Returns 1 when removed.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
