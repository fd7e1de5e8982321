-- End a turn chain, as release.lua, and when that leaves the actor idle (its mailbox,
-- a Redis list in this same Redis, is empty and nothing is left to dispatch), drop it
-- from the lease index in the same atomic step. A sender that published before this
-- ran is counted in the length (the entry stays: the caller starts a turn for it); one
-- that publishes after it indexes the actor again before taking its flag. Only where
-- every key is on one server (not on a Redis Cluster).
-- KEYS[1]  {actor}:activation  KEYS[2]  {actor}:inflight  KEYS[3]  {actor}:meta
-- KEYS[4]  {actor}:dispatching  KEYS[5]  the mailbox list  KEYS[6]  the lease index
-- ARGV[1]  token;  ARGV[2]  '1' when the caller still has effects to dispatch
-- ARGV[3]  how long the dispatching mark may last (ms);  ARGV[4]  the actor id
-- Returns -2 when the token did not own the actor; else the mailbox length.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -2
end
redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[3], 'running')
if ARGV[2] == '1' then
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[3])
end
local waiting = redis.call('LLEN', KEYS[5])
if waiting == 0 and ARGV[2] ~= '1' then
  redis.call('ZREM', KEYS[6], ARGV[4])
end
return waiting
