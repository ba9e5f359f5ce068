import { WINDOW_BUCKETS_LUA } from './device-script-buckets';
import { MERGED_HEAD_LUA } from './device-script-merged';
import { STORED_STATE_LUA } from './device-script-state';
import { LUA_LAYOUT, STATE_NUMBERS } from './layout';

/**
 * The device script: applies the deltas of several devices, each atomically and exactly once, in
 * the layout of layout.ts. A call carries the devices of one cluster slot (or, on a standalone
 * Redis, any devices), so it never crosses slots.
 *
 * Exactly once: a device's state keeps, per source topic-partition, the highest offset applied
 * (its watermarks). A partition is read in order, so every offset at or below a watermark has
 * been applied and every offset above it has not. A delta states the offset range it covers per
 * topic-partition; the script applies it when the whole range lies above the watermark, skips it
 * when the whole range lies at or below it, and otherwise answers PARTIAL with the watermarks,
 * so that the caller recomputes the delta from the records above them.
 *
 * One device never sinks another: every stored value a device's update needs is read and checked
 * before anything of that device is written, so a device whose values cannot be read answers
 * UNREADABLE and is left as it was, while the devices around it are applied.
 *
 * Windows: a delta's newest bucket merges into the current bucket in the device key when it is
 * that bucket, or replaces it when it is newer (the old current bucket is then archived under its
 * own key, if it still has a live minute). Any other bucket of the delta is archived. A script may
 * only touch keys its call declares, and which archived buckets a delta needs depends on the
 * stored current bucket: when the call did not declare one, the device answers NEEDS_KEYS with
 * the starts to declare, untouched, and the caller sends it again.
 *
 * A device the caller has merged itself (it knew the stored head: known-heads.ts) comes as its old
 * and new head: the script writes the new head when the stored one is the old, splicing the delta's
 * minutes into the stored current bucket on its own clock, and answers STALE otherwise, so that the
 * caller sends the delta. The merged state's correctness rests on that comparison of the whole head.
 *
 * ARGV[1]: the devices (DEVICE_MODE, DELTA and MERGED_HEAD in layout.ts). ARGV[2]: window TTL in
 * ms. ARGV[3]: the number of devices. ARGV[4]: the archived buckets' expiry slack in ms.
 * Returns the answers (ANSWER in layout.ts), one after another.
 * A refused first write (OOM under noeviction) fails the whole call before it has written anything.
 */
const DELTA_NUMBERS = STATE_NUMBERS.map(([name]) => `d_${name}`).join(', ');
// The stored state's numbers live in locals too (c_count, ...): no table per stored state.
const STORED_NUMBERS = STATE_NUMBERS.map(([name]) => `c_${name}`).join(', ');
const MERGE_NUMBERS = STATE_NUMBERS.filter(([, rule]) => rule !== 'last')
  .map(([name, rule]) =>
    rule === 'sum' ? `  d_${name} = d_${name} + c_${name}` : `  d_${name} = ${rule}(d_${name}, c_${name})`,
  )
  .join('\n');
const DELTA_HEAD_FORMAT = `>B${'d'.repeat(STATE_NUMBERS.length)}Hc0`;

export const APPLY_DEVICES_LUA = `
local A, ttl, devices, slack = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local up, pk, sub = struct.unpack, struct.pack, string.sub
local min, max = math.min, math.max
${LUA_LAYOUT}
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local keep = ttl + slack
local STATE_WITH_MARKS = STATE_HEAD .. 'c0'
local EMPTY_MINUTES = string.rep('\\0', MINUTES_BYTES)
local out, o = {}, 0
local MERGED_ANSWER, STALE_ANSWER = string.char(MERGED), string.char(STALE)
local function answer(bytes)
  o = o + 1
  out[o] = bytes
end

${STORED_STATE_LUA}
-- A delta's segments and buckets, read into these arrays (reused from device to device: no table
-- per device on the common path).
local seg_tp, seg_low, seg_high = {}, {}, {}
local starts, at, counts = {}, {}, {}
local NONE = {}

-- APPLIED, DUPLICATE or PARTIAL for a delta's S segments against the watermarks.
local function decide(S, wm)
  local fresh, stale = 0, 0
  for s = 1, S do
    local w = wm[seg_tp[s]] or -1
    if w < seg_low[s] then fresh = fresh + 1 elseif w >= seg_high[s] then stale = stale + 1 end
  end
  if fresh < S and stale < S then return PARTIAL end
  if S == 0 or stale == S then return DUPLICATE end
  return APPLIED
end

${WINDOW_BUCKETS_LUA}

-- The values of KEYS[first..last], one MGET per thousand keys: Lua's unpack takes only so many
-- values at once, and a backfilled delta may span thousands of buckets.
local function mget(first, last)
  local got = {}
  for from = first, last, 1000 do
    local more = redis.call('MGET', unpack(KEYS, from, math.min(last, from + 999)))
    for i = 1, #more do got[#got + 1] = more[i] end
  end
  return got
end

-- Every device key of the call, read at once: a command costs a script more than the keys it
-- reads. Their new values are written at once too, at the end (sets: key, value, key, value...).
local stored = mget(1, devices)
local sets = {}
-- Writes the values set so far, a thousand keys and values per MSET (as mget, for unpack's sake);
-- false and the error if Redis refused them.
local function write_sets()
  for from = 1, #sets, 1000 do
    local ok, refused = pcall(redis.call, 'MSET', unpack(sets, from, math.min(#sets, from + 999)))
    if not ok then return false, refused end
  end
  return true
end
-- A failure of the whole call, as Redis reports it.
local function call_error(e)
  return redis.error_reply(type(e) == 'table' and tostring(e.err) or tostring(e))
end

-- Device d: the delta at position p of ARGV[1], its value stored[d], its key KEYS[d] and its other
-- keys from KEYS[k + 1]. Answers, and returns where the next delta and the next device's other keys
-- start, and why the device is unreadable if it is.
local function apply_device(d, p, k)
  if string.byte(A, p) ~= DELTA_MODE then error('device ' .. d .. ' has mode ' .. tostring(string.byte(A, p))) end
  local S
  S, p = up('>H', A, p + 1)
  for s = 1, S do
    seg_tp[s], seg_low[s], seg_high[s], p = up('>Hc0dd', A, p)
  end
  local _, ${DELTA_NUMBERS}, d_last
  _, ${DELTA_NUMBERS}, d_last, p = up('${DELTA_HEAD_FORMAT}', A, p)
  local N
  N, p = up('>H', A, p)
  for n = 1, N do
    starts[n], counts[n], p = up('>dB', A, p)
    at[n] = p
    p = p + counts[n] * MINUTE_DELTA_BYTES
  end
  local K
  K, p = up('>H', A, p)
  local key_of = NONE
  if K > 0 then
    key_of = {}
    for j = 1, K do
      local start
      start, p = up('>d', A, p)
      key_of[start] = k + 1 + j
    end
  end
  if p > #A + 1 then error('the deltas are truncated') end
  local device_key, index = KEYS[d], KEYS[k + 1]
  local next_k = k + (K > 0 and K + 1 or 0)

  -- One read for every archived bucket declared (got[j] for the j-th).
  local got = K > 0 and mget(k + 2, k + 1 + K) or NONE
  local raw = stored[d]
  local has_state, c_version, ${STORED_NUMBERS}, c_last = false
  local wm, state_bytes, current_start, current_at = NONE, 0, nil, nil
  if raw then
    local version, why = string.byte(raw, 1), nil
    if version ~= STATE_VERSION and version ~= ARCHIVED_ONLY and version ~= MESSAGEPACK_LAST then
      why = 'format ' .. tostring(version) .. ' is not one this script reads'
    else
      local ok, W, q
      ok, c_version, ${STORED_NUMBERS}, c_last, W, q = pcall(up, STATE_HEAD, raw)
      if not ok then
        why = tostring(c_version)
      else
        ok, wm, state_bytes, current_start, current_at = pcall(decode_tail, raw, version, W, q)
        if not ok then
          why = tostring(wm)
        elseif version == MESSAGEPACK_LAST then
          ok, c_last = pcall(last_from_v1, c_last)
          if not ok then why = tostring(c_last) end
        end
      end
    end
    if why then return p, next_k, 'device state ' .. device_key .. ' is unreadable: ' .. why end
    has_state = true
  elseif redis.call('EXISTS', device_key) == 1 then
    -- MGET answers nil for a key of another type too: only then is the key looked at again.
    return p, next_k, 'device state ' .. device_key .. ' is not a string'
  end

  local code = decide(S, wm)
  if code == APPLIED and d_count == 0 then code = DUPLICATE end
  if code == PARTIAL then
    answer(pk('>BH', PARTIAL, S))
    for s = 1, S do answer(pk('>d', wm[seg_tp[s]] or -1)) end
    return p, next_k
  elseif code == DUPLICATE then
    answer(pk('>BI4', DUPLICATE, state_bytes))
    if raw then answer(sub(raw, 1, state_bytes)) end
    answer(pk('>d', current_start or -1))
    return p, next_k
  end

  if N == 0 then error('a delta of ' .. d_count .. ' readings has no windows') end
  -- Where each bucket goes: the newest into the current bucket unless that one is newer still.
  local newest = starts[N]
  local embed = current_start == nil or newest >= current_start
  local rotate = embed and current_start ~= nil and newest > current_start and has_live_minute(raw, current_at)
  -- A state without a current bucket (format 2) may have the newest bucket archived: it moves in.
  local absorb = embed and has_state and current_start == nil
  local plan, absorbed = NONE, false
  if N > 1 or not embed or rotate or absorb then
    local missing, why
    local current = rotate and sub(raw, current_at, current_at + MINUTES_BYTES - 1)
    plan, absorbed, missing, why = plan_archived(N, embed, rotate, absorb, newest, current_start, current, key_of, got, k)
    if why then return p, next_k, why end
    if missing then
      answer(pk('>BH', NEEDS_KEYS, #missing))
      for _, start in ipairs(missing) do answer(pk('>d', start)) end
      return p, next_k
    end
  end
  -- The device's new minutes, as three pieces the value is concatenated from (merged_bucket).
  local before, merged, after = '', '', ''
  if embed then
    local from, from_at = EMPTY_MINUTES, 1
    if current_start == newest then from, from_at = raw, current_at end
    if absorbed then
      from, from_at = merge_minutes(sub(from, from_at, from_at + MINUTES_BYTES - 1), sub(absorbed, ARCHIVED_HEADER + 1)), 1
    end
    current_start = newest
    before, merged, after = merged_bucket(from, from_at, at[N], counts[N])
  else
    before = sub(raw, current_at, current_at + MINUTES_BYTES - 1)
  end

  -- The index first: the one write that can meet a key of the wrong type, before any other write.
  local touches_index = absorbed
  for _, a in ipairs(plan) do touches_index = touches_index or a.index end
  if touches_index then
    local answered = absorbed and redis.pcall('ZREM', index, newest) or 0
    for _, a in ipairs(plan) do
      if type(answered) == 'table' then break end
      if a.index then answered = redis.pcall('ZADD', index, a.start, a.start) end
    end
    if type(answered) == 'table' then
      if string.find(tostring(answered.err), '^OOM') then error(answered) end
      return p, next_k, 'window index ' .. index .. ': ' .. tostring(answered.err)
    end
  end

  if has_state then
${MERGE_NUMBERS}
    if d_lastTs < c_lastTs or (d_lastTs == c_lastTs and d_lastOffset <= c_lastOffset) then
      d_lastTs, d_lastOffset, d_last = c_lastTs, c_lastOffset, c_last
    end
  end
  if wm == NONE then wm = {} end
  for s = 1, S do wm[seg_tp[s]] = seg_high[s] end
  local W, marks = encode_watermarks(wm)
  local state = pk(STATE_WITH_MARKS, STATE_VERSION, ${DELTA_NUMBERS}, #d_last, d_last, W, marks)
  sets[#sets + 1] = device_key
  sets[#sets + 1] = state .. pk('>d', current_start) .. before .. merged .. after
  if absorbed then redis.call('DEL', KEYS[key_of[newest]]) end
  if plan ~= NONE then write_archived(index, plan) end
  -- One pack per answer: struct.pack costs more per call than per byte.
  answer(pk('>BI4c0d', APPLIED, #state, state, current_start))
  return p, next_k
end

${MERGED_HEAD_LUA}
local p, k = 1, devices
for d = 1, devices do
  local ok, next_p, next_k, why
  if string.byte(A, p) == MERGED_MODE then
    ok, next_p = pcall(apply_merged, d, p)
    next_k = k
  else
    ok, next_p, next_k, why = pcall(apply_device, d, p, k)
  end
  if not ok then
    -- A refused write (OOM) or a malformed call: the whole call fails, as Redis reports it. The
    -- devices before this one are written first, whole: their archived buckets already are, and
    -- a retry must find them applied, not merge those buckets again. (After a refused first write
    -- this MSET is refused too, and nothing is written.)
    write_sets()
    return call_error(next_p)
  end
  if why then
    why = string.sub(why, 1, 1000)
    answer(pk('>BHc0', UNREADABLE, #why, why))
  end
  p, k = next_p, next_k
end
local written, refused = write_sets()
if not written then return call_error(refused) end
return table.concat(out)
`;
