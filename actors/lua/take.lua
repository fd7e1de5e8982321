-- Take up to N messages from an actor's mailbox when the broker is this same Redis: the
-- oldest first, moved in one atomic step into the actor's 'taken' list, where they stay
-- until the batch is committed (commit.lua deletes the list) or a dead turn's are put
-- back (begin_turn.lua, recover.lua). This is Kombu's Redis queue read directly: one
-- round trip instead of a basic_get, an unacked record and an ack per message.
-- KEYS[1]  {actor}:mailbox     list: Kombu message envelopes (LPUSH in, RPOP out)
-- KEYS[2]  {actor}:taken       list: envelopes taken and not yet committed
-- KEYS[3]  {actor}:activation  string: owning token (the fence), PX lease
-- KEYS[4]  {actor}:seen        set: msg_ids already in the journal
-- ARGV[1]  token;  ARGV[2]  lease in ms;  ARGV[3]  max messages
-- Returns {-1} when the token lost the actor, else {envelopes, ids, seen}: the envelopes,
-- oldest first; for each, the msg_id its sender put in the envelope's headers ('' if
-- none, or unreadable) and whether that id is in the seen set (1/0), so the turn needs
-- no round trip of its own for the redelivery check. The caller trusts a flag only when
-- the id matches the message's own msg_id (the body is the truth, the header a hint).
-- A 'taken' list that is not empty holds a batch whose take was not answered (the client
-- sends the script again when its reply is lost, e.g. as Redis restarts): that batch is
-- returned again, so no message is taken twice over and then deleted unhandled by the
-- commit. (A turn's takes never overlap otherwise: a commit or a give-back empties it.)
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return {-1}
end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
local out = redis.call('LRANGE', KEYS[2], 0, -1)
if #out == 0 then
  for i = 1, tonumber(ARGV[3]) do
    local item = redis.call('RPOP', KEYS[1])
    if not item then
      break
    end
    redis.call('RPUSH', KEYS[2], item)
    out[#out + 1] = item
  end
end
local ids, seen = {}, {}
for i, item in ipairs(out) do
  local ok, envelope = pcall(cjson.decode, item)
  local id = ''
  if ok and type(envelope) == 'table' and type(envelope['headers']) == 'table'
      and type(envelope['headers']['msg_id']) == 'string' then
    id = envelope['headers']['msg_id']
  end
  ids[i] = id
  seen[i] = 0
  if id ~= '' then
    seen[i] = redis.call('SISMEMBER', KEYS[4], id)
  end
end
return {out, ids, seen}
