import { QUARANTINE_REASONS } from '../../domain/telemetry';
import { STATS_FIELDS, STATS_STRIDE } from './layout';

/**
 * The stats script: adds a batch's fleet totals to the stats hash (STATS_FIELDS in layout.ts),
 * exactly once per topic-partition, by the same watermark rule as a device.
 *
 * KEYS: the stats hash.
 * ARGV: P, then P × STATS_STRIDE values: topic-partition, min offset, max offset, applied, one
 * count per quarantine reason.
 * Returns, per partition, 'A' (applied), 'D' (duplicate) or the watermark (partial: recompute
 * above it). A watermark field that is not a number fails the call: the totals cannot be told
 * apart from a double count, so the batch is retried until an operator repairs the hash.
 */
export const APPLY_STATS_LUA = `
local STRIDE = ${STATS_STRIDE}
local RECORDS, QUARANTINED, WATERMARK = '${STATS_FIELDS.records}', '${STATS_FIELDS.quarantined('')}', '${STATS_FIELDS.watermark('')}'
local REASONS = {${QUARANTINE_REASONS.map((r) => `'${r}'`).join(',')}}
local P = tonumber(ARGV[1])
-- Every watermark is read and checked before anything is written.
local raws, watermarks = {}, {}
for p = 1, P do
  local field = WATERMARK .. ARGV[2 + (p - 1) * STRIDE]
  local raw = redis.call('HGET', KEYS[1], field)
  local watermark = -1
  if raw then
    watermark = tonumber(raw)
    if watermark == nil then
      return redis.error_reply('stats watermark ' .. field .. ' is not a number: ' .. string.sub(raw, 1, 100))
    end
  end
  raws[p], watermarks[p] = raw, watermark
end
local out = {}
for p = 1, P do
  local b = 2 + (p - 1) * STRIDE
  if watermarks[p] < tonumber(ARGV[b + 1]) then
    if ARGV[b + 3] ~= '0' then redis.call('HINCRBY', KEYS[1], RECORDS, ARGV[b + 3]) end
    for r = 1, #REASONS do
      if ARGV[b + 3 + r] ~= '0' then redis.call('HINCRBY', KEYS[1], QUARANTINED .. REASONS[r], ARGV[b + 3 + r]) end
    end
    redis.call('HSET', KEYS[1], WATERMARK .. ARGV[b], ARGV[b + 2])
    out[p] = 'A'
  elseif watermarks[p] >= tonumber(ARGV[b + 2]) then
    out[p] = 'D'
  else
    out[p] = raws[p]
  end
end
return out
`;
