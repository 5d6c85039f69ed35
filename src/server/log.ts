import { describeError, quote, ServerOptionsError, warn } from './errors.ts'

/** One event in a replay log. */
export interface LogEntry {
  /**
   * The id clients send back to resume (`Last-Event-ID`, `since`). Opaque to the handlers;
   * it must not contain a line break or NULL (SSE cannot carry those). The memory log's ids
   * are `<epoch>.<seq>`.
   */
  readonly id: string
  /**
   * The entry's position: a safe integer, strictly greater than every earlier entry's in
   * the same log (gaps allowed). The handlers compare positions only through it.
   */
  readonly seq: number
  /** The SSE event type (`message` when undefined). */
  readonly event: string | undefined
  /** The payload, as text. */
  readonly data: string
}

/** Why a client cannot resume from the id it sent. */
export type ResetReason = 'epoch' | 'gap' | 'invalid'

/**
 * The entries a resuming client missed, or why continuity broke. A reset names `head`, the
 * id of the newest entry (for an empty log, an id that resumes from the start, such as the
 * memory log's `<epoch>.0`), and `headSeq`, its `seq` (for an empty log, a safe integer below
 * the `seq` of every entry to come: the memory log's is 0): the client goes on from there,
 * and every entry appended later has a greater `seq`.
 */
export type Replay =
  | {
      readonly entries: readonly LogEntry[]
      /**
       * The `seq` of the entry the client's id names: it has every entry up to this one. A
       * store whose listeners may hear an entry after `since` already covered it (a shared
       * store's reader a little behind the store) must tell it, so the handlers never send a
       * client what it had; the memory log tells it too. Not for a replay without an id.
       */
      readonly afterSeq?: number
      /**
       * The rest of a long replay, page by page: the handlers call it once they wrote these
       * entries (never when the client left), for the next page (which may have `more`), or a
       * reset when continuity broke meanwhile (the handlers then cut the client, which
       * resumes to that reset). Without it, `entries` is the whole replay.
       */
      readonly more?: () => Promise<Replay>
    }
  | { readonly reset: ResetReason; readonly head: string; readonly headSeq: number }

/**
 * A bounded log of recent events that clients resume from. Behind this small interface a
 * shared store (Redis streams, see `createRedisLog`) can back several server instances. The
 * contract, which `replayLogContract` checks for any store:
 *
 * - `append` returns the new entry, or a promise of it (a shared store), and tells every
 *   listener in append order: during `append` when it answers at once, before its promise
 *   settles otherwise. `seq` grows strictly; ids are unique and free of line breaks and NULL.
 *   A throwing listener must not stop the others nor make `append` throw. A listener may
 *   append: every listener still hears the entries in append order (the memory log tells an
 *   entry appended by a listener once every listener heard the one before it, before the
 *   outer `append` returns). An `append` that fails throws or rejects: the entry is not
 *   stored, and the handlers answer the publish with an error.
 * - `epoch` stays the same for the log's lifetime. A shared store whose history is lost
 *   (a flushed Redis) starts a new epoch and tells `onHistoryLost` listeners.
 * - The newest `capacity` entries (what the store was made to keep) can always be resumed
 *   from: `since` of any of their ids replays exactly what followed it, however many entries
 *   came and went before.
 * - The function `subscribe` returns stops the listener; it should not throw (the handlers
 *   warn and go on when it does).
 * - `since(id)` answers, for an id this log gave out, exactly the entries after it, oldest
 *   first; none for no id (`null`, `undefined`, `''`) or the newest id. When the entries
 *   after the id are not all kept any more, or the id is not one of this log's (another
 *   epoch, malformed, from the future), it answers a reset instead: never a replay with a
 *   hole. It may be async and may fail; the handlers cut that client, which retries.
 * - Entries appended while `since` runs may be in its answer or not: the handlers also hear
 *   them live and drop by `seq` what they already sent, and what is at or below the
 *   answer's `afterSeq` (the client had it: a listener that hears entries late must not
 *   send them again). A listener subscribed before
 *   `since` is called hears every entry `since` does not answer.
 *
 * `Appended` is what `append` answers: `LogEntry` for a store that answers at once (the
 * default, and the memory log), `Promise<LogEntry>` for a shared one; the handlers take
 * either (`AnyReplayLog`).
 */
export interface ReplayLog<Appended extends LogEntry | Promise<LogEntry> = LogEntry> {
  /** The identity of this log's history; a restart (or a lost shared history) is a new epoch. */
  readonly epoch: string
  /**
   * The id a client that starts following the log now has seen everything up to, to resume
   * from later: the newest entry's, or `<epoch>.0` before the first. Optional for other stores.
   */
  readonly head?: string | undefined
  /** Appends an event and tells subscribers; throws or rejects when the entry could not be stored. */
  append(data: string, event?: string): Appended
  /** What a client that last saw `lastEventId` missed (see the contract above). */
  since(lastEventId: string | null | undefined): Replay | Promise<Replay>
  /** Listens for appended entries; returns the function that stops listening. */
  subscribe(listener: (entry: LogEntry) => void): () => void
  /**
   * Optional, for shared stores: listens for a loss of history (a new epoch). The handlers
   * then cut every client that follows the log: each reconnects and gets a `reset`.
   */
  onHistoryLost?(listener: (epoch: string) => void): () => void
}

/**
 * A replay log whose `append` may answer at once or with a promise: what the handlers take.
 * @example const logs: AnyReplayLog[] = [createMemoryLog(), createRedisLog({ url, key: 'quotes' })]
 */
export type AnyReplayLog = ReplayLog<LogEntry | Promise<LogEntry>>

/**
 * The memory log: a `ReplayLog` whose `append` answers at once, with the entry (not a promise),
 * and that always tells its head.
 */
export interface MemoryLog extends ReplayLog {
  readonly head: string
  append(data: string, event?: string): LogEntry
}

export interface MemoryLogOptions {
  /**
   * How many recent entries are kept for replay.
   * @defaultValue 1000
   * @example createMemoryLog({ capacity: 10_000 })
   */
  capacity?: number
  /**
   * The epoch: letters, digits, `_` or `-`. A restart with the same epoch would let clients
   * resume against different entries: keep it unique per lifetime.
   * @defaultValue a fresh random one
   * @example createMemoryLog({ epoch: `boot-${Date.now()}` })
   */
  epoch?: string
  /**
   * Called when a listener throws; the other listeners still get the entry and `append`
   * does not throw.
   * @defaultValue a process warning (code `TABWIRE_SERVER`)
   * @example createMemoryLog({ onListenerError: (error, entry) => logger.error({ error, id: entry.id }) })
   */
  onListenerError?: (error: unknown, entry: LogEntry) => void
}

/** Parses `<epoch>.<seq>`; undefined when the id has another shape. */
export function parseLogId(id: string): { epoch: string; seq: number } | undefined {
  const match = /^([A-Za-z0-9_-]+)\.(\d{1,15})$/.exec(id)
  return match ? { epoch: match[1]!, seq: Number(match[2]) } : undefined
}

/**
 * An in-memory replay log: ids `<epoch>.<seq>`, seq 1, 2, 3…, the newest `capacity` entries
 * kept for replay.
 * @example
 * const quotes = createMemoryLog({ capacity: 1000 })
 * quotes.append(JSON.stringify({ symbol: 'ACME', price: 42 }), 'quote')
 */
export function createMemoryLog(options: MemoryLogOptions = {}): MemoryLog {
  const capacity = options.capacity ?? 1000
  if (!(capacity >= 1)) throw new ServerOptionsError('createMemoryLog', 'capacity', 'capacity must be at least 1')
  const epoch = options.epoch ?? Math.random().toString(36).slice(2, 10)
  if (!/^[A-Za-z0-9_-]+$/.test(epoch)) throw new ServerOptionsError('createMemoryLog', 'epoch', 'the epoch must be letters, digits, _ or -')
  const onListenerError = options.onListenerError ?? ((error, entry) => warn(`a log listener threw on entry ${quote(entry.id)}: ${describeError(error)}`))
  const entries: LogEntry[] = []
  const listeners = new Set<(entry: LogEntry) => void>()
  let seq = 0
  /** Entries appended while listeners are being told, in append order. */
  const pending: LogEntry[] = []
  let telling = false

  return {
    epoch,
    get head() {
      return `${epoch}.${seq}`
    },
    append(data, event) {
      // Refused here, not when a client happens to be connected: an entry no client can be
      // sent would cut every client that resumes from before it.
      if (event !== undefined && /[\r\n]/.test(event)) throw new TypeError('[tabwire/server] append: the event type must not contain a line break')
      const entry: LogEntry = { id: `${epoch}.${++seq}`, seq, event, data: String(data) }
      entries.push(entry)
      if (entries.length > capacity) entries.shift()
      pending.push(entry)
      // A listener that appends (a bot answering in a room) must not make the listeners after
      // it hear the answer before the entry it answers: an append during telling is queued,
      // and told once every listener heard the entries before it, before the outer append returns.
      if (telling) return entry
      telling = true
      try {
        for (let next = pending.shift(); next; next = pending.shift()) {
          for (const listener of [...listeners]) {
            try {
              listener(next)
            } catch (error) {
              // One subscriber's failure must not cost the others this entry, nor crash the
              // process (rethrown later, it would be an uncaught exception).
              reportListenerError(onListenerError, error, next)
            }
          }
        }
      } finally {
        telling = false
      }
      return entry
    },
    since(lastEventId) {
      if (!lastEventId) return { entries: [] }
      const parsed = parseLogId(lastEventId)
      const first = entries[0]?.seq ?? seq + 1
      const reset = (reason: ResetReason) => ({ reset: reason, head: `${epoch}.${seq}`, headSeq: seq })
      if (!parsed) return reset('invalid')
      if (parsed.epoch !== epoch) return reset('epoch')
      if (parsed.seq > seq) return reset('invalid')
      // The client must have seen the entry just before the oldest one kept.
      if (parsed.seq < first - 1) return reset('gap')
      return { entries: entries.slice(parsed.seq - first + 1), afterSeq: parsed.seq }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}

function reportListenerError(report: (error: unknown, entry: LogEntry) => void, error: unknown, entry: LogEntry) {
  try {
    report(error, entry)
  } catch {
    // The report itself failed: nothing is left to tell, and append must not throw.
  }
}
