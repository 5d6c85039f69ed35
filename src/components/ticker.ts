import type { FrameScheduler, Timers } from '../core/index'
import { RealtimeError } from '../index'
import { emit, frameScheduler, globalTimers } from './runtime'

/** One value of one symbol, as a message gives it. */
export interface TickerUpdate {
  /** The row's key (a ticker symbol, a metric's name, a team). */
  symbol: string
  /** A finite number. */
  value: number
}

/** Which way the last update moved a row. */
export type TickerDirection = 'up' | 'down' | 'unchanged'

/** A row of the ticker. Immutable: a row keeps its identity until its symbol updates. */
export interface TickerRow {
  readonly symbol: string
  readonly value: number
  /** The value before the last update (undefined for the first). */
  readonly previous: number | undefined
  /** `value - previous` (0 for the first). */
  readonly change: number
  readonly direction: TickerDirection
  /** When (ms, the ticker's clock) the last update arrived. */
  readonly updatedAt: number
  /** Counts the row's updates from 1: a new version is a new highlight. */
  readonly version: number
}

/** What the ticker shows. Immutable; keeps its identity until something changes. */
export interface TickerSnapshot {
  /** Every row, in the order their symbols first arrived. */
  readonly rows: readonly TickerRow[]
  /** When the newest shown update arrived; undefined before the first. */
  readonly updatedAt: number | undefined
  /** Whether the display is paused (updates are kept, not shown). */
  readonly paused: boolean
  /** The last message that could not be read (kind `parse`) or was refused (`overflow`); cleared by the next good one. */
  readonly error: RealtimeError | null
}

/** Options of {@link createTicker} and `useTicker`. */
export interface TickerOptions<T> {
  /**
   * Turns a message's data into updates (one, several, or none to skip it). A throw, or an
   * update whose symbol is not a non-empty string or whose value is not a finite number, is
   * a `parse` error in the snapshot; the ticker goes on.
   * @defaultValue the data itself, as `{ symbol, value }` or an array of them
   * @example { read: (q: Quote) => ({ symbol: q.ticker, value: q.last }) }
   */
  read?: (data: T) => TickerUpdate | readonly TickerUpdate[] | null | undefined
  /**
   * At most this many symbols; updates of further symbols are refused (an `overflow` error).
   * @defaultValue 5000
   * @example { maxRows: 200 }
   */
  maxRows?: number
  /**
   * How often (ms) at most the summary (`subscribeSummary`) changes.
   * @defaultValue 10000
   * @example { summaryInterval: 30_000 }
   */
  summaryInterval?: number
  /** Injectable clock (ms). @defaultValue Date.now @example { now: () => performance.timeOrigin + performance.now() } */
  now?: () => number
  /** Injectable timers (the summary's throttle). @defaultValue globalThis timers @example { timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout } } */
  timers?: Timers
  /**
   * Schedules the coalesced display flush; it must call back later, never synchronously.
   * @defaultValue requestAnimationFrame, else a 16 ms timer
   * @example { scheduleFrame: (flush) => { const t = setTimeout(flush, 100); return () => clearTimeout(t) } } // at most 10 renders a second
   */
  scheduleFrame?: FrameScheduler
}

/** A framework-free ticker: takes every message, shows at most one snapshot per frame. */
export interface Ticker<T> {
  subscribe(listener: () => void): () => void
  getSnapshot(): TickerSnapshot
  /**
   * Takes one message; pass it as a hook's `onMessage` (one identity for the ticker's life).
   * @example useEventSource<Quote>('/api/quotes', { json: true, onMessage: ticker.onMessage })
   */
  onMessage(message: { readonly data: T }): void
  /** Takes updates directly. */
  push(updates: TickerUpdate | readonly TickerUpdate[]): void
  /** Freezes the display; updates are still taken and shown on `resume()`. */
  pause(): void
  resume(): void
  /** Forgets every row (say, after a channel reset, before its snapshot). */
  clear(): void
  /** The rows as of the last summary: changes at most once per `summaryInterval`, for a `role="status"` line. */
  subscribeSummary(listener: () => void): () => void
  getSummary(): readonly TickerRow[]
  /** Cancels the pending frame and timer. */
  dispose(): void
}

const isUpdate = (u: unknown): u is TickerUpdate =>
  typeof u === 'object' && u !== null && typeof (u as TickerUpdate).symbol === 'string' && (u as TickerUpdate).symbol !== '' && Number.isFinite((u as TickerUpdate).value)

const directionOf = (change: number): TickerDirection => (change > 0 ? 'up' : change < 0 ? 'down' : 'unchanged')

/**
 * Makes a ticker. Updates land in a map at once; the snapshot is rebuilt once per frame, and
 * only the rows that changed get new objects, so memoized rows skip every other render.
 * @example
 * const ticker = createTicker<Quote>({ read: (q) => ({ symbol: q.symbol, value: q.price }) })
 * connection.onMessage(ticker.onMessage)
 */
export function createTicker<T>(options: TickerOptions<T> = {}): Ticker<T> {
  const { read, maxRows = 5000, summaryInterval = 10_000, now = Date.now, timers = globalTimers } = options
  const scheduleFrame = options.scheduleFrame ?? frameScheduler(timers)
  const rows = new Map<string, TickerRow>()
  const listeners = new Set<() => void>()
  const summaryListeners = new Set<() => void>()
  let snapshot: TickerSnapshot = { rows: [], updatedAt: undefined, paused: false, error: null }
  let latestAt: number | undefined
  let error: RealtimeError | null = null
  let cancelFrame: (() => void) | undefined
  let summary: readonly TickerRow[] = []
  let summaryAt = -Infinity
  let summaryTimer: unknown

  const publish = (patch: Partial<TickerSnapshot>) => {
    snapshot = { ...snapshot, ...patch }
    emit(listeners)
  }
  const flush = () => {
    cancelFrame = undefined
    if (snapshot.paused) return
    publish({ rows: [...rows.values()], updatedAt: latestAt, error })
    refreshSummary()
  }
  const schedule = () => {
    if (!cancelFrame && !snapshot.paused) cancelFrame = scheduleFrame(flush)
  }
  const refreshSummary = () => {
    // Nothing to say yet: the first rows are announced at once, not an interval later.
    if (summaryListeners.size === 0 || summary === snapshot.rows || summaryTimer !== undefined || (summary.length === 0 && snapshot.rows.length === 0)) return
    const wait = summaryAt + summaryInterval - now()
    if (wait > 0) {
      summaryTimer = timers.setTimeout(() => {
        summaryTimer = undefined
        refreshSummary()
      }, wait)
      return
    }
    summary = snapshot.rows
    summaryAt = now()
    emit(summaryListeners)
  }
  const fail = (next: RealtimeError) => {
    error = next
    schedule()
  }
  const push = (updates: TickerUpdate | readonly TickerUpdate[], raw: unknown = updates) => {
    const list: readonly unknown[] = Array.isArray(updates) ? updates : [updates]
    const bad = list.find((u) => !isUpdate(u))
    if (bad !== undefined) return fail(new RealtimeError('parse', 'LiveTicker: an update needs a non-empty string `symbol` and a finite number `value`', { raw }))
    const at = now()
    let refused = 0
    for (const { symbol, value } of list as readonly TickerUpdate[]) {
      const before = rows.get(symbol)
      if (!before && rows.size >= maxRows) {
        refused++
        continue
      }
      const change = before ? value - before.value : 0
      rows.set(symbol, { symbol, value, previous: before?.value, change, direction: directionOf(change), updatedAt: at, version: (before?.version ?? 0) + 1 })
    }
    latestAt = at
    error = refused ? new RealtimeError('overflow', `LiveTicker: more than maxRows (${maxRows}) symbols; ${refused} update(s) of new symbols were not shown`, { raw }) : null
    schedule()
  }

  return {
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    getSnapshot: () => snapshot,
    onMessage(message) {
      let updates: ReturnType<NonNullable<TickerOptions<T>['read']>>
      try {
        updates = read ? read(message.data) : (message.data as TickerUpdate | TickerUpdate[])
      } catch (thrown) {
        return fail(new RealtimeError('parse', `LiveTicker: read threw: ${String(thrown)}`, { raw: message.data, cause: thrown }))
      }
      if (updates != null) push(updates, message.data)
    },
    push: (updates) => push(updates),
    pause() {
      if (snapshot.paused) return
      cancelFrame?.()
      cancelFrame = undefined
      publish({ paused: true })
    },
    resume() {
      if (!snapshot.paused) return
      snapshot = { ...snapshot, paused: false }
      flush()
    },
    clear() {
      rows.clear()
      latestAt = undefined
      error = null
      schedule()
    },
    subscribeSummary(listener) {
      summaryListeners.add(listener)
      if (summaryListeners.size === 1) refreshSummary()
      return () => {
        summaryListeners.delete(listener)
        if (summaryListeners.size > 0) return
        timers.clearTimeout(summaryTimer)
        summaryTimer = undefined
      }
    },
    getSummary: () => summary,
    dispose() {
      cancelFrame?.()
      cancelFrame = undefined
      timers.clearTimeout(summaryTimer)
      summaryTimer = undefined
    },
  }
}
