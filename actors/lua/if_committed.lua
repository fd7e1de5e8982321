-- Writes that must happen only if a commit queued before them, in the same pipeline,
-- happened: e.g. the lease of a task the committing turn keeps to run in place, which
-- would otherwise count a start of an attempt that a failed commit never decided.
-- One server only (the keys span hash tags).
-- KEYS[1]      {actor}:meta   hash: 'last_commit' = the id of the actor's last commit
-- KEYS[1 + i]  the key of command i
-- ARGV[1]      the commit's id; then, per command: its name, the number of its further
--              arguments, those arguments
-- Returns false when that commit did not happen (nothing written), else each command's
-- reply, in order.
if redis.call('HGET', KEYS[1], 'last_commit') ~= ARGV[1] then
  return false
end
local out = {}
local a = 2
for i = 2, #KEYS do
  local name = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  local args = {}
  for j = 1, n do
    args[j] = ARGV[a + 1 + j]
  end
  out[#out + 1] = redis.call(name, KEYS[i], unpack(args))
  a = a + 2 + n
end
return out
