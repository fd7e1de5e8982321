-- Start one turn of a turn chain: prove the chain still owns the actor and renew its lease.
-- KEYS[1]  {actor}:activation  string: owning token, PX lease
-- KEYS[2]  {actor}:meta        hash: 'turns' = number of turns ever started
-- ARGV[1]  token the turn was enqueued with
-- ARGV[2]  lease in milliseconds
-- Returns the new turn number, or 0 when the token no longer owns the actor (a stale turn).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HINCRBY', KEYS[2], 'turns', 1)
