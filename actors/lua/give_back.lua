-- Give a turn's uncommitted batch back to its mailbox, only while the turn still owns
-- the actor. A turn that lost the actor (a worker cut off by a partition, its writes
-- arriving late) must not push its batch back: whoever took the actor over already put
-- the 'taken' list back (recover.lua, begin_turn.lua) and may have handled it since, so
-- a late give-back would leave stale copies in the mailbox of an actor nobody wakes.
-- KEYS[1]  {actor}:activation  string: owning token (the fence)
-- KEYS[2]  {actor}:taken       list: the batch in flight (deleted here)
-- KEYS[3]  {actor}:mailbox     list: where the batch goes back, at the head, in order
-- ARGV[1]  token;  ARGV[2..]  the envelopes to put back, newest first (RPUSH order)
-- Returns 1 when given back, 0 when the token no longer owns the actor (nothing done).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[2])
if #ARGV > 1 then
  redis.call('RPUSH', KEYS[3], unpack(ARGV, 2))
end
return 1
