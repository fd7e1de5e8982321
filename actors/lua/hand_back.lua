-- Undo hand_over.lua when the turn task it was for could not be sent: free the actor's
-- flag and forget the message in hand, if the flag is still the caller's.
-- KEYS[1]  {actor}:activation;  KEYS[2]  {actor}:inhand
-- ARGV[1]  the token hand_over.lua set
-- Returns 1 when undone, 0 when the flag is no longer the caller's (left as it is).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
