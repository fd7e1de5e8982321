-- Rewrite a short journal at its exact size. Redis gives a new stream a listpack node
-- preallocated to stream-node-max-bytes (4 KB), so a run whose whole journal is a few
-- hundred bytes of events holds 4.7 KB; DUMP and RESTORE (one atomic step, the same
-- entries, ids and stream metadata) leave it at what its entries take. Called when the
-- actor stops growing its journal for a while (a run that waits or has ended), on a
-- journal of at most ARGV[1] entries (rewriting a long one costs more than its last
-- node's slack).
-- KEYS[1]  {actor}:journal  stream
-- ARGV[1]  the most entries a journal may have to be rewritten
-- Returns 1 when rewritten, 0 when absent or too long.
local length = redis.call('XLEN', KEYS[1])
if length == 0 or length > tonumber(ARGV[1]) then
  return 0
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = 0
end
redis.call('RESTORE', KEYS[1], ttl, redis.call('DUMP', KEYS[1]), 'REPLACE')
return 1
