-- A debounced start: open a window for a new run, or fold this start into the open one.
-- KEYS[1] window hash: run_id; its TTL is the window (``keys.debounce``)
-- ARGV: the new run's id, window ms
-- Returns {1, run id} when this start opened the window (the new run is its run), or
-- {0, run id} when a window was open: that run takes this start's arguments, and the
-- window starts again from now.
local holder = redis.call('HGET', KEYS[1], 'run_id')
if holder then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {0, holder}
end
redis.call('HSET', KEYS[1], 'run_id', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, ARGV[1]}
