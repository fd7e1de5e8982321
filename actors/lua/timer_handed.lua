-- Confirm a due timer whose message a turn now holds in hand: only when that turn owns
-- the actor. Queued right after begin_turn.lua in the same pipeline, so the confirm
-- happens exactly when the begin kept the message (in the actor's in-hand key, or
-- found it already in the journal); a stale turn task leaves the claim alone and
-- delivers the message the usual way. One server only (the keys span two hash tags).
-- KEYS[1]  {actor}:activation  string: owning token
-- KEYS[2]  {timers:N}:due;  KEYS[3]  {timers:N}:body;  KEYS[4]  {timers:N}:claimed
-- ARGV[1]  the turn's token;  ARGV[2]  timer id
-- Returns 1 when confirmed, 0 when the token does not own the actor.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1
