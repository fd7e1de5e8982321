-- Confirm a claimed timer was delivered (or cancel a timer): forget it.
-- KEYS[1]  {timers}:due;  KEYS[2]  {timers}:body;  KEYS[3]  {timers}:claimed
-- ARGV     timer ids
for _, id in ipairs(ARGV) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[2], id)
end
return #ARGV
