-- A step attempt's log lines, into its run's app log, only while the run has a journal.
-- A step that ends after its run was purged would otherwise make the stream again, with
-- no expiry and in no index, for good; its lines are still in the worker's own log.
-- KEYS[1]  the run's app log (keys.run_app_log)
-- KEYS[2]  the run's journal stream, KEYS[3] its sealed journal (actors' ActorKeys): the
--          run exists while either does (all three share the run's hash tag)
-- ARGV[1]  the cap: MAXLEN, exact (app_log.MAX_LINES)
-- ARGV[2..] per line: its field count n, then n field/value pairs
-- Returns how many lines were written (0: the run is gone).
if redis.call('EXISTS', KEYS[2], KEYS[3]) == 0 then
  return 0
end
local i, written = 2, 0
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local entry = {}
  for j = 1, 2 * n do
    entry[j] = ARGV[i + j]
  end
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', unpack(entry))
  i = i + 1 + 2 * n
  written = written + 1
end
return written
