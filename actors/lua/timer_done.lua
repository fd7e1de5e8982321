-- Confirm a claimed timer was delivered (or cancel a timer): forget it.
-- KEYS[1]  {timers:N}:due;  KEYS[2]  {timers:N}:body;  KEYS[3]  {timers:N}:claimed (one shard)
-- ARGV     timer ids
for _, id in ipairs(ARGV) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[2], id)
end
return #ARGV
