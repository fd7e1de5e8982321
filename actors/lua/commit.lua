-- Commit what one batch of a turn decided, all or nothing.
-- KEYS[1]  {actor}:journal     stream: one entry per event, entry id '<seq>-0'
-- KEYS[2]  {actor}:activation  string: owning token (the fence)
-- KEYS[3]  {actor}:seen        set: msg_ids whose effects are in the journal (redelivery dedupe)
-- KEYS[4]  {actor}:outbox      hash: effect id -> JSON effect, committed but not yet dispatched
-- KEYS[5]  {actor}:record      hash: the behaviour's projection of its state (for queries)
-- KEYS[6]  {actor}:inhand      string: a message held in hand, now committed (deleted)
-- KEYS[7]  {actor}:taken       list: envelopes taken from a Redis mailbox, now committed
-- KEYS[8]  {actor}:meta        hash: 'last_commit' = the id of the last commit, so a
--                              client retry of a commit whose reply was lost (a Redis
--                              restart) is recognised as already done; 'sealed' = the
--                              last seq of a sealed journal (seal.lua): the stream, when
--                              there is one, holds only the events after it
-- ARGV[1]  token;  ARGV[2]  expected last seq;  ARGV[3]  lease in milliseconds
-- ARGV[4]  this commit's id (random per call; a client retry sends the same)
-- ARGV[5]  n events, then n JSON events
-- then     m msg ids, then the m msg ids
-- then     k effects, then k pairs (effect id, JSON effect)
-- then     r record fields, then r pairs (field, value)
-- then, optionally, a guard: the msg_id of the message this batch handled, decided before
--          the turn began (``early_turn.py``): the commit happens only if the begin in the
--          same round trip left that message in KEYS[6] (so it owns the actor, the
--          message is not in the journal yet) and no dead turn task is unaccounted for;
--          '' for none
-- then, optionally, '1' when the actor settles (``TurnContext.settled``): a journal of at
--          most 200 entries is rewritten at its size after the appends
-- Returns {1, new_seq}; {-1, 0} when the lease was lost; {-2, actual_seq} when the
-- journal moved on (a concurrent or duplicate turn); {-3, seq} when the guard failed.
-- On failure nothing is written. The commit that creates the journal rewrites it at its
-- size (Redis preallocates 4 KB for a new stream).
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return {-1, 0}
end
local seq = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  seq = tonumber(string.match(last[1][1], '^(%d+)'))
else  -- nothing after a sealed journal (sealed.py): it ends where the seal did
  seq = tonumber(redis.call('HGET', KEYS[8], 'sealed') or '0')
end
local expected = tonumber(ARGV[2])
if seq ~= expected then
  if redis.call('HGET', KEYS[8], 'last_commit') == ARGV[4] then
    return {1, seq}  -- this very commit already happened; its reply was lost
  end
  return {-2, seq}
end
local n = tonumber(ARGV[5])
local m = tonumber(ARGV[6 + n])
local k = tonumber(ARGV[7 + n + m])
local r = tonumber(ARGV[8 + n + m + 2 * k])
local guard = ARGV[9 + n + m + 2 * k + 2 * r]
local settled = ARGV[10 + n + m + 2 * k + 2 * r] == '1'
if guard == '' then
  guard = nil
end
if guard then
  local held = redis.call('GET', KEYS[6])
  local ok, message = false, nil
  if held then
    ok, message = pcall(cjson.decode, held)
  end
  if not ok or type(message) ~= 'table' or message['msg_id'] ~= guard
      or tonumber(redis.call('HGET', KEYS[8], 'crashes') or '0') > 0 then
    return {-3, seq}
  end
end
redis.call('HSET', KEYS[8], 'last_commit', ARGV[4])
local i = 5
local created = #last == 0 and n > 0  -- a new stream (after a seal, too)
for j = 1, n do
  seq = seq + 1
  redis.call('XADD', KEYS[1], seq .. '-0', 'e', ARGV[i + j])
end
if created or (settled and seq <= 200) then
  -- Redis preallocates a stream's nodes at stream-node-max-bytes (4 KB); most journals
  -- stay far smaller. Rewritten at its size (DUMP and RESTORE: the same entries, ids
  -- and stream metadata) when created, and when the actor settles (it waits, or has
  -- ended) while its journal is short, it keeps no slack.
  redis.call('RESTORE', KEYS[1], 0, redis.call('DUMP', KEYS[1]), 'REPLACE')
end
i = i + n + 1
if m > 0 then
  redis.call('SADD', KEYS[3], unpack(ARGV, i + 1, i + m))
end
i = i + m + 1
for j = 1, k do
  redis.call('HSET', KEYS[4], ARGV[i + 2 * j - 1], ARGV[i + 2 * j])
end
i = i + 2 * k + 1
for j = 1, r do
  redis.call('HSET', KEYS[5], ARGV[i + 2 * j - 1], ARGV[i + 2 * j])
end
redis.call('DEL', KEYS[6])
redis.call('DEL', KEYS[7])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {1, seq}
