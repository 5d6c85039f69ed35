/**
 * The reader of a set of Redis logs (`redis-reader.ts`): its shape, and the state of one
 * stream as this process follows it (where the reader is, and who listens).
 */
import type { LogEntry } from './log.ts'
import type { RedisLink, RedisLogErrorKind } from './redis-link.ts'
import { keysOf } from './redis-scripts.ts'

/** One stream, as this process follows it. */
export interface StreamState {
  readonly key: string
  /** Its Redis keys (see `keysOf`). */
  readonly stream: string
  readonly meta: string
  /** The epoch last seen in Redis (undefined before the first answer). */
  epoch: string | undefined
  /** The epochs this stream had before: an entry of one is from a lost history. */
  readonly left: Set<string>
  /** The newest seq told to the listeners (or the head when reading started). */
  seq: number
  /** Whether the loop reads it: its head was read after the first listener came. */
  reading: boolean
  /** Its keys hold what no log wrote: not read (nor tried again) before this time. */
  retryAt: number
  /** The head being read for the first listener: `since` waits for it, so no entry falls between. */
  started: Promise<void> | undefined
  readonly listeners: Set<(entry: LogEntry) => void>
  readonly lost: Set<(epoch: string) => void>
  waiters: { seq: number; resolve(): void }[]
}

/** What the reader needs besides the connections. */
export interface ReaderOptions {
  link: RedisLink
  /** How long one `XREAD` blocks (ms); lost histories are looked for at most this often. */
  block: number
  /** The wait before the retry after `attempt` failures, in ms. */
  backoff(attempt: number): number
  setTimeout(fn: () => void, ms: number): unknown
  now(): number
  freshEpoch(): string
  fault(kind: RedisLogErrorKind, message: string, cause: unknown, key?: string): void
  recovered(kind: RedisLogErrorKind, key?: string): void
  /** A listener threw. */
  listenerError(error: unknown, entry: LogEntry): void
}

/** The reader of a set of Redis logs. */
export interface Reader {
  /** The state of stream `key`, made on first use (dropped again when it has no listener). */
  stream(key: string): StreamState
  /** The state of stream `key` if this process follows it. */
  peek(key: string): StreamState | undefined
  /** Adds a listener to `state`; the stream is read while it has one. */
  listen(state: StreamState, listener: (entry: LogEntry) => void): () => void
  /** Adds a listener for a lost history of `state` (a new epoch), or a gap in what was read (the same epoch). */
  lost(state: StreamState, listener: (epoch: string) => void): () => void
  /** Resolves once the listeners were told `seq` (at once when nobody listens). */
  told(state: StreamState, seq: number): Promise<void>
  /** An epoch (and the seq before the newest entry) a script answered: a new one means the history was lost. */
  seen(state: StreamState, epoch: string, headSeq: number): void
  /** `'open'`, `'retrying'` while Redis is unreachable, `'closed'`. */
  readonly status: 'open' | 'retrying' | 'closed'
  close(): void
}

/** The state of log `key` before its first read. */
export function streamState(key: string): StreamState {
  const [stream, meta] = keysOf(key)
  return { key, stream, meta, epoch: undefined, left: new Set(), seq: 0, reading: false, retryAt: 0, started: undefined, listeners: new Set(), lost: new Set(), waiters: [] }
}

/** Resolves the waiters for the seqs told (`all`: every waiter, the stream is done with). */
export function settle(state: StreamState, all = false) {
  if (!state.waiters.length) return
  const done = all ? state.waiters : state.waiters.filter((w) => w.seq <= state.seq)
  state.waiters = all ? [] : state.waiters.filter((w) => w.seq > state.seq)
  for (const waiter of done) waiter.resolve()
}

/** Tells the listeners an entry; one that throws does not keep it from the others. */
export function tell(state: StreamState, entry: LogEntry, listenerError: (error: unknown, entry: LogEntry) => void) {
  for (const listener of [...state.listeners]) {
    try {
      listener(entry)
    } catch (error) {
      listenerError(error, entry)
    }
  }
}

/** Tells the `lost` listeners: the stream's clients are cut, and resume to a reset. */
export function tellLost(state: StreamState, epoch: string, headSeq: number, listenerError: (error: unknown, entry: LogEntry) => void) {
  for (const listener of [...state.lost]) {
    try {
      listener(epoch)
    } catch (error) {
      listenerError(error, { id: `${epoch}.${headSeq}`, seq: headSeq, event: undefined, data: '' })
    }
  }
}
