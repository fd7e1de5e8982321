-- A sender points the lease index at an actor it is about to activate.
-- KEYS[1]  lease index  zset: actor id -> when recovery should look at it (ms)
-- ARGV[1]  actor id;  ARGV[2]  proposed score;  ARGV[3]  a random fraction in [0, 1)
-- The score only moves earlier (a sender must not postpone the recovery of a turn that
-- died), and always changes, so ``unindex.lua`` of a turn ending at the same moment
-- sees that somebody touched the entry and leaves it.
local proposed = tonumber(ARGV[2])
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if current and tonumber(current) < proposed then
  proposed = tonumber(current)
end
redis.call('ZADD', KEYS[1], proposed - tonumber(ARGV[3]), ARGV[1])
return 1
