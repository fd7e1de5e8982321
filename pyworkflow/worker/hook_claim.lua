-- Claim a pending hook for one delivery: the status move and the payload it carries are
-- one atomic write, so the delivery that wins the move is the payload the run records.
-- KEYS[1]  the hook's hash (keys.hook): run_id, call_id, name, status, expires_at_ms, created_at,
--          shielded, typed and schema (a typed hook's), rejected (how many payloads the run
--          refused: hook_reopen.lua), and once claimed: payload (the JSON text) and delivery
--          (its id)
-- ARGV[1]  the delivery's id (random);  ARGV[2]  the payload, as JSON text
-- Returns {1, 'received', false, rejected} when claimed; {0, status, stored payload or
-- false, rejected} when not ('missing' if no hook, 'expired' when it is pending but past
-- expires_at_ms by the Redis clock, and the winner's payload when the hook is already
-- 'received'). rejected names the round the delivery's message belongs to.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 'missing'}
end
local rejected = tonumber(redis.call('HGET', KEYS[1], 'rejected') or '0') or 0
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' then
  return {0, status, redis.call('HGET', KEYS[1], 'payload'), rejected}
end
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_at_ms') or '')
if expires then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now >= expires then
    return {0, 'expired', false, rejected}
  end
end
redis.call('HSET', KEYS[1], 'status', 'received', 'payload', ARGV[2], 'delivery', ARGV[1])
return {1, 'received', false, rejected}
