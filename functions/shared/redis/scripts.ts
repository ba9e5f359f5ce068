import { QUARANTINE_REASONS } from '../../analytics/telemetry';

/**
 * The atomic updates. Each script touches the keys of one device (or the one stats hash) only.
 *
 * Exactly once: a device hash keeps, per source topic-partition, the highest offset applied
 * (field w:<topic-partition>). A partition is read in order, so every offset at or below that
 * watermark has been applied and every offset above it has not. A delta states the offset
 * range it covers per topic-partition; the script applies it only when the whole range lies
 * above the watermark, skips it when the whole range lies at or below it, and otherwise
 * answers PARTIAL with the watermarks so that the caller recomputes the delta from the
 * records above them. Sums are kept as doubles printed with 17 significant digits, so they
 * round-trip exactly.
 */

/** Fields of a device hash, in the order the scripts return them. */
export const DEVICE_FIELDS = [
  'n',
  'tmin',
  'tmax',
  'tsum',
  'hmin',
  'hmax',
  'hsum',
  'bmin',
  'ok',
  'warn',
  'fail',
  'fts',
  'lts',
  'lo',
  'last',
] as const;

export const APPLIED = 0;
export const DUPLICATE = 1;
export const PARTIAL = 2;

/**
 * KEYS: device hash, window index, then one key per window.
 * ARGV: S, S × (topicPartition, minOffset, maxOffset), count, tmin, tmax, tsum, hmin, hmax, hsum,
 *       bmin, ok, warn, fail, firstTs, lastTs, lastOffset, lastJson, windowTtlMs, W,
 *       W × (start, count, min, max, sum).
 * Returns {APPLIED|DUPLICATE, ...DEVICE_FIELDS} or {PARTIAL, ...watermark per segment}.
 */
export const APPLY_DEVICE_LUA = `
local dev = KEYS[1]
local S = tonumber(ARGV[1])
local AGG = {${DEVICE_FIELDS.map((f) => `'${f}'`).join(',')}}
local function fmt(x) return string.format('%.17g', x) end
local wmFields = {}
local fresh, stale = 0, 0
local wms = {}
if S > 0 then
  for s = 1, S do wmFields[s] = 'w:' .. ARGV[3 * s - 1] end
  wms = redis.call('HMGET', dev, unpack(wmFields))
  for s = 1, S do
    local wm = tonumber(wms[s]) or -1
    if wm < tonumber(ARGV[3 * s]) then fresh = fresh + 1
    elseif wm >= tonumber(ARGV[3 * s + 1]) then stale = stale + 1 end
  end
end
local a = 3 * S + 2
local n = tonumber(ARGV[a])
if fresh < S and stale < S then
  local out = {${PARTIAL}}
  for s = 1, S do out[s + 1] = wms[s] or '-1' end
  return out
end
local cur = redis.call('HMGET', dev, unpack(AGG))
if S == 0 or stale == S or n == 0 then
  table.insert(cur, 1, ${DUPLICATE})
  return cur
end
local tmin, tmax, tsum = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
local hmin, hmax, hsum = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
local bmin = tonumber(ARGV[a + 7])
local ok, warn, fail = tonumber(ARGV[a + 8]), tonumber(ARGV[a + 9]), tonumber(ARGV[a + 10])
local fts, lts, lo, last = tonumber(ARGV[a + 11]), tonumber(ARGV[a + 12]), tonumber(ARGV[a + 13]), ARGV[a + 14]
if cur[1] then
  n = n + tonumber(cur[1])
  tmin = math.min(tmin, tonumber(cur[2]))
  tmax = math.max(tmax, tonumber(cur[3]))
  tsum = tsum + tonumber(cur[4])
  hmin = math.min(hmin, tonumber(cur[5]))
  hmax = math.max(hmax, tonumber(cur[6]))
  hsum = hsum + tonumber(cur[7])
  bmin = math.min(bmin, tonumber(cur[8]))
  ok = ok + tonumber(cur[9])
  warn = warn + tonumber(cur[10])
  fail = fail + tonumber(cur[11])
  fts = math.min(fts, tonumber(cur[12]))
  local clts, clo = tonumber(cur[13]), tonumber(cur[14])
  if lts < clts or (lts == clts and lo <= clo) then lts, lo, last = clts, clo, cur[15] end
end
local state = {fmt(n), fmt(tmin), fmt(tmax), fmt(tsum), fmt(hmin), fmt(hmax), fmt(hsum), fmt(bmin),
  fmt(ok), fmt(warn), fmt(fail), fmt(fts), fmt(lts), fmt(lo), last}
local hset = {}
for i = 1, #AGG do hset[2 * i - 1] = AGG[i]; hset[2 * i] = state[i] end
for s = 1, S do hset[#hset + 1] = wmFields[s]; hset[#hset + 1] = ARGV[3 * s + 1] end
redis.call('HSET', dev, unpack(hset))
local ttl = ARGV[a + 15]
local W = tonumber(ARGV[a + 16])
for i = 1, W do
  local b = a + 16 + (i - 1) * 5
  local key = KEYS[2 + i]
  local c, mn, mx, sm = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  local w = redis.call('HMGET', key, 'c', 'mn', 'mx', 's')
  if w[1] then
    c = c + tonumber(w[1])
    mn = math.min(mn, tonumber(w[2]))
    mx = math.max(mx, tonumber(w[3]))
    sm = sm + tonumber(w[4])
  end
  redis.call('HSET', key, 'c', fmt(c), 'mn', fmt(mn), 'mx', fmt(mx), 's', fmt(sm))
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', KEYS[2], ARGV[b + 1], ARGV[b + 1])
end
if W > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
table.insert(state, 1, ${APPLIED})
return state
`;

/**
 * KEYS: the stats hash.
 * ARGV: P, P × (topicPartition, minOffset, maxOffset, applied, one count per quarantine reason).
 * Same watermark rule as a device, per topic-partition. Returns, per partition,
 * 'A' (applied), 'D' (duplicate) or the watermark (partial: recompute above it).
 */
export const STATS_STRIDE = 4 + QUARANTINE_REASONS.length;
export const APPLY_STATS_LUA = `
local REASONS = {${QUARANTINE_REASONS.map((r) => `'${r}'`).join(',')}}
local P = tonumber(ARGV[1])
local out = {}
for p = 1, P do
  local b = 2 + (p - 1) * ${STATS_STRIDE}
  local wf = 'w:' .. ARGV[b]
  local raw = redis.call('HGET', KEYS[1], wf)
  local wm = tonumber(raw) or -1
  if wm < tonumber(ARGV[b + 1]) then
    if ARGV[b + 3] ~= '0' then redis.call('HINCRBY', KEYS[1], 'records', ARGV[b + 3]) end
    for r = 1, #REASONS do
      if ARGV[b + 3 + r] ~= '0' then redis.call('HINCRBY', KEYS[1], 'q:' .. REASONS[r], ARGV[b + 3 + r]) end
    end
    redis.call('HSET', KEYS[1], wf, ARGV[b + 2])
    out[p] = 'A'
  elseif wm >= tonumber(ARGV[b + 2]) then
    out[p] = 'D'
  else
    out[p] = raw
  end
end
return out
`;
