-- End a turn chain: give up the actor's flag (the caller then re-checks the mailbox).
-- KEYS[1]  {actor}:activation  string: owning token
-- KEYS[2]  {actor}:inflight    list: mailbox delivery tags taken but not yet acknowledged
-- KEYS[3]  {actor}:meta        hash: 'running' is cleared (this turn task ended cleanly)
-- ARGV[1]  token
-- Returns 1 when released, 0 when the token did not own the actor.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[3], 'running')
return 1
