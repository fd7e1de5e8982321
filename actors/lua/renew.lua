-- Renew the lease of the turn chain that owns an actor.
-- KEYS[1]  {actor}:activation  string: owning token, PX lease
-- ARGV[1]  token;  ARGV[2]  lease in milliseconds
-- Returns 1 when renewed, 0 when the lease was lost.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
