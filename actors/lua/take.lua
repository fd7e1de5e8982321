-- Take up to N messages from an actor's mailbox when the broker is this same Redis: the
-- oldest first, moved in one atomic step into the actor's 'taken' list, where they stay
-- until the batch is committed (commit.lua deletes the list) or a dead turn's are put
-- back (begin_turn.lua, recover.lua). This is Kombu's Redis queue read directly: one
-- round trip instead of a basic_get, an unacked record and an ack per message.
-- KEYS[1]  {actor}:mailbox     list: Kombu message envelopes (LPUSH in, RPOP out)
-- KEYS[2]  {actor}:taken       list: envelopes taken and not yet committed
-- KEYS[3]  {actor}:activation  string: owning token (the fence), PX lease
-- ARGV[1]  token;  ARGV[2]  lease in ms;  ARGV[3]  max messages
-- Returns {-1} when the token lost the actor, else the envelopes, oldest first.
-- A 'taken' list that is not empty holds a batch whose take was not answered (the client
-- sends the script again when its reply is lost, e.g. as Redis restarts): that batch is
-- returned again, so no message is taken twice over and then deleted unhandled by the
-- commit. (A turn's takes never overlap otherwise: a commit or a give-back empties it.)
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return {-1}
end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
local pending = redis.call('LRANGE', KEYS[2], 0, -1)
if #pending > 0 then
  return pending
end
local out = {}
for i = 1, tonumber(ARGV[3]) do
  local item = redis.call('RPOP', KEYS[1])
  if not item then
    break
  end
  redis.call('RPUSH', KEYS[2], item)
  out[#out + 1] = item
end
return out
