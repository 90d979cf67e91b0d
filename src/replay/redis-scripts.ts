/**
 * Lua scripts of the Redis store. Redis runs a script without interleaving other commands, so
 * each one reads and updates its keys atomically, and the client sends it in one round trip.
 * Times are in milliseconds. `PTTL` returns -2 for a missing key and -1 for a key without
 * expiry; a counter without expiry gets one, so no counter can live forever.
 */

/**
 * Claims a nonce and counts the request against a fixed window.
 * KEYS: nonce key, counter key. ARGV: nonce TTL, maximum requests, window length.
 * Returns `{0, 0}` when admitted, `{1, 0}` when the nonce was seen, `{2, ttl}` when the
 * counter is over its maximum, with the time until the window ends.
 */
export const ADMIT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {1, 0}
end
local count = redis.call('INCR', KEYS[2])
if redis.call('PTTL', KEYS[2]) < 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
if count > tonumber(ARGV[2]) then
  return {2, redis.call('PTTL', KEYS[2])}
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return {0, 0}
`;

/**
 * Counts one login attempt against several limits.
 * KEYS: for each limit, its attempts key and its lockout key.
 * ARGV: for each limit, maximum attempts, window length and lockout length.
 * Returns the longest remaining lockout, or 0 when the attempt is allowed. While any key is
 * locked out, nothing is counted.
 */
export const CONSUME_ATTEMPTS_SCRIPT = `
local limits = #KEYS / 2
local locked = 0
for i = 1, limits do
  local ttl = redis.call('PTTL', KEYS[2 * i])
  if ttl > locked then locked = ttl end
end
if locked > 0 then
  return locked
end
for i = 1, limits do
  local attempts = KEYS[2 * i - 1]
  local count = redis.call('INCR', attempts)
  if redis.call('PTTL', attempts) < 0 then
    redis.call('PEXPIRE', attempts, ARGV[3 * i - 1])
  end
  if count > tonumber(ARGV[3 * i - 2]) then
    local lockout = tonumber(ARGV[3 * i])
    redis.call('SET', KEYS[2 * i], '1', 'PX', lockout)
    redis.call('DEL', attempts)
    if lockout > locked then locked = lockout end
  end
end
return locked
`;

/**
 * Gives back login attempts.
 * KEYS: attempts keys. ARGV: for each key, '1' to delete the count or '0' to subtract one.
 */
export const RELEASE_ATTEMPTS_SCRIPT = `
for i = 1, #KEYS do
  if ARGV[i] == '1' then
    redis.call('DEL', KEYS[i])
  elseif tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 0
`;
