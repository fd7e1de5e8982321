-- Activate an actor: take its "scheduled" flag if nobody holds it.
-- KEYS[1]  {actor}:activation  string: token of the turn chain that owns the actor, with a PX lease
-- ARGV[1]  token for the new turn chain
-- ARGV[2]  lease in milliseconds
-- Returns 1 when this caller now owns the actor (and must enqueue a turn), 0 otherwise.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
