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
 * records above them. Numbers travel and rest as IEEE 754 doubles, which keep sums exact.
 */

/**
 * A device's state, the value of its device key, a binary record (see binary.ts):
 * u8 format version (STATE_VERSION); 14 doubles: count, temperature min/max/sum, humidity
 * min/max/sum, battery min, OK/WARN/FAIL counts, first ts, last ts, last offset; the last reading
 * (u16 length + MessagePack [ts, temperature, humidity, battery, status, [lat, lon] or [], firmware],
 * opaque to Lua); u16 W, then W watermarks (u16 length + topic-partition, double offset).
 */
export const STATE_VERSION = 1;
export const STATE_NUMBERS = 14;
const STATE_FORMAT = `>B${'d'.repeat(STATE_NUMBERS)}Hc0H`;

/**
 * Minute windows rest in buckets of ten: one key per device and ten minutes holding a header
 * (double: when the key expires, epoch ms) and 10 minutes × 5 doubles (count, temperature min,
 * max, sum, and when the minute expires: its last update in Redis time plus the TTL, epoch ms), all
 * zero for a minute without readings.
 * A batch touches one or two buckets of a device rather than one key per minute, and rewrites
 * only the minutes it touches (SETRANGE).
 *
 * Expiry is exact per window: a reader drops a minute past its expiry. The key
 * itself expires at most EXPIRY_SLACK later, so that its expiry (and the index's) is refreshed
 * once per slack rather than on every update.
 */
export const BUCKET = { minutes: 10, stride: 5, count: 0, min: 1, max: 2, sum: 3, expiresAt: 4 } as const;
export const BUCKET_MS = BUCKET.minutes * 60_000;
export const BUCKET_HEADER_BYTES = 8;
export const MINUTE_BYTES = BUCKET.stride * 8;
export const BUCKET_BYTES = BUCKET_HEADER_BYTES + BUCKET.minutes * MINUTE_BYTES;
/** How late a bucket's key may expire after its last window has: a tenth of the TTL, at most 10 minutes. */
export function expirySlackMs(ttlMs: number): number {
  return Math.min(600_000, Math.floor(ttlMs / 10));
}

export const APPLIED = 0;
export const DUPLICATE = 1;
export const PARTIAL = 2;

/**
 * Applies the deltas of several devices, each atomically and exactly once. A call carries the
 * devices of one cluster slot (or, on a standalone Redis, any devices), so it never crosses slots.
 *
 * KEYS, per device in ARGV[1]'s order: state, window index, then one key per bucket of its delta.
 * ARGV[1]: the deltas, binary, one after the other: u16 S, S segments (u16 length +
 *   topic-partition, double min offset, double max offset); 14 doubles as in the state (count ...
 *   last offset); the last reading (u16 length + bytes); u16 B, B buckets (double start, u8 M,
 *   M minutes: u8 minute in the bucket, doubles count, min, max, sum).
 * ARGV[2]: window TTL in ms. ARGV[3]: the number of devices. ARGV[4]: expiry slack in ms.
 * Returns, per device, u8 code then: APPLIED or DUPLICATE, u32 length + the stored state (length 0
 * for none); PARTIAL, u16 S + the watermark (double, -1 for none) of each segment.
 */
export const APPLY_DEVICES_LUA = `
local A, ttl, devices, slack = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local up, pk = struct.unpack, struct.pack
local min, max = math.min, math.max
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local keep = ttl + slack
local EMPTY = string.rep('\\0', ${MINUTE_BYTES})
local out, o = {}, 0
local k, p = 0, 1
for i = 1, devices do
  local skey, ikey = KEYS[k + 1], KEYS[k + 2]
  local S
  S, p = up('>H', A, p)
  local segs = {}
  for s = 1, S do
    local tp, lo, hi
    tp, lo, hi, p = up('>Hc0dd', A, p)
    segs[s] = {tp, lo, hi}
  end
  local n, tmin, tmax, tsum, hmin, hmax, hsum, bmin, ok, warn, fail, fts, lts, lo, last
  n, tmin, tmax, tsum, hmin, hmax, hsum, bmin, ok, warn, fail, fts, lts, lo, last, p = up('>${'d'.repeat(14)}Hc0', A, p)
  local B
  B, p = up('>H', A, p)
  local bpos = p
  for b = 1, B do
    local _, M
    _, M, p = up('>dB', A, p)
    p = p + M * ${1 + 4 * 8}
  end
  local base = k + 2
  k = base + B

  local raw = redis.call('GET', skey)
  local wm = {}
  local c = nil
  if raw then
    if string.byte(raw, 1) ~= ${STATE_VERSION} then
      return redis.error_reply('device state ' .. skey .. ' is not in format ${STATE_VERSION}')
    end
    c = {up('${STATE_FORMAT}', raw)}
    local q = c[${STATE_NUMBERS + 4}]
    for w = 1, c[${STATE_NUMBERS + 3}] do
      local tp, off
      tp, off, q = up('>Hc0d', raw, q)
      wm[tp] = off
    end
  end
  local fresh, stale = 0, 0
  for s = 1, S do
    local seg = segs[s]
    local w = wm[seg[1]] or -1
    if w < seg[2] then fresh = fresh + 1 elseif w >= seg[3] then stale = stale + 1 end
  end
  if fresh < S and stale < S then
    o = o + 1
    out[o] = pk('>BH', ${PARTIAL}, S)
    for s = 1, S do
      o = o + 1
      out[o] = pk('>d', wm[segs[s][1]] or -1)
    end
  elseif S == 0 or stale == S or n == 0 then
    o = o + 1
    out[o] = pk('>BI4', ${DUPLICATE}, raw and #raw or 0)
    if raw then
      o = o + 1
      out[o] = raw
    end
  else
    if c then
      n = n + c[2]
      tmin = min(tmin, c[3])
      tmax = max(tmax, c[4])
      tsum = tsum + c[5]
      hmin = min(hmin, c[6])
      hmax = max(hmax, c[7])
      hsum = hsum + c[8]
      bmin = min(bmin, c[9])
      ok = ok + c[10]
      warn = warn + c[11]
      fail = fail + c[12]
      fts = min(fts, c[13])
      if lts < c[14] or (lts == c[14] and lo <= c[15]) then lts, lo, last = c[14], c[15], c[16] end
    end
    for s = 1, S do wm[segs[s][1]] = segs[s][3] end
    local parts, W = {}, 0
    for tp, off in pairs(wm) do
      W = W + 1
      parts[W + 1] = pk('>Hc0d', #tp, tp, off)
    end
    parts[1] = pk('${STATE_FORMAT}', ${STATE_VERSION}, n, tmin, tmax, tsum, hmin, hmax, hsum, bmin, ok, warn, fail, fts, lts, lo, #last, last, W)
    local packed = table.concat(parts)
    redis.call('SET', skey, packed)

    local q = bpos
    local refreshed = nil
    for b = 1, B do
      local start, M
      start, M, q = up('>dB', A, q)
      local key = KEYS[base + b]
      local w = redis.call('GET', key)
      if not w then
        local expires = now + keep
        local slots = {}
        for m = 1, ${BUCKET.minutes} do slots[m] = EMPTY end
        for m = 1, M do
          local minute, wc, wmin, wmax, wsum
          minute, wc, wmin, wmax, wsum, q = up('>Bdddd', A, q)
          slots[minute + 1] = pk('>ddddd', wc, wmin, wmax, wsum, now + ttl)
        end
        redis.call('SET', key, pk('>d', expires) .. table.concat(slots), 'PX', keep)
        redis.call('ZADD', ikey, start, start)
        refreshed = expires
      elseif #w ~= ${BUCKET_BYTES} then
        return redis.error_reply('window bucket ' .. key .. ' has ' .. #w .. ' bytes, not ${BUCKET_BYTES}')
      else
        for m = 1, M do
          local minute, wc, wmin, wmax, wsum
          minute, wc, wmin, wmax, wsum, q = up('>Bdddd', A, q)
          local at = ${BUCKET_HEADER_BYTES} + minute * ${MINUTE_BYTES}
          local oc, omin, omax, osum, oexpires = up('>ddddd', w, at + 1)
          -- A minute past its expiry is gone for readers; new readings start it afresh.
          if oc > 0 and oexpires > now then
            wc, wmin, wmax, wsum = wc + oc, min(wmin, omin), max(wmax, omax), wsum + osum
          end
          redis.call('SETRANGE', key, at, pk('>ddddd', wc, wmin, wmax, wsum, now + ttl))
        end
        -- The key must outlive the window just updated: refresh it once it would not.
        if up('>d', w, 1) < now + ttl then
          local expires = now + keep
          redis.call('SETRANGE', key, 0, pk('>d', expires))
          redis.call('PEXPIREAT', key, expires)
          refreshed = expires
        end
      end
    end
    -- The index outlives every bucket it lists: it expires when the latest refreshed one does.
    if refreshed then redis.call('PEXPIREAT', ikey, refreshed) end
    o = o + 1
    out[o] = pk('>BI4', ${APPLIED}, #packed)
    o = o + 1
    out[o] = packed
  end
end
return table.concat(out)
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
