/**
 * The Lua scripts of the Redis log, and the shapes of their answers. Each runs atomically in
 * Redis, so every instance sees one epoch and one sequence per stream.
 *
 * Keys (see {@link keysOf}): the stream `<key>:stream` and its meta hash `<key>:meta` (fields
 * `epoch` and `seq`); no log's key can name another log's keys. Entries
 * have the explicit stream id `<seq>-0`, so a Redis id and a log id map one to one; fields
 * `p` (the epoch it was appended in: a reader never labels it with another), `d` (data) and,
 * when set, `e` (event type).
 */

/** The marker of a script's error for keys holding what no log wrote (see {@link isCorrupt}). */
const CORRUPT = 'TABWIRE_CORRUPT'

/**
 * The largest seq: ids carry at most 15 digits (see `parseLogId`), so every seq is also a safe
 * integer and exact in Lua's doubles. A log that reached it refuses appends (`corrupt`).
 */
export const MAX_SEQ = 999_999_999_999_999

/**
 * At most this many entries, or about this many bytes (ids and field values), per read of a
 * resume: `since` reads a long window page by page, so no single script or `XRANGE` keeps
 * Redis busy for long, whatever the entries' size.
 */
export const PAGE_ENTRIES = 500
export const PAGE_BYTES = 1 << 20

/**
 * `ensure(stream, meta, fresh, known, floor)` makes sure the meta hash names an epoch; with
 * none (first use, a flushed or restarted Redis), starts the new epoch `fresh` and drops a
 * stream left without one (its entries belong to a history no client can resume against).
 * `known` is the epoch this instance last saw and `floor` the highest seq it saw or issued in
 * it: the same epoch with a lower seq is a Redis that went back in time (restarted from an
 * older snapshot, failed over to a lagging replica), whose next appends would reuse ids
 * clients already saw with other data; that history is dropped too, for a fresh epoch, so
 * every instance and client moves to it (a reset, never wrong data). Only what Redis answered
 * is a floor, never a client's cursor. Answers the epoch and seq; for keys of another type,
 * a malformed epoch or seq (a seq must be a whole number of at most 15 digits): nil and an
 * error message, and nothing is changed or deleted.
 */
const ENSURE = `
local function ensure(stream, meta, fresh, known, floor)
  local streamType = redis.call('TYPE', stream)['ok']
  local metaType = redis.call('TYPE', meta)['ok']
  if (streamType ~= 'stream' and streamType ~= 'none') or (metaType ~= 'hash' and metaType ~= 'none') then
    return nil, '${CORRUPT} ' .. stream .. ' is a ' .. streamType .. ', ' .. meta .. ' a ' .. metaType
  end
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    redis.call('DEL', stream)
    redis.call('HSET', meta, 'epoch', fresh, 'seq', 0)
    epoch = fresh
  end
  local raw = redis.call('HGET', meta, 'seq')
  if not string.match(epoch, '^[%w_-]+$') or not raw or not string.match(raw, '^%d+$') or #raw > 15 then
    return nil, '${CORRUPT} ' .. meta .. ' holds no valid epoch and seq'
  end
  local seq = tonumber(raw)
  if epoch == known and seq < (tonumber(floor) or 0) then
    redis.call('DEL', stream)
    redis.call('HSET', meta, 'epoch', fresh, 'seq', 0)
    epoch = fresh
    seq = 0
  end
  return epoch, seq
end
`

/**
 * {@link ENSURE} on `KEYS[1]`, `KEYS[2]` and `ARGV[1..3]` (fresh epoch, known epoch, floor):
 * leaves `epoch` and `seq` set, or fails the script.
 */
const ENSURE_EPOCH = `${ENSURE}
local epoch, seq = ensure(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
if not epoch then return redis.error_reply(seq) end
`

/** The stream and meta keys of log `key`: distinct suffixes, so no log key makes another's. */
export const keysOf = (key: string): [stream: string, meta: string] => [`${key}:stream`, `${key}:meta`]

/** The log key of stream key `stream` (see {@link keysOf}). */
export const logKeyOf = (stream: string) => stream.slice(0, -':stream'.length)

/** Whether a script failed because the keys hold what no log wrote (another type, a bad seq). */
export const isCorrupt = (error: unknown) => error instanceof Error && error.message.includes(CORRUPT)

/** The `{ epoch, seq }` a script answered, checked (a plain `Error` marked corrupt otherwise). */
export function headOf(reply: unknown): [epoch: string, seq: number] {
  const [epoch, seq] = reply as [unknown, unknown]
  if (typeof epoch !== 'string' || !Number.isSafeInteger(Number(seq)) || Number(seq) < 0 || Number(seq) > MAX_SEQ) throw new Error(`${CORRUPT}: the head is ${JSON.stringify(reply)}`)
  return [epoch, Number(seq)]
}

/** Answers `{ epoch, seq }`: the epoch and the newest seq. ARGV: fresh epoch, known epoch, floor. */
export const HEAD_SCRIPT = `${ENSURE_EPOCH}
return {epoch, seq}`

/**
 * The heads of many logs in one call (KEYS: stream and meta of each, in pairs; ARGV: fresh
 * epoch, then the known epoch and floor of each log, in pairs). Answers, per log,
 * `{ 1, epoch, seq }`, or `{ 0, error }` for corrupt keys.
 */
export const HEADS_SCRIPT = `${ENSURE}
local heads = {}
for i = 1, #KEYS, 2 do
  local epoch, seq = ensure(KEYS[i], KEYS[i + 1], ARGV[1], ARGV[i + 1], ARGV[i + 2])
  if epoch then heads[#heads + 1] = {1, epoch, seq} else heads[#heads + 1] = {0, seq} end
end
return heads`

/**
 * Appends one entry and trims to about `capacity` (`MAXLEN ~`: whole nodes only, cheap).
 * ARGV: fresh epoch, known epoch, floor, capacity, data, event type ('' with ARGV[7] = '0':
 * none). Answers `{ epoch, seq }` of the new entry. A log at {@link MAX_SEQ}, or whose stream
 * holds an entry another program added at or after the next id, fails (corrupt) with nothing
 * written: the seq taken for it is given back, so no seq is skipped.
 */
export const APPEND_SCRIPT = `${ENSURE_EPOCH}
if seq >= ${MAX_SEQ} then return redis.error_reply('${CORRUPT} ' .. KEYS[2] .. ' reached the largest seq') end
seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local id = string.format('%d-0', seq)
local added
if ARGV[7] == '1' then
  added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], id, 'p', epoch, 'd', ARGV[5], 'e', ARGV[6])
else
  added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], id, 'p', epoch, 'd', ARGV[5])
end
if type(added) == 'table' and added['err'] then
  redis.call('HINCRBY', KEYS[2], 'seq', -1)
  if string.find(added['err'], 'equal or smaller', 1, true) then
    return redis.error_reply('${CORRUPT} ' .. KEYS[1] .. ' holds an entry at or after ' .. id .. ' that no log wrote')
  end
  return added
end
return {epoch, seq}`

/**
 * What a client that last saw seq `after` missed, first page. ARGV: fresh epoch, known epoch,
 * floor, after (seq), capacity. Answers `{ epoch, seq, first, entries }`: `first` the seq of
 * the oldest entry kept (0: none); `entries` (raw XRANGE, up to the head) only when every
 * entry after `after` is kept and within the newest `capacity`, else none (the caller answers
 * a reset), and at most one page ({@link PAGE_ENTRIES}, about {@link PAGE_BYTES}: each read
 * asks for as many entries as the ones before suggest fit). The caller reads the rest.
 */
export const SINCE_SCRIPT = `${ENSURE_EPOCH}
local after = tonumber(ARGV[4])
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local first = 0
if oldest[1] then first = tonumber(string.match(oldest[1][1], '^(%d+)')) end
local entries = {}
local kept = first > 0 and after + 1 >= first
if seq == 0 or after >= seq then kept = true end
if kept and after >= 0 and after < seq and after >= seq - tonumber(ARGV[5]) then
  local from = string.format('(%d-0', after)
  local to = string.format('%d-0', seq)
  local bytes, n = 0, 1
  while n > 0 do
    local page = redis.call('XRANGE', KEYS[1], from, to, 'COUNT', n)
    for _, entry in ipairs(page) do
      entries[#entries + 1] = entry
      bytes = bytes + #entry[1]
      for _, value in ipairs(entry[2]) do bytes = bytes + #value end
      from = '(' .. entry[1]
    end
    if #page < n then break end
    n = math.min(${PAGE_ENTRIES} - #entries, math.floor((${PAGE_BYTES} - bytes) * #entries / bytes))
  end
end
return {epoch, seq, first, entries}`

/** How many entries the next page of a resume asks for: about {@link PAGE_BYTES}, by the size of the ones read. */
export const pageCount = (entries: number, bytes: number) => Math.max(1, Math.min(PAGE_ENTRIES, Math.floor((PAGE_BYTES * entries) / Math.max(1, bytes))))

/** The size of a raw entry, as a page counts it (see {@link PAGE_BYTES}). */
export const sizeOf = ([id, fields]: RawEntry) => String(id).length + fields.reduce((sum, value) => sum + String(value).length, 0)

/** One entry as XRANGE and XREAD answer it: `[id, [field, value, …]]`. */
export type RawEntry = [string, string[]]

/** The seq of a Redis stream id `<seq>-0` (NaN for another id: not an entry of a log). */
export const seqOf = (id: string) => (/^\d{1,15}-0$/.test(String(id)) ? Number.parseInt(id, 10) : Number.NaN)

/** The data and event type of a raw entry's fields, and the epoch it was appended in. */
export function fieldsOf(fields: readonly string[]): { data: string; event: string | undefined; epoch: string | undefined } {
  let data = ''
  let event: string | undefined
  let epoch: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'd') data = String(fields[i + 1])
    else if (fields[i] === 'e') event = String(fields[i + 1])
    else if (fields[i] === 'p') epoch = String(fields[i + 1])
  }
  return { data, event, epoch }
}

/**
 * The entries of an XREAD answer, per stream key, whatever the protocol version: RESP2 gives
 * `[[key, entries], …]`, RESP3 a map.
 */
export function readReply(reply: unknown): [string, RawEntry[]][] {
  if (reply === null || reply === undefined) return []
  if (reply instanceof Map) return [...reply].map(([key, entries]) => [String(key), entries as RawEntry[]])
  if (Array.isArray(reply)) return reply.map((pair) => [String((pair as unknown[])[0]), (pair as unknown[])[1] as RawEntry[]])
  if (typeof reply === 'object') return Object.entries(reply).map(([key, entries]) => [key, entries as RawEntry[]])
  throw new TypeError(`XREAD answered ${typeof reply}`)
}
