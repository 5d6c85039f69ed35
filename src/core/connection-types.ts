import type { BackoffOptions } from './backoff'
import type { Environment } from './environment'
import type { RealtimeError } from './errors'
import type { ConnectionStatus, PauseReason } from './machine'
import type { FrameScheduler, Timers } from './runtime'
import type { TransportFactory, WireMessage } from './transport'

/** A decoded message, as `onMessage` listeners get it. */
export interface RealtimeMessage<T> {
  data: T
  /** The event type (`message` unless the server named one). */
  event: string
  /**
   * The message's id, as its transport gives it (see `WireMessage.id`): for SSE the stream's
   * last event id when this message arrived (what `MessageEvent.lastEventId` reports).
   */
  id: string | undefined
  /** The payload before decoding. */
  raw: unknown
}

/** What a connection looks like now. Immutable; keeps its identity until something changes. */
export interface ConnectionSnapshot<T> {
  readonly status: ConnectionStatus
  /** The latest decoded message's data. */
  readonly data: T | undefined
  /** The last event id seen, sent as `Last-Event-ID` on reconnect. */
  readonly lastEventId: string | undefined
  /** The latest error; cleared when the connection opens (or, for `parse`, by the next good message). */
  readonly error: RealtimeError | null
  /** Failed attempts since the connection last stayed up for `minUptime`. */
  readonly attempt: number
  /**
   * When the next attempt starts (ms on the `now` clock, `Date.now` by default) after a
   * failure, while `reconnecting`: set with the failure, it stays until that attempt opens
   * or fails (so it is past while the attempt runs). `null` otherwise, also while an
   * attempt started by `reconnect()` or a return online runs. Time left is
   * `retryAt - Date.now()`. In a follower tab it is the leader tab's (the tabs of a browser
   * share its clock).
   * @example
   * const { status, retryAt } = useEventSource('/api/quotes')
   * if (retryAt !== null) console.log(`retrying in ${Math.ceil((retryAt - Date.now()) / 1000)} s`)
   */
  readonly retryAt: number | null
  /**
   * Why the connection is `paused`: `offline`, `hidden` (with `pauseWhenHidden`) or
   * `pagehide` (in the back/forward cache); `null` in every other status. When several
   * hold, the one that came first (it changes as each lifts). In a follower tab, the
   * leader tab's.
   * @example
   * const { status, paused } = useEventSource('/api/quotes')
   * if (paused === 'offline') return <p>You are offline; the stream resumes when you are back.</p>
   */
  readonly paused: PauseReason | null
  /** This tab's part in the connection (see {@link TabRole}). @example const { role } = useEventSource('/api/quotes') // 'leader' */
  readonly role: TabRole
}

/**
 * This tab's part in a connection shared across tabs (`share: 'tabs'`):
 * - `leader`: this tab holds the connection and relays it to the other tabs;
 * - `follower`: another tab's connection serves this one;
 * - `solo`: this tab is on its own: sharing is off (`share: 'tab'` or `false`) or unavailable
 *   (no Web Locks or BroadcastChannel, a sandboxed frame), or this tab does not know yet
 *   (from connecting until it leads or hears the leader, a task or so), or it is closed.
 * @example const badge = { leader: 'Leads', follower: 'Follows', solo: 'Own' }[snapshot.role]
 */
export type TabRole = 'leader' | 'follower' | 'solo'

/** Engine options shared by every transport. */
export interface EngineOptions extends BackoffOptions {
  /**
   * Retries before giving up with a `max-retries` error. `reconnect()` starts again.
   * @defaultValue Infinity
   * @example { maxRetries: 10 }
   */
  maxRetries?: number
  /**
   * How long (ms) a connection must stay open before the attempt count resets, so a
   * server that accepts and drops at once still backs off.
   * @defaultValue 5000
   * @example { minUptime: 10_000 }
   */
  minUptime?: number
  /**
   * If no bytes at all (messages or comments) arrive for this long (ms), the connection is
   * dead: it is dropped with a `timeout` error and reconnected. `0` turns it off. Keep it
   * above the server's heartbeat interval (tabwire/server sends one every 15 s). The native
   * EventSource cannot see comments or unlisted event types: there only messages count,
   * so it is off by default.
   * @defaultValue 45000 (fetch SSE); 0 (native EventSource, and WebSocket without `heartbeat`)
   * @example { idleTimeout: 60_000 }
   */
  idleTimeout?: number
  /**
   * Pause while the page is hidden: `true` at once, a number after that many ms hidden.
   * The connection comes back at once when the page is visible again.
   * @defaultValue false
   * @example { pauseWhenHidden: 60_000 } // let go of the stream after a minute in a background tab
   */
  pauseWhenHidden?: boolean | number
  /**
   * Called on a 401/403. Refresh credentials and resolve `true` to try once more, or
   * `false` to stay closed with the `auth` error.
   * @defaultValue none: an auth error is final until `reconnect()`
   * @example { onAuthError: async () => { await refreshToken(); return true } }
   */
  onAuthError?: (error: RealtimeError) => boolean | Promise<boolean>
  /**
   * Injectable timers (tests, odd runtimes).
   * @defaultValue globalThis timers
   * @example { timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout } }
   */
  timers?: Timers
  /**
   * Injectable clock, in ms.
   * @defaultValue Date.now
   * @example { now: () => performance.timeOrigin + performance.now() }
   */
  now?: () => number
  /**
   * Injectable random in `[0, 1)` for the jitter.
   * @defaultValue Math.random
   * @example { random: () => 0.5 } // every delay half-way up its range
   */
  random?: () => number
  /**
   * Where network and page signals come from.
   * @defaultValue the global scope's (see `globalEnvironment`)
   * @example { environment: { current: () => [], subscribe: () => () => {} } } // ignore them
   */
  environment?: Environment
  /**
   * Schedules a coalesced render flush; it must call back later, never synchronously.
   * @defaultValue requestAnimationFrame, else a 16 ms timer
   * @example { scheduleFrame: (flush) => { const t = setTimeout(flush, 100); return () => clearTimeout(t) } }
   */
  scheduleFrame?: FrameScheduler
}

/** What `createConnection` needs: the engine options and a transport. */
export interface ConnectionConfig<T> extends EngineOptions {
  /**
   * Opens one attempt; called for every (re)connection.
   * @example { transport: fetchTransport('/api/quotes') }
   */
  transport: TransportFactory
  /**
   * Turns a wire message into data. A throw becomes a `parse` error (with the message's
   * id); the stream goes on.
   * @defaultValue the payload as it is
   * @example { decode: (m) => JSON.parse(m.data as string) as Quote }
   */
  decode?: (message: WireMessage) => T
  /**
   * Which event types are messages; others only prove the connection alive (and never
   * reach `onWire`).
   * @defaultValue every type
   * @example { accepts: (event) => event === 'quote' }
   */
  accepts?: (event: string) => boolean
  /**
   * An id to resume from on the first connection.
   * @defaultValue none
   * @example { lastEventId: localStorage.getItem('quotes:last') ?? undefined }
   */
  lastEventId?: string
}

/** One stream: an observable snapshot, message and error listeners, and lifecycle calls. */
export interface Connection<T> {
  /** Listens for snapshot changes (data changes are coalesced to one per frame). */
  subscribe(listener: () => void): () => void
  getSnapshot(): ConnectionSnapshot<T>
  /** Listens for every message, synchronously and in order, never coalesced. */
  onMessage(listener: (message: RealtimeMessage<T>) => void): () => void
  /**
   * Listens for every message the connection accepts off the wire (after `accepts`, before
   * decoding, with its id), synchronously and in order: also one that then fails to decode.
   * A listener hears it before `onMessage` listeners do. The cross-tab layer relays from here.
   * @example connection.onWire((m) => channel.postMessage(m))
   */
  onWire(listener: (message: WireMessage) => void): () => void
  /** Listens for every error as it happens. */
  onError(listener: (error: RealtimeError) => void): () => void
  /**
   * Reports an error that is not the connection's own (a bad message, a full send queue):
   * it goes to the snapshot and to `onError` listeners; the connection goes on.
   */
  report(error: RealtimeError): void
  /** Starts, if idle or closed. */
  connect(): void
  /**
   * Starts again now with the attempt count reset: works in every status. Like every
   * attempt it keeps to the rate bound (4 in any second): past it, it waits its turn.
   */
  reconnect(): void
  /** Stops and cancels every timer. */
  close(): void
}
