/** One event in a replay log. */
export interface LogEntry {
  /** `<epoch>.<seq>`: the id clients send back as `Last-Event-ID`. */
  readonly id: string
  /** Position in the log, starting at 1; grows by one per entry. */
  readonly seq: number
  /** The SSE event type (`message` when undefined). */
  readonly event: string | undefined
  /** The payload, as text. */
  readonly data: string
}

/** Why a client cannot resume from the id it sent. */
export type ResetReason = 'epoch' | 'gap' | 'invalid'

/**
 * The entries a resuming client missed, or why continuity broke, with `head`: the id of
 * the newest entry (`<epoch>.0` for an empty log), from which the client goes on.
 */
export type Replay = { readonly entries: readonly LogEntry[] } | { readonly reset: ResetReason; readonly head: string }

/**
 * A bounded log of recent events that clients resume from. Behind this small interface a
 * shared store (Redis streams, a database) can back several server instances: `since`
 * may be async.
 */
export interface ReplayLog {
  /** The identity of this log's lifetime; a restart is a new epoch. */
  readonly epoch: string
  /**
   * The id a client that starts following the log now has seen everything up to, to resume
   * from later: the newest entry's, or `<epoch>.0` before the first. Optional for other stores.
   */
  readonly head?: string
  /** Appends an event and tells subscribers. */
  append(data: string, event?: string): LogEntry
  /**
   * What a client that last saw `lastEventId` missed. No id: nothing to replay. An id from
   * another epoch, older than the log keeps, or malformed: a reset, so the client refetches
   * instead of silently missing data.
   */
  since(lastEventId: string | null | undefined): Replay | Promise<Replay>
  /** Listens for appended entries. */
  subscribe(listener: (entry: LogEntry) => void): () => void
}

export interface MemoryLogOptions {
  /**
   * How many recent entries are kept for replay.
   * @defaultValue 1000
   */
  capacity?: number
  /**
   * The epoch: letters, digits, `_` or `-`.
   * @defaultValue a fresh random one
   */
  epoch?: string
}

/** Parses `<epoch>.<seq>`; undefined when the id has another shape. */
export function parseLogId(id: string): { epoch: string; seq: number } | undefined {
  const match = /^([A-Za-z0-9_-]+)\.(\d{1,15})$/.exec(id)
  return match ? { epoch: match[1]!, seq: Number(match[2]) } : undefined
}

/** An in-memory replay log with monotonically increasing ids. */
export function createMemoryLog(options: MemoryLogOptions = {}): ReplayLog {
  const capacity = options.capacity ?? 1000
  if (!(capacity >= 1)) throw new TypeError('[tabwire/server] createMemoryLog: capacity must be at least 1')
  const epoch = options.epoch ?? Math.random().toString(36).slice(2, 10)
  if (!/^[A-Za-z0-9_-]+$/.test(epoch)) throw new TypeError('[tabwire/server] createMemoryLog: the epoch must be letters, digits, _ or -')
  const entries: LogEntry[] = []
  const listeners = new Set<(entry: LogEntry) => void>()
  let seq = 0

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
      for (const listener of [...listeners]) {
        try {
          listener(entry)
        } catch (error) {
          // One subscriber's failure must not cost the others this entry.
          queueMicrotask(() => {
            throw error
          })
        }
      }
      return entry
    },
    since(lastEventId) {
      if (!lastEventId) return { entries: [] }
      const parsed = parseLogId(lastEventId)
      const first = entries[0]?.seq ?? seq + 1
      const reset = (reason: ResetReason) => ({ reset: reason, head: `${epoch}.${seq}` })
      if (!parsed) return reset('invalid')
      if (parsed.epoch !== epoch) return reset('epoch')
      if (parsed.seq > seq) return reset('invalid')
      // The client must have seen the entry just before the oldest one kept.
      if (parsed.seq < first - 1) return reset('gap')
      return { entries: entries.slice(parsed.seq - first + 1) }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}
