import { QUARANTINE_REASONS } from '../../domain/telemetry';

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
 *
 * One device never sinks another: every stored value a device's update needs is read and checked
 * before anything of that device is written, so a device whose state cannot be read answers
 * UNREADABLE and is left as it was, while the devices around it are applied.
 */

/**
 * The numbers of a device's state, in stored order, with how a delta merges into each. `last`
 * fields follow the reading with the greatest (lastTs, lastOffset). TypeScript writes deltas and
 * reads states in this order; the Lua below is generated from it, so the two cannot drift apart.
 */
export const STATE_NUMBERS = [
  ['count', 'sum'],
  ['temperatureMin', 'min'],
  ['temperatureMax', 'max'],
  ['temperatureSum', 'sum'],
  ['humidityMin', 'min'],
  ['humidityMax', 'max'],
  ['humiditySum', 'sum'],
  ['batteryMin', 'min'],
  ['statusOk', 'sum'],
  ['statusWarn', 'sum'],
  ['statusFail', 'sum'],
  ['firstTs', 'min'],
  ['lastTs', 'last'],
  ['lastOffset', 'last'],
] as const;
export type StateNumber = (typeof STATE_NUMBERS)[number][0];

/**
 * A device's state, the value of its device key, a binary record (see binary.ts):
 * u8 format version; the STATE_NUMBERS as doubles; the last reading (u16 length + LAST_READING);
 * u16 W, then W watermarks (u16 length + topic-partition, double offset).
 * Format 1 held the last reading as MessagePack; scripts and readers still read it, and a script
 * rewrites a format-1 state as format 2 when it next updates the device (migration on write).
 */
export const STATE_VERSION = 2;
export const STATE_VERSION_MESSAGEPACK_LAST = 1;
const STATE_FORMAT = `>B${'d'.repeat(STATE_NUMBERS.length)}Hc0H`;

/**
 * The last reading: doubles ts, temperature, humidity, battery; u8 status (STATUS_CODES);
 * u8 1 when it has a location, then doubles lat and lon (0 without one); u16 length + firmware.
 */
export const LAST_READING_FORMAT = '>ddddBBddHc0';
export const STATUS_CODES = { OK: 0, WARN: 1, FAIL: 2 } as const;

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
/** A minute of a delta: u8 minute in the bucket, doubles count, min, max, sum. */
const MINUTE_DELTA_BYTES = 1 + 4 * 8;
/** How late a bucket's key may expire after its last window has: a tenth of the TTL, at most 10 minutes. */
export function expirySlackMs(ttlMs: number): number {
  return Math.min(600_000, Math.floor(ttlMs / 10));
}

export const APPLIED = 0;
export const DUPLICATE = 1;
export const PARTIAL = 2;
export const UNREADABLE = 3;

// Lua indexes of a state (and of a delta, which has the same shape): [1] is the format byte.
const at = (name: StateNumber) => STATE_NUMBERS.findIndex(([n]) => n === name) + 2;
const LUA_INDEXES = STATE_NUMBERS.map(([name]) => `local I_${name} = ${at(name)}`).join('\n');
const I_LAST = STATE_NUMBERS.length + 2;
// A delta's numbers live in locals named after them (d_count, ...): no table per device.
const LUA_DELTA_LOCALS = STATE_NUMBERS.map(([name]) => `d_${name}`).join(', ');
const LUA_MERGE = STATE_NUMBERS.filter(([, rule]) => rule !== 'last')
  .map(([name, rule]) => {
    const [d, c] = [`d_${name}`, `c[I_${name}]`];
    return rule === 'sum' ? `      ${d} = ${d} + ${c}` : `      ${d} = ${rule}(${d}, ${c})`;
  })
  .join('\n');

/**
 * Applies the deltas of several devices, each atomically and exactly once. A call carries the
 * devices of one cluster slot (or, on a standalone Redis, any devices), so it never crosses slots.
 *
 * KEYS, per device in ARGV[1]'s order: state, one key per bucket of its delta, then window index.
 * ARGV[1]: the deltas, binary, one after the other: u16 S, S segments (u16 length +
 *   topic-partition, double min offset, double max offset); u8 0, then the STATE_NUMBERS as doubles
 *   and the last reading (u16 length + LAST_READING), shaped as a state; u16 B, B buckets (double
 *   start, u8 M, M minutes: u8 minute in the bucket, doubles count, min, max, sum).
 * ARGV[2]: window TTL in ms. ARGV[3]: the number of devices. ARGV[4]: expiry slack in ms.
 * Returns, per device, u8 code then: APPLIED or DUPLICATE, u32 length + the stored state (length 0
 * for none); PARTIAL, u16 S + the watermark (double, -1 for none) of each segment; UNREADABLE,
 * u16 length + why.
 * A refused first write (OOM under noeviction) fails the whole call before it has written anything.
 */
export const APPLY_DEVICES_LUA = `
local A, ttl, devices, slack = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local up, pk = struct.unpack, struct.pack
local min, max = math.min, math.max
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local keep = ttl + slack
local EMPTY = string.rep('\\0', ${MINUTE_BYTES})
local STATUS = {OK = ${STATUS_CODES.OK}, WARN = ${STATUS_CODES.WARN}, FAIL = ${STATUS_CODES.FAIL}}
${LUA_INDEXES}
local I_last = ${I_LAST}
local out, o = {}, 0

-- Format 1 kept the last reading as MessagePack [ts, t, h, b, status, [lat, lon] or [], firmware].
local function last_from_v1(packed)
  local r = cmsgpack.unpack(packed)
  local loc = r[6]
  local has = type(loc) == 'table' and #loc == 2
  local status = STATUS[r[5]]
  if status == nil then error('last reading has status ' .. tostring(r[5])) end
  return pk('${LAST_READING_FORMAT}', r[1], r[2], r[3], r[4], status, has and 1 or 0,
    has and loc[1] or 0, has and loc[2] or 0, #r[7], r[7])
end

-- A stored state as a table shaped like a delta, and its watermarks. Raises on anything unreadable.
local function decode_state(raw)
  local version = string.byte(raw, 1)
  if version ~= ${STATE_VERSION} and version ~= ${STATE_VERSION_MESSAGEPACK_LAST} then
    error('format ' .. tostring(version) .. ' is not one this script reads')
  end
  local c = {up('${STATE_FORMAT}', raw)}
  local wm, q = {}, c[I_last + 2]
  for _ = 1, c[I_last + 1] do
    local tp, off
    tp, off, q = up('>Hc0d', raw, q)
    wm[tp] = off
  end
  if q ~= #raw + 1 then error((#raw + 1 - q) .. ' bytes after the watermarks') end
  if version == ${STATE_VERSION_MESSAGEPACK_LAST} then c[I_last] = last_from_v1(c[I_last]) end
  return c, wm
end

-- The stored state, or nil for none; a string says why it cannot be read.
local function read_state(skey, raw)
  if not raw then
    -- MGET answers nil for a key of another type too: only then is the key looked at again.
    if redis.call('EXISTS', skey) == 1 then return nil, nil, nil, 'device state ' .. skey .. ' is not a string' end
    return false
  end
  local ok, c, wm = pcall(decode_state, raw)
  if not ok then return nil, nil, nil, 'device state ' .. skey .. ' is unreadable: ' .. tostring(c) end
  return raw, c, wm
end

-- APPLY, DUPLICATE or PARTIAL for a delta's segments against the watermarks.
local function decide(segs, wm)
  local fresh, stale, S = 0, 0, #segs
  for s = 1, S do
    local w = wm[segs[s][1]] or -1
    if w < segs[s][2] then fresh = fresh + 1 elseif w >= segs[s][3] then stale = stale + 1 end
  end
  if fresh < S and stale < S then return ${PARTIAL} end
  if S == 0 or stale == S then return ${DUPLICATE} end
  return ${APPLIED}
end

-- Every bucket of the delta (its stored values from the device's MGET), checked before anything
-- is written, into the scratch arrays BK (key), BS (start), BM (minutes), BQ (where its minutes are
-- in ARGV[1]), BW (stored value) and BI (whether the index must be told of it: a new bucket, or one
-- whose expiry is refreshed, so an index entry is renewed at least once per expiry slack).
local BK, BS, BM, BQ, BW, BI = {}, {}, {}, {}, {}, {}
local function read_buckets(first, B, q, got)
  for b = 1, B do
    local start, M
    start, M, q = up('>dB', A, q)
    local key, w = KEYS[first + b], got[b + 1]
    if not w and redis.call('EXISTS', key) == 1 then return 'window bucket ' .. key .. ' is not a string' end
    if w and #w ~= ${BUCKET_BYTES} then
      return 'window bucket ' .. key .. ' has ' .. #w .. ' bytes, not ${BUCKET_BYTES}'
    end
    BK[b], BS[b], BM[b], BQ[b], BW[b] = key, start, M, q, w
    BI[b] = not w or up('>d', w, 1) < now + ttl
    q = q + M * ${MINUTE_DELTA_BYTES}
  end
  return nil
end

-- Drops the index's oldest entry when its bucket has expired: a new bucket adds one entry, this takes
-- one away, so the index stays about as small as its buckets.
local function prune(ikey, bucket_key)
  local base = string.match(bucket_key, '^(.*:)[^:]+$')
  local oldest = redis.call('ZRANGE', ikey, 0, 0)[1]
  if oldest and redis.call('EXISTS', base .. oldest) == 0 then redis.call('ZREM', ikey, oldest) end
end

local function write_buckets(ikey, B)
  local refreshed, created = nil, false
  for b = 1, B do
    local key, M, q, w = BK[b], BM[b], BQ[b], BW[b]
    if not w then
      local expires = now + keep
      local slots = {}
      for m = 1, ${BUCKET.minutes} do slots[m] = EMPTY end
      for _ = 1, M do
        local minute, wc, wmin, wmax, wsum
        minute, wc, wmin, wmax, wsum, q = up('>Bdddd', A, q)
        slots[minute + 1] = pk('>ddddd', wc, wmin, wmax, wsum, now + ttl)
      end
      redis.call('SET', key, pk('>d', expires) .. table.concat(slots), 'PX', keep)
      created, refreshed = true, expires
    else
      for _ = 1, M do
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
  -- Once every bucket of the delta exists: a new bucket is when older ones may have expired.
  if created then prune(ikey, BK[1]) end
  -- The index outlives every bucket it lists: it expires when the latest refreshed one does.
  if refreshed then redis.call('PEXPIREAT', ikey, refreshed) end
end

local function encode_watermarks(wm)
  local parts, W = {}, 0
  for tp, off in pairs(wm) do
    W = W + 1
    parts[W] = pk('>Hc0d', #tp, tp, off)
  end
  return W, table.concat(parts)
end

local k, p = 0, 1
for _ = 1, devices do
  local skey = KEYS[k + 1]
  local S
  S, p = up('>H', A, p)
  local segs = {}
  for s = 1, S do
    local tp, lo, hi
    tp, lo, hi, p = up('>Hc0dd', A, p)
    segs[s] = {tp, lo, hi}
  end
  local _, ${LUA_DELTA_LOCALS}, d_last
  _, ${LUA_DELTA_LOCALS}, d_last, p = up('>B${'d'.repeat(STATE_NUMBERS.length)}Hc0', A, p)
  local B
  B, p = up('>H', A, p)
  local bpos = p
  for _ = 1, B do
    local M
    _, M, p = up('>dB', A, p)
    p = p + M * ${MINUTE_DELTA_BYTES}
  end
  if p > #A + 1 then return redis.error_reply('the deltas are truncated') end
  local first, ikey = k + 1, KEYS[k + B + 2]
  k = k + B + 2

  -- One read for the state and every bucket of the device.
  local got = redis.call('MGET', unpack(KEYS, first, first + B))
  local raw, c, wm, why = read_state(skey, got[1])
  local code = why and ${UNREADABLE} or decide(segs, wm or {})
  if code == ${APPLIED} and d_count == 0 then code = ${DUPLICATE} end
  if code == ${APPLIED} then
    why = read_buckets(first, B, bpos, got)
    if why then code = ${UNREADABLE} end
  end
  if code == ${APPLIED} then
    -- Indexing first: the one write that can meet a key of the wrong type, before any other write.
    for b = 1, B do
      local added = BI[b] and redis.pcall('ZADD', ikey, BS[b], BS[b]) or 0
      if type(added) == 'table' then
        if string.find(tostring(added.err), '^OOM') then return redis.error_reply(added.err) end
        code, why = ${UNREADABLE}, 'window index ' .. ikey .. ': ' .. tostring(added.err)
        break
      end
    end
  end
  if code == ${UNREADABLE} then
    why = string.sub(why, 1, 1000)
    o = o + 1
    out[o] = pk('>BHc0', ${UNREADABLE}, #why, why)
  elseif code == ${PARTIAL} then
    o = o + 1
    out[o] = pk('>BH', ${PARTIAL}, S)
    for s = 1, S do
      o = o + 1
      out[o] = pk('>d', wm[segs[s][1]] or -1)
    end
  elseif code == ${DUPLICATE} then
    o = o + 1
    out[o] = pk('>BI4', ${DUPLICATE}, raw and #raw or 0)
    if raw then
      o = o + 1
      out[o] = raw
    end
  else
    if c then
${LUA_MERGE}
      if d_lastTs < c[I_lastTs] or (d_lastTs == c[I_lastTs] and d_lastOffset <= c[I_lastOffset]) then
        d_lastTs, d_lastOffset, d_last = c[I_lastTs], c[I_lastOffset], c[I_last]
      end
    end
    wm = wm or {}
    for s = 1, S do wm[segs[s][1]] = segs[s][3] end
    local W, marks = encode_watermarks(wm)
    local packed = pk('${STATE_FORMAT}', ${STATE_VERSION}, ${LUA_DELTA_LOCALS}, #d_last, d_last, W) .. marks
    redis.call('SET', skey, packed)
    write_buckets(ikey, B)
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
