-- Give a claimed hook back when its delivery could not send the run its message.
-- KEYS[1]  the hook's hash (keys.hook; see hook_claim.lua): status, payload, delivery
-- ARGV[1]  the id of the delivery that claimed it
-- Only that delivery's own claim is undone (status back to 'pending', payload dropped);
-- returns 1 when released, 0 when the hook is not held by that delivery.
if redis.call('HGET', KEYS[1], 'delivery') ~= ARGV[1]
    or redis.call('HGET', KEYS[1], 'status') ~= 'received' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'pending')
redis.call('HDEL', KEYS[1], 'payload', 'delivery')
return 1
