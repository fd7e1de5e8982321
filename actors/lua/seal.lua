-- Seal an actor's journal: its events 1..n, compressed by the caller into one value
-- (``sealed.py``), replace the stream, if the journal still ends at n.
-- KEYS[1]  {actor}:journal  stream: the events after the sealed prefix (deleted here)
-- KEYS[2]  {actor}:sealed   string: the sealed value (replaced here)
-- KEYS[3]  {actor}:meta     hash: 'sealed' = the last seq the sealed value holds
-- KEYS[4]  {actor}:seen     set: msg_ids in the journal
-- ARGV[1]  n, the last seq of the journal the caller read and compressed
-- ARGV[2]  the sealed value of events 1..n
-- ARGV[3]  the seq at which the actor ended ('0': it has not): when the journal still ends
--          there (nothing was appended after the end, e.g. an operator's retry), the seen
--          set and meta's 'last_commit' go too: an ended actor's behaviour recognises a
--          redelivered message by itself (``TurnContext.compact_journal``), and no
--          commit of it is in flight (a seal comes a second after its last commit)
-- ARGV[4]  the last seq of the sealed value the caller read ('0': none): if meta's 'sealed'
--          says otherwise, another seal came between the caller's reads, which may then
--          have missed the events it moved: nothing is written
-- Returns 1 when sealed, 0 when the journal has moved on (nothing written: a turn
-- appended after the read; the next seal of the actor folds those in).
local seq = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  seq = tonumber(string.match(last[1][1], '^(%d+)'))
else
  seq = tonumber(redis.call('HGET', KEYS[3], 'sealed') or '0')
end
if seq ~= tonumber(ARGV[1]) or seq == 0
    or tonumber(redis.call('HGET', KEYS[3], 'sealed') or '0') ~= tonumber(ARGV[4]) then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], 'sealed', seq)
redis.call('DEL', KEYS[1])
if tonumber(ARGV[3]) == seq then
  redis.call('DEL', KEYS[4])
  redis.call('HDEL', KEYS[3], 'last_commit')
end
return 1
