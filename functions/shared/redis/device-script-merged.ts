/**
 * The device script's merged heads (device-script.ts includes this Lua): a device the store merged
 * itself (head-merge.ts), checked against the stored head and written with the delta's minutes
 * spliced in. It runs inside the device script and uses its locals: A, stored, sets, answer, the
 * answers MERGED_ANSWER and STALE_ANSWER, and merged_bucket (device-script-buckets.ts).
 */
export const MERGED_HEAD_LUA = `
-- Device d merged by the caller, at position p of ARGV[1] (MERGED_HEAD in layout.ts): written when
-- its stored value is the head merged against and a current bucket. Returns where the next device starts.
local function apply_merged(d, p)
  local known, head, M
  known, head, M, p = up(MERGED_HEAD, A, p + 1)
  local q = p
  p = p + M * MINUTE_DELTA_BYTES
  if p > #A + 1 then error('the deltas are truncated') end
  local raw, H = stored[d], #known
  -- Interned strings: the comparison is of two references once sub has made the stored head one.
  if not raw or #raw ~= H + MINUTES_BYTES or sub(raw, 1, H) ~= known then
    answer(STALE_ANSWER)
    return p
  end
  local before, merged, after = merged_bucket(raw, H + 1, q, M)
  sets[#sets + 1] = KEYS[d]
  sets[#sets + 1] = head .. before .. merged .. after
  answer(MERGED_ANSWER)
  return p
end
`;
