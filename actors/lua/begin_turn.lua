-- Start one turn: prove the turn chain owns the actor (or, in 'activate' mode, take the
-- actor's flag first), renew its lease, notice a turn task that died, and return what
-- the turn needs to start without further round trips.
-- KEYS[1]  {actor}:activation  string: owning token, PX lease
-- KEYS[2]  {actor}:meta        hash: 'turns' = turns ever started; 'running' = token of
--                              the turn task in progress (cleared when a turn task ends);
--                              'crashes' = turn tasks that died, not yet acknowledged;
--                              'sealed' = the last seq of a sealed journal (seal.lua)
-- KEYS[3]  {actor}:inflight    list: delivery tags a dead turn task took
-- KEYS[4]  {actor}:journal     stream: read for its last seq (else meta's 'sealed')
-- KEYS[5]  {actor}:outbox      hash: effects committed but not dispatched
-- KEYS[6]  {actor}:seen        set: msg_ids already in the journal
-- KEYS[7]  {actor}:inhand      string: a message a turn held in hand, until committed
-- KEYS[8]  {actor}:dispatching string: a released turn is still dispatching its outbox
--          entries (reported as an empty outbox, so they are not sent twice)
-- KEYS[9]  {actor}:taken       list: envelopes a dead turn took from a Redis mailbox
-- KEYS[10] {actor}:mailbox     list: where those go back, at the head, in order
-- ARGV[1]  token;  ARGV[2]  lease in ms;  ARGV[3]  'activate' or 'owned'
-- ARGV[4]  msg_id of a message the caller holds in hand, or ''
-- ARGV[5]  that message (JSON), kept in KEYS[7] so a crash before the commit loses it not
-- ARGV[6]  'stored': the message ARGV[4] names is in KEYS[7] already (hand_over.lua):
--          found there, it is this turn's message in hand, not a dead turn's leftover
-- Returns {0} when the caller does not own the actor (stale turn, or lost the race),
-- else {turn, crashes, last seq, outbox size, in-hand msg_id seen (0/1), message left
-- in hand by a dead turn or '', the stored message (ARGV[6]) or '', tag, tag, ...}
-- where the tags are mailbox messages a
-- dead turn task of this chain took: the caller must put them (and that message) back
-- in the mailbox.
if ARGV[3] == 'activate' then
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {0}
  end
elseif redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0}
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local tags = {}
local left = ''
if redis.call('HEXISTS', KEYS[2], 'running') == 1 then
  redis.call('HINCRBY', KEYS[2], 'crashes', 1)
  tags = redis.call('LRANGE', KEYS[3], 0, -1)
  redis.call('DEL', KEYS[3])
  local taken = redis.call('LRANGE', KEYS[9], 0, -1)
  for i = #taken, 1, -1 do
    redis.call('RPUSH', KEYS[10], taken[i])
  end
  redis.call('DEL', KEYS[9])
end
local held = redis.call('GET', KEYS[7])
local stored = ''
if held then
  local ok, message = pcall(cjson.decode, held)
  if ARGV[6] == 'stored' and ok and type(message) == 'table' and message['msg_id'] == ARGV[4] then
    stored = held
  else
    left = held
    redis.call('DEL', KEYS[7])
  end
end

redis.call('HSET', KEYS[2], 'running', ARGV[1])
local turn = redis.call('HINCRBY', KEYS[2], 'turns', 1)
local crashes = tonumber(redis.call('HGET', KEYS[2], 'crashes') or '0')
local seq = 0
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
if #last > 0 then
  seq = tonumber(string.match(last[1][1], '^(%d+)'))
else  -- nothing after a sealed journal (sealed.py): it ends where the seal did
  seq = tonumber(redis.call('HGET', KEYS[2], 'sealed') or '0')
end
local seen = 0
if ARGV[4] ~= '' then
  seen = redis.call('SISMEMBER', KEYS[6], ARGV[4])
end
if ARGV[5] ~= '' and seen == 0 then
  redis.call('SET', KEYS[7], ARGV[5])
end
if stored ~= '' and seen == 1 then
  redis.call('DEL', KEYS[7])  -- already in the journal: nothing to hold
end
local outbox = 0
if redis.call('EXISTS', KEYS[8]) == 0 then
  outbox = redis.call('HLEN', KEYS[5])
end
local out = {turn, crashes, seq, outbox, seen, left, stored}
for _, tag in ipairs(tags) do
  out[#out + 1] = tag
end
return out
