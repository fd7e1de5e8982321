-- Hand a message to an idle actor together with the turn that will handle it: take the
-- actor's flag and keep the message in its in-hand key, where the turn's begin finds
-- it (begin_turn.lua, 'stored') and where, should that turn task be lost, whoever takes
-- the actor over finds it too and puts it in the mailbox. The sender then needs no
-- mailbox publish and the turn no take.
-- KEYS[1]  {actor}:activation  string: owning token, PX lease
-- KEYS[2]  {actor}:inhand      string: a message a turn holds in hand, until committed
-- ARGV[1]  token of the new turn chain;  ARGV[2]  lease in ms;  ARGV[3]  the message (JSON)
-- Returns 1 when the caller owns the actor with the message in hand (it must start the
-- turn), 0 when the actor is busy or a message of a dead turn is in hand already (the
-- caller delivers through the mailbox).
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[2], ARGV[3])
return 1
