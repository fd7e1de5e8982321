-- Put messages a turn took (and did not commit) back at the head of the mailbox, in order.
-- KEYS[1]  {actor}:mailbox  list: Kombu envelopes (RPOP takes from the right: the head)
-- KEYS[2]  {actor}:taken    list: envelopes taken, oldest first
-- Returns how many went back.
local items = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #items, 1, -1 do
  redis.call('RPUSH', KEYS[1], items[i])
end
redis.call('DEL', KEYS[2])
return #items
