import { QUARANTINE_REASONS } from '../../analytics/telemetry';

/**
 * The atomic updates. Each script touches the keys of one device (or the one stats hash) only.
 *
 * Exactly once: a device's state keeps, per source topic-partition, the highest offset applied
 * (its watermarks). A partition is read in order, so every offset at or below that
 * watermark has been applied and every offset above it has not. A delta states the offset
 * range it covers per topic-partition; the script applies it only when the whole range lies
 * above the watermark, skips it when the whole range lies at or below it, and otherwise
 * answers PARTIAL with the watermarks so that the caller recomputes the delta from the
 * records above them. State travels and rests as MessagePack, whose float64 keeps sums exact.
 */

/**
 * Layout of a device's state, a MessagePack array stored as the device key's value:
 * count, temperature min/max/sum, humidity min/max/sum, battery min, OK/WARN/FAIL counts,
 * first ts, last ts, last offset, last reading ([ts, temperature, humidity, battery, status,
 * [lat, lon] or [], firmware]), watermarks ({topic-partition: offset}).
 */
export const STATE = {
  count: 0,
  tMin: 1,
  tMax: 2,
  tSum: 3,
  hMin: 4,
  hMax: 5,
  hSum: 6,
  bMin: 7,
  ok: 8,
  warn: 9,
  fail: 10,
  firstTs: 11,
  lastTs: 12,
  lastOffset: 13,
  last: 14,
  watermarks: 15,
} as const;

/** A minute window, a MessagePack array: count, temperature min, max, sum. */
export const WINDOW = { count: 0, min: 1, max: 2, sum: 3 } as const;

export const APPLIED = 0;
export const DUPLICATE = 1;
export const PARTIAL = 2;

/**
 * KEYS: device state, window index, then one key per window of the delta.
 * ARGV[1]: the delta as MessagePack: [segments [[topicPartition, minOffset, maxOffset]...],
 *   count, tmin, tmax, tsum, hmin, hmax, hsum, bmin, ok, warn, fail, firstTs, lastTs, lastOffset,
 *   last reading, windows [[start, count, min, max, sum]...]]; ARGV[2]: window TTL in ms.
 * Returns {APPLIED|DUPLICATE, state} or {PARTIAL, watermark per segment}.
 * MessagePack keeps doubles exact and spares the script all number parsing and formatting,
 * which dominated its cost when the state was a hash of decimal strings.
 */
export const APPLY_DEVICE_LUA = `
local d = cmsgpack.unpack(ARGV[1])
local raw = redis.call('GET', KEYS[1])
local cur = raw and cmsgpack.unpack(raw)
local wm = cur and cur[16] or {}
local segs = d[1]
local S = #segs
local fresh, stale = 0, 0
for s = 1, S do
  local seg = segs[s]
  local w = wm[seg[1]] or -1
  if w < seg[2] then fresh = fresh + 1 elseif w >= seg[3] then stale = stale + 1 end
end
if fresh < S and stale < S then
  local out = {${PARTIAL}}
  for s = 1, S do out[s + 1] = wm[segs[s][1]] or -1 end
  return out
end
if S == 0 or stale == S or d[2] == 0 then
  return {${DUPLICATE}, raw or false}
end
local n, tmin, tmax, tsum, hmin, hmax, hsum, bmin = d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9]
local ok, warn, fail, fts, lts, lo, last = d[10], d[11], d[12], d[13], d[14], d[15], d[16]
if cur then
  n = n + cur[1]
  tmin = math.min(tmin, cur[2])
  tmax = math.max(tmax, cur[3])
  tsum = tsum + cur[4]
  hmin = math.min(hmin, cur[5])
  hmax = math.max(hmax, cur[6])
  hsum = hsum + cur[7]
  bmin = math.min(bmin, cur[8])
  ok = ok + cur[9]
  warn = warn + cur[10]
  fail = fail + cur[11]
  fts = math.min(fts, cur[12])
  if lts < cur[13] or (lts == cur[13] and lo <= cur[14]) then lts, lo, last = cur[13], cur[14], cur[15] end
end
for s = 1, S do wm[segs[s][1]] = segs[s][3] end
local packed = cmsgpack.pack({n, tmin, tmax, tsum, hmin, hmax, hsum, bmin, ok, warn, fail, fts, lts, lo, last, wm})
redis.call('SET', KEYS[1], packed)
local ws = d[17]
for i = 1, #ws do
  local w = ws[i]
  local key = KEYS[2 + i]
  local c, mn, mx, sm = w[2], w[3], w[4], w[5]
  local old = redis.call('GET', key)
  if old then
    local o = cmsgpack.unpack(old)
    c = c + o[1]
    mn = math.min(mn, o[2])
    mx = math.max(mx, o[3])
    sm = sm + o[4]
  else
    -- A window that exists is indexed already; the index outlives its windows (same TTL, refreshed below).
    redis.call('ZADD', KEYS[2], w[1], w[1])
  end
  redis.call('SET', key, cmsgpack.pack({c, mn, mx, sm}), 'PX', ARGV[2])
end
if #ws > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return {${APPLIED}, packed}
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
