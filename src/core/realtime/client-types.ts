import type { ConnectionSnapshot, EngineOptions, RealtimeMessage } from '../connection-types'
import type { RealtimeError } from '../errors'
import type { ConnectionStatus } from '../machine'
import type { ShareMode } from '../share'
import type { TabShareInjectables } from '../tabs/types'
import type { SendResult } from '../web-socket-options'
import type { RealtimeTransportKind, RealtimeTransportOptions } from './transport-types'

/** Options of {@link createRealtime}. */
export interface RealtimeOptions extends EngineOptions, RealtimeTransportOptions {
  /**
   * The realtime endpoint (`createRealtimeHandler` of tabwire/server): one url for the
   * WebSocket and for SSE with POST. Relative urls resolve against the page. A function is
   * called on every connect (a fresh token in the query string); it needs `key`.
   * @example { url: '/realtime' }
   */
  url: string | (() => string | Promise<string>)
  /**
   * Names the connection when `url` is a function (tabs share a connection by url and key).
   * @defaultValue none
   * @example { url: () => `/realtime?token=${token()}`, key: 'realtime' }
   */
  key?: string
  /**
   * Who shares the connection: `'tabs'` (one per browser, every tab's channels on it),
   * `'tab'` (this client only) or `false` (the same as `'tab'` for a client). Options mean
   * `'tabs'` with a namespace, heartbeat or timeout of their own (and, in tests, injected
   * locks and channels).
   * @defaultValue 'tabs'
   * @example { share: 'tab' }
   */
  share?: ShareMode | (ShareMode & TabShareInjectables)
  /**
   * How long (ms) a channel stays subscribed after its last user in this tab let go, so a
   * remount does not unsubscribe and subscribe again.
   * @defaultValue 1000
   */
  grace?: number
  /**
   * Publishes that may wait for the server's acknowledgement; one more is `'rejected'` with
   * an `overflow` error.
   * @defaultValue 1000
   */
  maxQueued?: number
  /**
   * The largest publish, in characters of its JSON; a larger one is `'rejected'` with a
   * `protocol` error (the server's `maxPayload` is 65536 by default).
   * @defaultValue 65536
   */
  maxPublishSize?: number
}

/** Where the realtime connection is. */
export interface RealtimeSnapshot extends Pick<ConnectionSnapshot<unknown>, 'retryAt' | 'paused' | 'role'> {
  readonly status: ConnectionStatus
  /** The connection's latest error. */
  readonly error: RealtimeError | null
  /** Failed attempts since the connection last stayed up for `minUptime`. */
  readonly attempt: number
  /** The transport carrying the channels: the last link's (known once one opened; kept while reconnecting). */
  readonly transport: RealtimeTransportKind | undefined
}

/** A channel the server could not resume: what it missed is gone, so refetch what depends on it. */
export interface ChannelReset {
  readonly channel: string
  /**
   * Why: the server's `ResetReason` (`epoch`: its log was replaced; `expired`: the cursor is
   * older than what it keeps…), or `gap`: this tab was away or stalled longer than the
   * leader tab remembers, so it missed events of every channel it holds.
   */
  readonly reason: string
  /** The log's new epoch (empty for `gap`). */
  readonly epoch: string
}

/** A channel's message: its data, and whether it is the snapshot the server sent on subscribe. */
export interface ChannelMessage<T> extends RealtimeMessage<T> {
  readonly channel: string
  /** True for the server's snapshot of the channel's state (sent when a subscription did not resume). */
  readonly snapshot: boolean
}

/** One channel as a tab sees it. Immutable; keeps its identity until something changes. */
export interface ChannelSnapshot<T> extends RealtimeSnapshot {
  /** The latest message's data (or the snapshot's). */
  readonly data: T | undefined
  /** The id of the latest event. */
  readonly lastEventId: string | undefined
  /** The channel's own error (refused, unknown…), else the connection's. */
  readonly error: RealtimeError | null
  /** The latest reset of this channel, if any. */
  readonly reset: ChannelReset | null
}

/** A hold on a channel: subscribed while any hold on it in any tab is. */
export interface RealtimeChannel<T = unknown, Out = unknown> {
  readonly name: string
  subscribe(listener: () => void): () => void
  getSnapshot(): ChannelSnapshot<T>
  /** Every message, synchronously and in order (never coalesced). */
  onMessage(listener: (message: ChannelMessage<T>) => void): () => void
  /** Every reset of the channel. */
  onReset(listener: (reset: ChannelReset) => void): () => void
  /** Every error of the channel (and of the connection). */
  onError(listener: (error: RealtimeError) => void): () => void
  /**
   * Publishes `data` to the channel (it must be writable on the server). `'sent'`: handed to
   * the open link; `'queued'`: it goes once there is one (through the leader tab); sent again
   * after a reconnect or a leader change until the server acknowledges it, and taken once.
   * `'rejected'`: the queue is full or the data too large (reported to `onError`).
   * With `{ ack: true }`, a promise of the id the server gave it instead.
   * @example chat.publish({ text: 'hi' })
   * @example const id = await chat.publish({ text: 'hi' }, { ack: true })
   */
  publish(data: Out): SendResult
  publish(data: Out, options: { ack: true }): Promise<string>
  /** Lets go of the channel (idempotent): listeners added through this hold are removed. */
  release(): void
}

/** A realtime client: many channels on one connection per browser. */
export interface RealtimeClient {
  /**
   * Takes a hold on a channel; the channel is subscribed (once, for every tab) while any
   * hold on it is. Misuse (a name that is not a non-empty string of at most 256
   * characters) throws.
   * @example const prices = realtime.channel<Quote>('prices:ACME'); prices.onMessage(show)
   */
  channel<T = unknown, Out = unknown>(name: string): RealtimeChannel<T, Out>
  /**
   * A channel's snapshot in this tab without taking a hold: undefined while nobody here
   * holds it and its `grace` is over (a hook reads this before it subscribes).
   */
  peek<T = unknown>(name: string): ChannelSnapshot<T> | undefined
  subscribe(listener: () => void): () => void
  getSnapshot(): RealtimeSnapshot
  /** Every error of the connection. */
  onError(listener: (error: RealtimeError) => void): () => void
  /** Starts again now, also after a final error or `close()`. */
  reconnect(): void
  /**
   * Closes the connection (this tab's part of it: another tab takes the lead) and rejects
   * the publishes waiting for an acknowledgement. Holds stay and show `closed`; nothing
   * connects again, not even a new hold or a publish (`'queued'` until then), until `reconnect()`.
   */
  close(): void
}
