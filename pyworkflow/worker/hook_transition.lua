-- Move a hook from one status to another, atomically, or say why not.
-- KEYS[1]  the hook's hash (keys.hook): run_id, call_id, name, status, expires_at_ms, created_at,
--          shielded ('1' when awaited inside shield()), typed, schema, rejected, payload and
--          delivery once received (see hook_claim.lua)
-- ARGV[1]  required current status ('pending');  ARGV[2]  new status
-- ARGV[3]  '1' to refuse when the hook's expires_at_ms has passed (by the Redis clock)
-- ARGV[4]  '1' to leave a shielded hook alone (a cancel does not interrupt it)
-- Returns {1, new status} when moved, {0, current status, stored payload or false,
-- rejected} when not ('missing' if no hook, 'expired' when it is pending but past its
-- expiry, 'shielded' when ARGV[4] spared it); the payload is the received delivery's JSON
-- text, and rejected how many payloads the run refused before it (hook_reopen.lua).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 'missing'}
end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= ARGV[1] then
  return {0, status, redis.call('HGET', KEYS[1], 'payload'),
          tonumber(redis.call('HGET', KEYS[1], 'rejected') or '0') or 0}
end
if ARGV[4] == '1' and redis.call('HGET', KEYS[1], 'shielded') == '1' then
  return {0, 'shielded'}
end
if ARGV[3] == '1' then
  local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_at_ms') or '')
  if expires then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if now >= expires then
      return {0, 'expired'}
    end
  end
end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
return {1, ARGV[2]}
