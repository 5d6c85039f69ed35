/**
 * `createRedisLog`: a `ReplayLog` on a Redis stream, so any number of server instances share
 * one history and a client resumes on whichever it reaches. See `redis-scripts.ts` for the
 * keys and `redis-reader.ts` for how entries reach the listeners.
 */
import { describeError, quote, ServerOptionsError, warn } from './errors.ts'
import { type LogEntry, parseLogId, type Replay, type ReplayLog, type ResetReason } from './log.ts'
import { createLink, episodes, type RedisClientLike, RedisLogError } from './redis-link.ts'
import { createReader } from './redis-reader.ts'
import { APPEND_SCRIPT, fieldsOf, HEAD_SCRIPT, headOf, isCorrupt, keysOf, pageCount, type RawEntry, SINCE_SCRIPT, seqOf, sizeOf } from './redis-scripts.ts'

export { type RedisClientLike, RedisLogError, type RedisLogErrorKind } from './redis-link.ts'

/** Options of {@link createRedisLogs}: the connection, shared by every log made from it. */
export interface RedisLogsOptions {
  /**
   * A node-redis client (connected or not): commands go through it, and the reader is its
   * `duplicate()`. Give this or `url`.
   * @defaultValue one made from `url`
   * @example createRedisLogs({ client: createClient({ url: process.env.REDIS_URL }) })
   */
  client?: RedisClientLike
  /**
   * The Redis to connect to, when no `client` is given (the `redis` package is loaded then).
   * @defaultValue none
   * @example createRedisLogs({ url: 'redis://127.0.0.1:6379' })
   */
  url?: string
  /**
   * How long (ms) one blocking `XREAD` waits; a lost history (a flushed Redis) with no append
   * is noticed within about this.
   * @defaultValue 1000
   * @example createRedisLogs({ url, block: 250 })
   */
  block?: number
  /**
   * Backoff after failed reads while Redis is unreachable: full jitter, from `min` ms doubling
   * up to `max` ms.
   * @defaultValue `{ min: 100, max: 2000 }`
   * @example createRedisLogs({ url, retry: { min: 50, max: 10_000 } })
   */
  retry?: { min?: number; max?: number }
  /**
   * Pages of long resumes (500 entries or about 1 MB each) read from Redis at once; the
   * others wait their turn. A resume reads its next page only once its client took the last
   * one, so each holds at most about a page, and one whose client left reads no further.
   * @defaultValue 4
   * @example createRedisLogs({ url, resumes: 16 })
   */
  resumes?: number
  /**
   * Faults (a typed `RedisLogError`: `unavailable`, `append`, `history-lost`, `gap`,
   * `corrupt`), once per outage (per log for `corrupt`). The logs go on: reads retry, appends reject until Redis is back.
   * @defaultValue a process warning (code `TABWIRE_SERVER`)
   * @example createRedisLogs({ url, onError: (error) => logger.error({ kind: error.kind }, error.message) })
   */
  onError?: (error: RedisLogError) => void
  /**
   * Timers, clock and randomness (tests inject them).
   * @defaultValue the global `setTimeout`, `performance.now` and `Math.random`
   * @example createRedisLogs({ url, setTimeout: clock.setTimeout, now: clock.now, random: () => 0.5 })
   */
  setTimeout?: (fn: () => void, ms: number) => unknown
  /** @defaultValue `performance.now` @example createRedisLogs({ url, now: () => clock.now }) */
  now?: () => number
  /** @defaultValue `Math.random` @example createRedisLogs({ url, random: () => 0.5 }) */
  random?: () => number
  /**
   * Called when a log listener throws; the other listeners still get the entry.
   * @defaultValue a process warning (code `TABWIRE_SERVER`)
   * @example createRedisLogs({ url, onListenerError: (error, entry) => logger.error({ error, id: entry.id }) })
   */
  onListenerError?: (error: unknown, entry: LogEntry) => void
}

/** Options of one Redis log. */
export interface RedisLogOptions {
  /**
   * The log's key: its entries live in the stream `<key>:stream`, its epoch and sequence in
   * the hash `<key>:meta` (so no log's key names another log's keys). With Redis Cluster, put
   * the name in braces (`{quotes}`) so both keys share a slot.
   * @example createRedisLog({ url, key: 'tabwire:quotes' })
   */
  key: string
  /**
   * The resume window: a client can resume from any of the newest `capacity` entries (the
   * stream is trimmed with `MAXLEN ~`, so Redis keeps a few more). Give every instance the same.
   * @defaultValue 1000
   * @example createRedisLog({ url, key: 'quotes', capacity: 10_000 })
   */
  capacity?: number
}

/** A replay log on a Redis stream: `append` answers a promise. */
export interface RedisLog extends ReplayLog<Promise<LogEntry>> {
  readonly key: string
  /** Settles once the log knows its epoch (read or started in Redis); rejects when Redis could not be reached. */
  readonly ready: Promise<void>
  /**
   * Listens for a break in what the listeners heard: a lost history (a new epoch, passed) or
   * a gap (this instance read the stream later than `capacity` entries: the same epoch). The
   * handlers cut their clients then, which resume to a `reset`.
   */
  onHistoryLost(listener: (epoch: string) => void): () => void
}

/** Redis logs sharing one command connection and one reader. */
export interface RedisLogs {
  /**
   * The log on stream `key` (a light object: asking again for a key gives another view of the same stream).
   * @example const room = redis.log(`chat:${name}`, { capacity: 500 })
   */
  log(key: string, options?: Omit<RedisLogOptions, 'key'>): RedisLog
  /** `'open'`, `'retrying'` while Redis is unreachable, or `'closed'`: for health checks. */
  readonly status: 'open' | 'retrying' | 'closed'
  /** Stops reading and closes the connections this made (a given `client` is left open). */
  close(): void
}

const freshEpoch = () => Math.random().toString(36).slice(2, 10)

/**
 * Redis logs over one connection: every log made from it shares one blocking reader, so an
 * instance makes one Redis read per batch of entries, whatever its number of clients and
 * channels. Use it for dynamic channels; {@link createRedisLog} for a single stream.
 * @example
 * const redis = createRedisLogs({ url: 'redis://127.0.0.1:6379' })
 * const rooms = createChannelLogs({ create: (name) => redis.log(`chat:${name}`), writable: true })
 */
export function createRedisLogs(options: RedisLogsOptions): RedisLogs {
  if (!options.client === !options.url) throw new ServerOptionsError('createRedisLogs', 'client', 'pass either `client` (a node-redis client) or `url`')
  const { block = 1000, onError = (error: RedisLogError) => warn(error.message.replace('[tabwire/server] ', '')), random = Math.random } = options
  if (!(Number.isInteger(block) && block >= 1)) throw new ServerOptionsError('createRedisLogs', 'block', '`block` must be a whole number of ms, at least 1')
  const { min = 100, max = 2000 } = options.retry ?? {}
  const { resumes = 4 } = options
  if (!(Number.isInteger(resumes) && resumes >= 1)) throw new ServerOptionsError('createRedisLogs', 'resumes', '`resumes` must be a whole number, at least 1')
  const turn = turns(resumes)
  const report = episodes(onError)
  const link = createLink({ client: options.client, url: options.url, fault: report.fault })
  const reader = createReader({
    link,
    block,
    backoff: (attempt) => Math.max(1, random() * Math.min(max, min * 2 ** attempt)),
    setTimeout: options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms)),
    now: options.now ?? (() => performance.now()),
    freshEpoch,
    fault: report.fault,
    recovered: report.clear,
    listenerError: options.onListenerError ?? ((error, entry) => warn(`a Redis log listener threw on entry ${quote(entry.id)}: ${describeError(error)}`)),
  })
  return {
    log: (key, logOptions = {}) => redisLog({ ...logOptions, key }, link.command, reader, report, turn),
    get status() {
      return reader.status
    },
    close: () => reader.close(),
  }
}

/**
 * A replay log on one Redis stream, shared by every server instance on the same Redis and
 * key: ids `<epoch>.<seq>` with the epoch kept in Redis, trimming with `MAXLEN ~ capacity`,
 * a `reset` for a cursor older than the resume window or from another epoch. Needs the
 * `redis` package (node-redis). Several logs on one connection: {@link createRedisLogs}.
 * @example
 * const quotes = createRedisLog({ url: 'redis://127.0.0.1:6379', key: 'tabwire:quotes', capacity: 10_000 })
 * await quotes.append(JSON.stringify({ symbol: 'ACME', price: 42 }), 'quote')
 * createSseHandler({ log: quotes })
 */
export function createRedisLog(options: RedisLogsOptions & RedisLogOptions): RedisLog & { close(): void } {
  const logs = createRedisLogs(options)
  try {
    return Object.assign(logs.log(options.key, options), { close: () => logs.close() })
  } catch (error) {
    // A bad key or capacity: no connection may outlive the throw.
    logs.close()
    throw error
  }
}

function redisLog(
  options: RedisLogOptions,
  command: (args: readonly string[]) => Promise<unknown>,
  reader: ReturnType<typeof createReader>,
  report: ReturnType<typeof episodes>,
  turn: () => Promise<() => void>,
): RedisLog {
  const { key, capacity = 1000 } = options
  if (typeof key !== 'string' || !key) throw new ServerOptionsError('createRedisLog', 'key', '`key` must be a non-empty string')
  if (!(Number.isInteger(capacity) && capacity >= 1)) throw new ServerOptionsError('createRedisLog', 'capacity', 'capacity must be a whole number, at least 1')
  const [stream, meta] = keysOf(key)
  /** The epoch this view last saw, and the highest seq Redis answered or issued in it. */
  let known: string | undefined
  let floor = 0
  /**
   * An epoch and a seq Redis answered (`headSeq`: the seq before the newest entry, for the
   * reader; `top`: the highest seq seen, when higher).
   */
  const learn = (epoch: unknown, headSeq: number, top = headSeq) => {
    if (String(epoch) !== known) floor = 0
    known = String(epoch)
    floor = Math.max(floor, top)
    const state = reader.peek(key)
    if (state) reader.seen(state, known, headSeq)
  }
  /** What this instance knows of the stream, for the scripts: its epoch and the highest seq seen in it. */
  const knows = (): [string, string] => {
    const state = reader.peek(key)
    if (state?.epoch !== undefined && state.epoch !== known) return [state.epoch, String(state.seq)]
    return [known ?? '', String(Math.max(floor, state?.seq ?? 0))]
  }
  const script = (body: string, ...args: string[]) => command(['EVAL', body, '2', stream, meta, freshEpoch(), ...knows(), ...args])
  /** A script's failure, typed: keys another program wrote are `corrupt`. */
  const failed = (error: unknown, what: string) => (isCorrupt(error) ? new RedisLogError('corrupt', `${what} ${quote(key)} failed: ${describeError(error)}`, { cause: error }) : error)
  const ready = script(SINCE_SCRIPT, '-1', String(capacity)).then((reply) => learn(...headOf(reply)))
  ready.catch(() => {})

  const since = async (lastEventId: string | null | undefined): Promise<Replay> => {
    if (!lastEventId) {
      // A client with no id takes the head the reader starts from (the handlers read `head`
      // again once this answers): the first subscriber of an instance waits for the reader.
      const state = reader.peek(key)
      if (state?.listeners.size) await state.started
      return { entries: [] }
    }
    const parsed = parseLogId(lastEventId)
    // Read after the head the reader started from: whatever this answers not, the listeners hear.
    const state = reader.peek(key)
    if (state?.listeners.size) {
      await state.started
      if (!state.reading) throw new RedisLogError('unavailable', `stream ${quote(key)} is not being read yet`)
    }
    let reply: unknown
    let epoch: string
    let seq: number
    try {
      reply = await script(SINCE_SCRIPT, String(parsed?.seq ?? -1), String(capacity))
      ;[epoch, seq] = headOf(reply)
    } catch (error) {
      throw failed(error, 'a resume from')
    }
    const [, , first, raw] = reply as [string, number, number, RawEntry[]]
    learn(epoch, seq)
    const reset = (reason: ResetReason, at = epoch, atSeq = seq): Replay => ({ reset: reason, head: `${at}.${atSeq}`, headSeq: atSeq })
    if (!parsed) return reset('invalid')
    if (parsed.epoch !== String(epoch)) return reset('epoch')
    // Ahead of the head: this client's alone (a client's cursor never moves the others).
    if (parsed.seq > seq) return reset('invalid')
    // The client has everything up to its id: this instance's reader may hear some of it late.
    if (parsed.seq === seq) return { entries: [], afterSeq: parsed.seq }
    const oldest = Math.max(Number(first) || seq + 1, seq - capacity + 1)
    if (parsed.seq < oldest - 1) return reset('gap')
    // The entries up to the head, a page at a time: the handlers ask for the next page once
    // they wrote this one, so a resume holds one page (not the window) and one whose client
    // left reads no further. Without a hole, and only entries this log wrote, in this epoch
    // (another program's are not clients' to see).
    let next = parsed.seq + 1
    let after = `${parsed.seq}-0`
    let read = 0
    let bytes = 0
    let pages = 0
    const take = async (page: readonly RawEntry[]): Promise<Replay> => {
      pages++
      const entries: LogEntry[] = []
      for (const entry of page) {
        const [id, fields] = entry
        const at = seqOf(id)
        after = String(id)
        read++
        bytes += sizeOf(entry)
        if (Number.isNaN(at)) continue
        // A page that does not go on where the last one ended: trimmed (or flushed) meanwhile.
        if (at !== next) return lostWhileReading(epoch)
        next++
        const { data, event, epoch: appendedIn } = fieldsOf(fields)
        if (appendedIn === epoch) entries.push({ id: `${epoch}.${at}`, seq: at, event, data })
      }
      if (next > seq) {
        // Read in several steps: the epoch must still be the same (a flush between two pages).
        if (pages > 1) {
          const [now, headSeq] = await head()
          if (now !== epoch) return reset('epoch', now, headSeq)
        }
        return { entries }
      }
      if (!page.length) return lostWhileReading(epoch)
      return {
        entries,
        more: async () => {
          // This page's turn (see `resumes`): Redis reads at most that many long resumes at once.
          const done = await turn()
          let raw: RawEntry[]
          try {
            raw = (await command(['XRANGE', stream, `(${after}`, `${seq}-0`, 'COUNT', String(pageCount(read, bytes))])) as RawEntry[]
          } catch (error) {
            throw failed(error, 'a resume from')
          } finally {
            done()
          }
          return take(raw)
        },
      }
    }
    const answer = await take(raw)
    return 'entries' in answer ? { ...answer, afterSeq: parsed.seq } : answer
  }

  /** The head, read (with what this instance knows). */
  const head = async () => {
    try {
      const [epoch, seq] = headOf(await script(HEAD_SCRIPT))
      learn(epoch, seq)
      return [epoch, seq] as const
    } catch (error) {
      throw failed(error, 'a resume from')
    }
  }

  /** A resume that found a hole: a reset to the head now (a new epoch, or a gap in this one). */
  const lostWhileReading = async (epoch: string): Promise<Replay> => {
    const [now, seq] = await head()
    return { reset: now === epoch ? 'gap' : 'epoch', head: `${now}.${seq}`, headSeq: seq }
  }

  return {
    key,
    ready,
    get epoch() {
      return reader.peek(key)?.epoch ?? known ?? ''
    },
    get head() {
      const state = reader.peek(key)
      return state?.reading && state.epoch !== undefined ? `${state.epoch}.${state.seq}` : undefined
    },
    async append(data, event) {
      if (event !== undefined && /[\r\n]/.test(event)) throw new TypeError('[tabwire/server] append: the event type must not contain a line break')
      let epoch: string
      let seq: number
      try {
        ;[epoch, seq] = headOf(await script(APPEND_SCRIPT, String(capacity), String(data), event ?? '', event === undefined ? '0' : '1'))
      } catch (error) {
        // Keys another program wrote (or a log at its largest seq) fail this log only, and are reported once for it.
        const kind = isCorrupt(error) ? 'corrupt' : 'append'
        report.fault(kind, `an append to ${quote(key)} failed, so it was refused`, error, kind === 'corrupt' ? key : '')
        throw new RedisLogError(kind, `append to ${quote(key)} failed: ${describeError(error)}`, { cause: error })
      }
      report.clear('append')
      learn(epoch, seq - 1, seq)
      const state = reader.peek(key)
      // Resolved once this instance's listeners heard it (through the reader, in stream order).
      if (state) await reader.told(state, seq)
      return { id: `${epoch}.${seq}`, seq, event, data: String(data) }
    },
    since,
    subscribe: (listener) => reader.listen(reader.stream(key), listener),
    onHistoryLost: (listener) => reader.lost(reader.stream(key), listener),
  }
}

/** Turns for at most `n` tasks at once, in the order asked: `await turn()` answers the function that ends the turn. */
function turns(n: number): () => Promise<() => void> {
  let running = 0
  const waiting: (() => void)[] = []
  const end = () => {
    const next = waiting.shift()
    if (next) next()
    else running--
  }
  return () => {
    let ended = false
    const once = () => {
      if (!ended) (ended = true), end()
    }
    if (running < n) {
      running++
      return Promise.resolve(once)
    }
    return new Promise((resolve) => waiting.push(() => resolve(once)))
  }
}
