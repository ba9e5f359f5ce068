import { QUARANTINE_REASONS } from '../../analytics/telemetry';

/**
 * The atomic updates. A script touches the keys of one cluster slot only: devices whose keys share
 * it (every key of a device carries its id as a hash tag), or the one stats hash.
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

/**
 * Minute windows rest in buckets of ten: one key per device and ten minutes, a MessagePack array of
 * 10 × (count, temperature min, max, sum), count 0 for a minute without readings. A batch touches
 * one or two buckets of a device rather than one key per minute, which halves the commands a
 * device update runs. A bucket expires its TTL after its last update.
 */
export const BUCKET = { minutes: 10, stride: 4, count: 0, min: 1, max: 2, sum: 3 } as const;
export const BUCKET_MS = BUCKET.minutes * 60_000;
const EMPTY_BUCKET = `{${new Array(BUCKET.minutes * BUCKET.stride).fill(0).join(',')}}`;

export const APPLIED = 0;
export const DUPLICATE = 1;
export const PARTIAL = 2;

/**
 * Applies the deltas of several devices, each atomically and exactly once. A call carries the
 * devices of one cluster slot (or, on a standalone Redis, any devices), so it never crosses slots.
 *
 * KEYS, per device in ARGV[1]'s order: state, window index, then one key per bucket of its delta.
 * ARGV[1]: the deltas as one MessagePack array; each is [segments [[topicPartition, minOffset,
 *   maxOffset]...], count, tmin, tmax, tsum, hmin, hmax, hsum, bmin, ok, warn, fail, firstTs,
 *   lastTs, lastOffset, last reading, buckets [[start, minute, count, min, max, sum, minute, ...]...]]
 *   (minute = 0..9 within the bucket); ARGV[2]: window TTL in ms.
 * Returns one MessagePack string holding, per device, a code and then: APPLIED or DUPLICATE, the
 * packed state (nil for none); PARTIAL, the watermark of each segment. The stored state bytes go
 * back as they are, concatenated: no re-pack in Lua and one reply element per call, not per device.
 */
export const APPLY_DEVICES_LUA = `
local ds = cmsgpack.unpack(ARGV[1])
local ttl = ARGV[2]
local parts = {}
local k = 0
for i = 1, #ds do
  local d = ds[i]
  local skey, ikey = KEYS[k + 1], KEYS[k + 2]
  local bs = d[17]
  local base = k + 2
  k = base + #bs
  local raw = redis.call('GET', skey)
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
    local marks = {}
    for s = 1, S do marks[s] = wm[segs[s][1]] or -1 end
    parts[i] = '\\${PARTIAL}' .. cmsgpack.pack(marks)
  elseif S == 0 or stale == S or d[2] == 0 then
    parts[i] = '\\${DUPLICATE}' .. (raw or '\\192')
  else
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
    redis.call('SET', skey, packed)
    for j = 1, #bs do
      local b = bs[j]
      local key = KEYS[base + j]
      local old = redis.call('GET', key)
      local w
      if old then
        w = cmsgpack.unpack(old)
      else
        w = ${EMPTY_BUCKET}
        -- A bucket that exists is indexed already; the index outlives its buckets (same TTL, refreshed below).
        redis.call('ZADD', ikey, b[1], b[1])
      end
      for m = 2, #b, 5 do
        local o = b[m] * ${BUCKET.stride}
        local c = w[o + 1]
        if c == 0 then
          w[o + 1], w[o + 2], w[o + 3], w[o + 4] = b[m + 1], b[m + 2], b[m + 3], b[m + 4]
        else
          w[o + 1] = c + b[m + 1]
          w[o + 2] = math.min(w[o + 2], b[m + 2])
          w[o + 3] = math.max(w[o + 3], b[m + 3])
          w[o + 4] = w[o + 4] + b[m + 4]
        end
      end
      redis.call('SET', key, cmsgpack.pack(w), 'PX', ttl)
    end
    if #bs > 0 then redis.call('PEXPIRE', ikey, ttl) end
    parts[i] = '\\${APPLIED}' .. packed
  end
end
local n = 2 * #ds
local head
if n < 16 then
  head = string.char(144 + n)
elseif n < 65536 then
  head = string.char(220, math.floor(n / 256), n % 256)
else
  head = string.char(221, math.floor(n / 16777216), math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end
return head .. table.concat(parts)
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
