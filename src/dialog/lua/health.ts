/**
 * The health transition as one Lua script, for the Redis and Upstash adapters: read the record, apply one verdict,
 * write it back, in one atomic round trip. It mirrors `applyVerdict` in src/health/state.ts step for step (the
 * classification of raw evidence into a verdict stays in TypeScript and is passed in); the health contract
 * (src/dialog/health.case.ts) runs random evidence sequences through both and requires identical records and
 * transitions. Floating point is kept in step by doing the same operations in the same order (Lua numbers and JS
 * numbers are both IEEE doubles) and rounding with floor(x * 10 + 0.5) / 10 on both sides.
 *
 * KEYS: health hash ({P}:{dest:ID}:health).
 * ARGV: now ('' = server TIME), failuresToProbing, failuresToInactive, successesToActive, latencyAlpha, recordTtlMs,
 *       outcome (success|failure|pause), cause, probe (1|0), probe result, probe elapsedMs, probe status ('' = none),
 *       probe latencyMs ('' = none), pauseMs.
 * Returns { from, to ('' = unchanged), reason, pausedUntil ('' = no new pause), then the record's fields in
 * HEALTH_FIELD_ORDER (nil = absent) }.
 */
import { HEALTH_FIELD_ORDER, HEALTH_FIELDS } from "../health.ts";

const READ_FIELDS = HEALTH_FIELD_ORDER.map((f) => `'${HEALTH_FIELDS[f]}'`).join(", ");

export const HEALTH_RECORD = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local to_probing, to_inactive, to_active = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local alpha, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local outcome, cause = ARGV[7], ARGV[8]

local v = redis.call('HMGET', key, 's', 'f', 'k', 'al', 'pu')
local state = v[1]
if state ~= 'active' and state ~= 'probing' and state ~= 'inactive' then state = 'active' end
local failures = tonumber(v[2]) or 0
local successes = tonumber(v[3]) or 0
local avg = tonumber(v[4])
local paused_until = tonumber(v[5])

local set = { 'u', now }
local function put(field, value)
  set[#set + 1] = field
  set[#set + 1] = value
end

if ARGV[9] == '1' then
  put('pa', now - tonumber(ARGV[11]))
  put('pr', ARGV[10])
  if ARGV[12] == '' then redis.call('HDEL', key, 'ps') else put('ps', ARGV[12]) end
  if ARGV[13] ~= '' then
    local lat = tonumber(ARGV[13])
    put('pl', ARGV[13])
    if avg == nil then
      avg = lat
    else
      avg = math.floor((alpha * lat + (1 - alpha) * avg) * 10 + 0.5) / 10
    end
    put('al', avg)
  end
end

local to, reason, paused = '', '', ''
if outcome == 'success' then
  successes = successes + 1
  failures = 0
  put('ls', now)
  if state ~= 'active' and successes >= to_active then to = 'active' end
  reason = cause .. ' (' .. successes .. ' consecutive)'
elseif outcome == 'failure' then
  failures = failures + 1
  successes = 0
  put('lf', now)
  if state ~= 'inactive' and failures >= to_inactive then
    to = 'inactive'
  elseif state == 'active' and failures >= to_probing then
    to = 'probing'
  end
  reason = cause .. ' (' .. failures .. ' consecutive)'
else
  local till = now + tonumber(ARGV[14])
  if paused_until == nil or till > paused_until then
    put('pu', till)
    paused = till
  end
end
put('f', failures)
put('k', successes)
if to ~= '' then
  put('s', to)
  put('c', now)
else
  put('s', state)
end
redis.call('HSET', key, unpack(set))
redis.call('PEXPIRE', key, ttl)

local out = { state, to, reason, paused }
local fields = redis.call('HMGET', key, ${READ_FIELDS})
for i = 1, #fields do out[#out + 1] = fields[i] end
return out
`;

export const HEALTH_SCRIPTS = {
  healthRecord: HEALTH_RECORD,
} as const;
