/**
 * The Lua scripts of the Redis data model, shared by the Redis (TCP) and Upstash (REST) adapters. Each store
 * operation is one script, run atomically by the server in one round trip (EVALSHA, EVAL on NOSCRIPT).
 *
 * Key layout (prefix `sb` by default; every key one script touches shares one hash tag, so the scripts run on Redis
 * Cluster and on Upstash):
 *
 *   {P}:{dest:ID}:res    hash    reservation id → units, encoded `calls=1,pstn=1`
 *   {P}:{dest:ID}:exp    zset    reservation id → expiry (epoch ms, server clock)
 *   {P}:{dest:ID}:load   hash    resource → units in use (fields at 0 are deleted)
 *   {P}:{dialogs}:d:ID   hash    j = dialog JSON, u = updatedAt, e = expiresAt; PEXPIRE'd with the dialog's TTL
 *   {P}:{dialogs}:index  zset    dialog id → expiresAt; pruned lazily (put, list, count)
 *   {P}:{dest:ID}:health hash    destination health (src/dialog/health.ts, script in ./health.ts)
 *   {P}:{dest:ID}:lease  string  probe lease holder, SET NX PX
 *
 * Time is always the Redis server's (`TIME`), so gateways with skewed clocks agree on expiry. A reservation is live
 * while its expiry is > now. The three keys of a destination carry a PEXPIREAT a minute past the last live
 * reservation's expiry, so a destination nobody uses any more leaves nothing behind.
 *
 * Invariants kept by every script: `res` and `exp` hold the same ids; `load` is the sum of the units in `res`;
 * counters never go below 0; a destination without reservations has no `load`. `reconcile` restores them all from
 * `res`/`exp` whatever happened to `load` (a wrapped 4294967262, a -5, an operator's HSET).
 */

import { HEALTH_SCRIPTS } from "./health.ts";

/** Helpers prepended to every capacity script (Lua has no includes; EVAL takes the whole text). */
const CAPACITY_PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function decode_units(s)
  local out = {}
  for r, u in string.gmatch(s, '([^,=]+)=(%d+)') do out[#out + 1] = { r, tonumber(u) } end
  return out
end

-- Give units back; a counter never goes below 0 and disappears at 0.
local function give(load, units)
  for _, ru in ipairs(units) do
    local left = redis.call('HINCRBY', load, ru[1], -ru[2])
    if left <= 0 then redis.call('HDEL', load, ru[1]) end
  end
end

-- Drop reservations whose expiry is <= now, giving their units back (bounded per call).
local function purge(res, exp, load, now, limit)
  local ids
  if limit then
    ids = redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, limit)
  else
    ids = redis.call('ZRANGEBYSCORE', exp, '-inf', now)
  end
  for _, id in ipairs(ids) do
    local s = redis.call('HGET', res, id)
    if s then
      give(load, decode_units(s))
      redis.call('HDEL', res, id)
    end
    redis.call('ZREM', exp, id)
  end
  return #ids
end

-- Keep the keys a minute past the last live reservation; with none left the destination has no load at all.
local function settle(res, exp, load)
  local last = redis.call('ZRANGE', exp, -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('DEL', res, exp, load)
    return
  end
  local at = tonumber(last[2]) + 60000
  redis.call('PEXPIREAT', res, at)
  redis.call('PEXPIREAT', exp, at)
  redis.call('PEXPIREAT', load, at)
end
`;

/**
 * KEYS: res, exp, load. ARGV: id, ttlMs, n, then n triples (resource, units, capacity; -1 = not limited).
 * Returns {1} when taken (or already held: then only its expiry moves), {0, resource} when a resource has no room.
 */
export const RESERVE = `${CAPACITY_PRELUDE}
local res, exp, load = KEYS[1], KEYS[2], KEYS[3]
local id, ttl, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
purge(res, exp, load, now, 1000)
if redis.call('HEXISTS', res, id) == 1 then
  redis.call('ZADD', exp, now + ttl, id)
  settle(res, exp, load)
  return { 1 }
end
local parts = {}
for i = 0, n - 1 do
  local r, u, cap = ARGV[4 + 3 * i], tonumber(ARGV[5 + 3 * i]), tonumber(ARGV[6 + 3 * i])
  local used = tonumber(redis.call('HGET', load, r) or '0') or 0
  if used < 0 then
    redis.call('HDEL', load, r)
    used = 0
  end
  if cap >= 0 and used + u > cap then
    settle(res, exp, load)
    return { 0, r }
  end
  parts[#parts + 1] = r .. '=' .. ARGV[5 + 3 * i]
end
for i = 0, n - 1 do
  redis.call('HINCRBY', load, ARGV[4 + 3 * i], ARGV[5 + 3 * i])
end
redis.call('HSET', res, id, table.concat(parts, ','))
redis.call('ZADD', exp, now + ttl, id)
settle(res, exp, load)
return { 1 }
`;

/** KEYS: res, exp, load. ARGV: id, ttlMs. Returns 1 when the live reservation now expires ttlMs from now, else 0. */
export const REFRESH = `${CAPACITY_PRELUDE}
local res, exp, load = KEYS[1], KEYS[2], KEYS[3]
local id, ttl = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
purge(res, exp, load, now, 1000)
if redis.call('HEXISTS', res, id) == 0 then
  redis.call('ZREM', exp, id)
  return 0
end
redis.call('ZADD', exp, now + ttl, id)
settle(res, exp, load)
return 1
`;

/** KEYS: res, exp, load. ARGV: id. Returns 1 when a live reservation was given back, 0 when none was held. */
export const RELEASE = `${CAPACITY_PRELUDE}
local res, exp, load = KEYS[1], KEYS[2], KEYS[3]
local id = ARGV[1]
purge(res, exp, load, now_ms(), 1000)
local s = redis.call('HGET', res, id)
redis.call('ZREM', exp, id)
if not s then
  settle(res, exp, load)
  return 0
end
redis.call('HDEL', res, id)
give(load, decode_units(s))
settle(res, exp, load)
return 1
`;

/** KEYS: res, exp, load. Drops expired reservations, returns the load hash flat (resource, units, ...). */
export const LOAD = `${CAPACITY_PRELUDE}
local res, exp, load = KEYS[1], KEYS[2], KEYS[3]
local expired = purge(res, exp, load, now_ms(), 1000)
if expired > 0 or redis.call('EXISTS', exp) == 0 then settle(res, exp, load) end
return redis.call('HGETALL', load)
`;

/**
 * KEYS: res, exp, load. Drops every expired reservation and every half-written one (in `res` without an expiry or
 * the reverse), then rewrites `load` from the live reservations. Returns {dropped, resource, units, ...}.
 */
export const RECONCILE = `${CAPACITY_PRELUDE}
local res, exp, load = KEYS[1], KEYS[2], KEYS[3]
local now = now_ms()
local dropped = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', exp, '-inf', now)) do
  if redis.call('HDEL', res, id) == 1 then dropped = dropped + 1 end
  redis.call('ZREM', exp, id)
end
for _, id in ipairs(redis.call('ZRANGE', exp, 0, -1)) do
  if redis.call('HEXISTS', res, id) == 0 then redis.call('ZREM', exp, id) end
end
local sums, order = {}, {}
local all = redis.call('HGETALL', res)
for i = 1, #all, 2 do
  if redis.call('ZSCORE', exp, all[i]) then
    for _, ru in ipairs(decode_units(all[i + 1])) do
      if not sums[ru[1]] then
        sums[ru[1]] = 0
        order[#order + 1] = ru[1]
      end
      sums[ru[1]] = sums[ru[1]] + ru[2]
    end
  else
    redis.call('HDEL', res, all[i])
    dropped = dropped + 1
  end
end
redis.call('DEL', load)
local out = { dropped }
for _, r in ipairs(order) do
  if sums[r] > 0 then
    redis.call('HSET', load, r, sums[r])
    out[#out + 1] = r
    out[#out + 1] = sums[r]
  end
end
settle(res, exp, load)
return out
`;

const DIALOG_PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** KEYS: dialog, index. ARGV: id, json, ttlMs. Writes the dialog with the server's clock; returns {updatedAt, expiresAt}. */
export const DIALOG_PUT = `${DIALOG_PRELUDE}
local key, index = KEYS[1], KEYS[2]
local id, json, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
redis.call('DEL', key)
redis.call('HSET', key, 'j', json, 'u', now, 'e', now + ttl)
redis.call('PEXPIRE', key, ttl)
redis.call('ZADD', index, now + ttl, id)
return { now, now + ttl }
`;

/** KEYS: dialog, index. ARGV: id, ttlMs. Returns 1 when the live dialog now expires ttlMs from now, else 0. */
export const DIALOG_TOUCH = `${DIALOG_PRELUDE}
local key, index = KEYS[1], KEYS[2]
local id, ttl = ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', key) == 0 then
  redis.call('ZREM', index, id)
  return 0
end
local now = now_ms()
redis.call('HSET', key, 'u', now, 'e', now + ttl)
redis.call('PEXPIRE', key, ttl)
redis.call('ZADD', index, now + ttl, id)
return 1
`;

/** KEYS: dialog, index. ARGV: id. Returns {json, updatedAt, expiresAt} of the removed dialog, or {} when none. */
export const DIALOG_REMOVE = `
local key, index = KEYS[1], KEYS[2]
local v = redis.call('HMGET', key, 'j', 'u', 'e')
redis.call('DEL', key)
redis.call('ZREM', index, ARGV[1])
if not v[1] then return {} end
return v
`;

/** KEYS: index. Prunes expired ids, returns the live ids, soonest expiry first. */
export const DIALOG_IDS = `${DIALOG_PRELUDE}
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/** KEYS: index. Prunes expired ids, returns how many dialogs live. */
export const DIALOG_COUNT = `${DIALOG_PRELUDE}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms())
return redis.call('ZCARD', KEYS[1])
`;

export const SCRIPTS = {
  reserve: RESERVE,
  refresh: REFRESH,
  release: RELEASE,
  load: LOAD,
  reconcile: RECONCILE,
  dialogPut: DIALOG_PUT,
  dialogTouch: DIALOG_TOUCH,
  dialogRemove: DIALOG_REMOVE,
  dialogIds: DIALOG_IDS,
  dialogCount: DIALOG_COUNT,
  ...HEALTH_SCRIPTS,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
