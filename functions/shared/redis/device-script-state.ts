/**
 * The device script's reading and writing of a stored state's parts (device-script.ts includes
 * this Lua): format 1's MessagePack last reading, the watermarks and current bucket after the
 * state's numbers, and the watermarks packed again. It uses the script's locals up, pk, sub and the
 * layout's names.
 */
export const STORED_STATE_LUA = `
-- Format 1 kept the last reading as MessagePack [ts, t, h, b, status, [lat, lon] or [], firmware].
local function last_from_v1(packed)
  local r = cmsgpack.unpack(packed)
  local loc = r[6]
  local has = type(loc) == 'table' and #loc == 2
  local status = STATUS[r[5]]
  if status == nil then error('last reading has status ' .. tostring(r[5])) end
  return pk(LAST_READING, r[1], r[2], r[3], r[4], status, has and 1 or 0,
    has and loc[1] or 0, has and loc[2] or 0, #r[7], r[7])
end

-- What follows a stored state's numbers and last reading (W watermarks from position q): the
-- watermarks, the length of the state, and the current bucket's start and where its minutes begin
-- in raw (nil for none: they are read in place, not copied out). Raises on anything unreadable.
local function decode_tail(raw, version, W, q)
  local wm = {}
  for _ = 1, W do
    local tp, offset
    tp, offset, q = up(WATERMARK, raw, q)
    wm[tp] = offset
  end
  local state_bytes, rest = q - 1, #raw - q + 1
  if version == STATE_VERSION and rest == CURRENT_BYTES then
    return wm, state_bytes, up('>d', raw, q), q + 8
  elseif rest ~= 0 then
    error(rest .. ' bytes after the watermarks')
  end
  return wm, state_bytes
end

-- The watermarks packed, and how many. Most devices read from one partition: no table for one.
local function encode_watermarks(wm)
  local one, parts, W = '', nil, 0
  for tp, offset in pairs(wm) do
    W = W + 1
    local mark = pk(WATERMARK, #tp, tp, offset)
    if W == 1 then one = mark elseif W == 2 then parts = {one, mark} else parts[W] = mark end
  end
  return W, parts and table.concat(parts) or one
end
`;
