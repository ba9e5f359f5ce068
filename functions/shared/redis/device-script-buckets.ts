/**
 * The device script's window buckets (device-script.ts includes this Lua): merging minutes,
 * archiving buckets and keeping the index. It runs inside the device script and uses its locals:
 * A (the deltas), now, ttl, keep, the reused arrays starts, at and counts, and the layout's names.
 */
export const WINDOW_BUCKETS_LUA = `
-- The delta's minute at position q of ARGV[1] merged into the bucket whose minutes begin at
-- position from of m: the bytes of the bucket before that minute, the merged minute, the bytes after
-- it. A minute past its expiry is gone for readers: new readings start it afresh.
local function merge_delta_minute(m, from, q)
  local minute, count, low, high, sum = up(MINUTE_DELTA, A, q)
  if minute >= MINUTES then error('minute ' .. minute .. ' is outside its bucket') end
  local at = from + minute * MINUTE_BYTES
  local c, l, h, s, expires = up('>ddddd', m, at)
  if c > 0 and expires > now then count, low, high, sum = count + c, min(low, l), max(high, h), sum + s end
  return sub(m, from, at - 1), pk('>ddddd', count, low, high, sum, now + ttl),
    sub(m, at + MINUTE_BYTES, from + MINUTES_BYTES - 1)
end

-- The minutes m with the delta's M minutes at position q of ARGV[1] merged in.
local function merge_delta_minutes(m, q, M)
  for _ = 1, M do
    local before, merged, after = merge_delta_minute(m, 1, q)
    m, q = before .. merged .. after, q + MINUTE_DELTA_BYTES
  end
  return m
end

-- The live minutes of 'from' merged into m, each keeping the later of the two expiries.
local function merge_minutes(m, from)
  for minute = 0, MINUTES - 1 do
    local at = minute * MINUTE_BYTES
    local count, low, high, sum, expires = up('>ddddd', from, at + 1)
    if count > 0 and expires > now then
      local c, l, h, s, e = up('>ddddd', m, at + 1)
      if c > 0 and e > now then
        count, low, high, sum, expires = count + c, min(low, l), max(high, h), sum + s, max(expires, e)
      end
      m = sub(m, 1, at) .. pk('>ddddd', count, low, high, sum, expires) .. sub(m, at + MINUTE_BYTES + 1)
    end
  end
  return m
end

-- The bucket whose minutes begin at position from of m with the delta's M minutes at position q
-- merged in, as three pieces to concatenate: one minute (a device that reports every few seconds)
-- is spliced where it lies, so that the bucket is copied once, into the value it ends up in.
local function merged_bucket(m, from, q, M)
  if M == 1 then return merge_delta_minute(m, from, q) end
  return merge_delta_minutes(sub(m, from, from + MINUTES_BYTES - 1), q, M), '', ''
end

-- Whether the bucket whose minutes begin at position from of m has a minute that has not expired.
local function has_live_minute(m, from)
  for minute = 0, MINUTES - 1 do
    local count, _, _, _, expires = up('>ddddd', m, from + minute * MINUTE_BYTES)
    if count > 0 and expires > now then return true end
  end
  return false
end

-- Drops the index's oldest entry when its bucket has expired: a new archived bucket adds one entry,
-- this takes one away, so the index stays about as small as its buckets.
local function prune(index, bucket_key)
  local base = string.match(bucket_key, '^(.*:)[^:]+$')
  local oldest = redis.call('ZRANGE', index, 0, 0)[1]
  if oldest and redis.call('EXISTS', base .. oldest) == 0 then redis.call('ZREM', index, oldest) end
end

-- Writes the archived buckets planned for a device: new ones whole, stored ones in place. The index
-- outlives every bucket it lists: it expires when the latest refreshed one does.
local function write_archived(index, plan)
  local refreshed, created = nil, nil
  for _, a in ipairs(plan) do
    if not a.stored then
      refreshed = now + keep
      redis.call('SET', a.key, pk('>d', refreshed) .. a.minutes, 'PX', keep)
      created = created or a.key
    else
      redis.call('SETRANGE', a.key, ARCHIVED_HEADER, a.minutes)
      -- The key must outlive the minutes just updated: refresh it once it would not.
      if a.index then
        refreshed = now + keep
        redis.call('SETRANGE', a.key, 0, pk('>d', refreshed))
        redis.call('PEXPIREAT', a.key, refreshed)
      end
    end
  end
  if created then prune(index, created) end
  if refreshed then redis.call('PEXPIREAT', index, refreshed) end
end

-- The archived buckets an update involves, read and checked, with the minutes each gets: every
-- bucket of the delta but the one that goes into the current bucket, the current bucket when a newer
-- one replaces it, and (absorb) the archived copy of the newest bucket of a state without a current
-- bucket. Returns the plan and the absorbed value; or the starts whose keys the call did not declare;
-- or why a stored bucket cannot be read.
local function plan_archived(N, embed, rotate, absorb, newest, current_start, current, key_of, got, k)
  local missing = nil
  local function need(start)
    if not key_of[start] then
      missing = missing or {}
      missing[#missing + 1] = start
    end
  end
  for n = 1, N do
    if not (embed and n == N) then need(starts[n]) end
  end
  if rotate then need(current_start) end
  if absorb then need(newest) end
  if missing then return nil, nil, missing end

  local stored = {}
  for start, key_at in pairs(key_of) do
    local w = got[key_at - k - 1]
    if not w and redis.call('EXISTS', KEYS[key_at]) == 1 then
      return nil, nil, nil, 'window bucket ' .. KEYS[key_at] .. ' is not a string'
    end
    if w and #w ~= ARCHIVED_BYTES then
      return nil, nil, nil, 'window bucket ' .. KEYS[key_at] .. ' has ' .. #w .. ' bytes, not ' .. ARCHIVED_BYTES
    end
    stored[start] = w or false
  end
  local plan, by_start = {}, {}
  local function archive(start)
    local a = by_start[start]
    if a then return a end
    local w = stored[start]
    a = {key = KEYS[key_of[start]], start = start, stored = w,
      minutes = w and sub(w, ARCHIVED_HEADER + 1) or EMPTY_MINUTES,
      -- The index is told of a new bucket, and of one whose expiry is refreshed, so an entry lost
      -- from the index comes back within the expiry slack.
      index = not w or up('>d', w, 1) < now + ttl}
    plan[#plan + 1], by_start[start] = a, a
    return a
  end
  for n = 1, N do
    if not (embed and n == N) then
      local a = archive(starts[n])
      a.minutes = merge_delta_minutes(a.minutes, at[n], counts[n])
    end
  end
  if rotate then
    local a = archive(current_start)
    a.minutes = merge_minutes(a.minutes, current)
  end
  return plan, absorb and stored[newest]
end
`;
