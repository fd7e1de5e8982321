-- End a turn chain: give up the actor's flag; the caller then makes sure the mailbox is
-- empty (a message published before this release must not be stranded).
-- KEYS[1]  {actor}:activation  string: owning token
-- KEYS[2]  {actor}:inflight    list: mailbox delivery tags taken but not yet acknowledged
-- KEYS[3]  {actor}:meta        hash: 'running' is cleared (this turn task ended cleanly)
-- KEYS[4]  {actor}:dispatching  string: set while a released turn still dispatches the
--          effects of its last batch (the next turn then leaves the outbox to it)
-- KEYS[5]  (optional) the mailbox's Redis list, when the broker is this same Redis: its
--          length is read in the same atomic step, saving the caller a round trip
-- KEYS[6]  (optional, with KEYS[5]; never on a Redis Cluster) the lease index: when the
--          release leaves the actor idle (mailbox empty, nothing left to dispatch), its
--          entry is dropped in the same atomic step. A sender that published before this
--          is counted in the length (the entry stays: the caller starts a turn for it);
--          one that publishes after it indexes the actor again before taking its flag.
-- ARGV[1]  token;  ARGV[2]  '1' when the caller still has effects to dispatch
-- ARGV[3]  how long the dispatching mark may last (ms), should the caller die
-- ARGV[4]  (with KEYS[6]) the actor id
-- ARGV[5]  (optional, with ARGV[4]) the id of a commit sent just before in the same round
--          trip (``early_turn.py``): release only if that commit happened
-- Returns -2 when the token did not own the actor; -3 when the commit of ARGV[5] did not
-- happen (nothing done); else the mailbox length, or -1 when the mailbox is not in this
-- Redis (the caller asks the broker).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -2
end
if ARGV[5] and redis.call('HGET', KEYS[3], 'last_commit') ~= ARGV[5] then
  return -3
end
redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[3], 'running')
if ARGV[2] == '1' then
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[3])
end
if KEYS[5] then
  local waiting = redis.call('LLEN', KEYS[5])
  if KEYS[6] and waiting == 0 and ARGV[2] ~= '1' then
    redis.call('ZREM', KEYS[6], ARGV[4])
  end
  return waiting
end
return -1
