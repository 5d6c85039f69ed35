/** The options of `createRealtimeHandler`, their defaults and their checks. */
import type { IncomingMessage } from 'node:http'
import { ServerOptionsError } from './errors.ts'
import type { AnyReplayLog } from './log.ts'

/** A channel of a realtime handler: its log and what clients may do with it. */
export interface RealtimeChannel {
  /** Where the channel's events are appended and replayed from. */
  log: AnyReplayLog
  /**
   * Whether clients may publish to it (a publish appends `JSON.stringify(data)`).
   * @defaultValue false
   */
  writable?: boolean
  /**
   * The channel's current state, sent as a `snapshot` frame to a subscription that did not
   * resume (no `since`, or a `reset`), right after `subscribed`. A throw skips it (warned).
   * @defaultValue none
   */
  snapshot?: () => unknown
}

/**
 * Finds a channel by name, for a client of the connection opened by `request` (the upgrade
 * request, or the SSE stream's GET); undefined: no such channel. Called on every subscribe
 * and publish, synchronously: keep it cheap. It must answer the same log for a name while
 * the name is in use.
 *
 * When it has `retain` / `release`, the handler calls `retain(name)` when a subscription to
 * `name` starts (before `authorize`) and `release(name)` once for each `retain`, when that
 * subscription ends (refused, unsubscribed, replaced or closed), so a store of logs made on
 * demand (see `createChannelLogs`) knows which are in use.
 */
export interface ChannelResolver {
  (name: string, request: IncomingMessage): RealtimeChannel | AnyReplayLog | undefined
  retain?(name: string): void
  release?(name: string): void
}

/** Options of `createRealtimeHandler`. */
export interface RealtimeHandlerOptions {
  /**
   * The channels: a record of logs (read-only) or channels, or a resolver that finds (or
   * makes) one by name. A name unknown here gets an `unknown-channel` error frame.
   * @example createRealtimeHandler({ channels: { quotes: createMemoryLog(), room: { log: createMemoryLog(), writable: true } }, origins: ['https://app.example.com'] })
   * @example createRealtimeHandler({ channels: createChannelLogs({ writable: true }), origins: ['https://app.example.com'] })
   */
  channels: Record<string, AnyReplayLog | RealtimeChannel> | ChannelResolver
  /**
   * Asked before each subscribe and publish, with the request that opened the connection.
   * False (or a throw, or a rejection) refuses it with an `unauthorized` error frame on that
   * channel; the connection goes on. May be async: the connection's later frames wait for
   * the answer, so their order holds.
   * @defaultValue everything allowed
   * @example createRealtimeHandler({ channels, origins, authorize: async (request, channel, action) => action === 'subscribe' || (await userOf(request))?.canWrite(channel) })
   */
  authorize?: (request: IncomingMessage, channel: string, action: 'subscribe' | 'publish') => boolean | Promise<boolean>
  /**
   * Origins allowed to connect (the WebSocket upgrade, the SSE stream) and to POST; others,
   * and requests without an `Origin`, get 403. Required when a channel can be writable (a
   * resolver counts, since it cannot be known), or any page on the web could publish through
   * a visitor's browser. `'*'` allows every origin, on purpose.
   * @defaultValue any origin, when no channel is writable
   * @example createRealtimeHandler({ channels, origins: ['https://app.example.com', 'http://localhost:5173'] })
   */
  origins?: readonly string[] | '*'
  /**
   * Largest publish `data` in bytes (as JSON); a bigger one gets a `too-large` error frame
   * and the connection goes on. Incoming WebSocket messages may be 16 times bigger (at
   * least 1 MiB) before the socket is closed with 1009, and a POST body as big (413).
   * @defaultValue 65536
   * @example createRealtimeHandler({ channels, maxPayload: 16 * 1024 })
   */
  maxPayload?: number
  /**
   * Bytes a connection may have waiting to be sent: a client that stops reading is cut past
   * it (it resumes later with `since`). Replays are paced by the socket and never count.
   * @defaultValue 1048576
   * @example createRealtimeHandler({ channels, maxBuffered: 4 * 1024 * 1024 })
   */
  maxBuffered?: number
  /**
   * ms between WebSocket protocol pings (a socket that missed the previous pong is
   * terminated) and between SSE heartbeat comments; one timer each for every client. `0` is off.
   * @defaultValue 15000
   * @example createRealtimeHandler({ channels, heartbeat: 10_000 })
   */
  heartbeat?: number
  /**
   * Under load, events go out to each connection at most once per this many ms, batched
   * into one write; `0` writes at the end of every turn of the event loop.
   * @defaultValue 16
   * @example createRealtimeHandler({ channels, batchWindow: 0 })
   */
  batchWindow?: number
  /**
   * Subscriptions one connection may hold; past it a subscribe gets `too-many`.
   * @defaultValue 1000
   * @example createRealtimeHandler({ channels, maxSubscriptions: 50 })
   */
  maxSubscriptions?: number
}

/** The options with their defaults, checked. */
export interface ResolvedOptions {
  channels: RealtimeHandlerOptions['channels']
  authorize: RealtimeHandlerOptions['authorize']
  origins: readonly string[] | '*' | undefined
  maxPayload: number
  maxBuffered: number
  heartbeat: number
  batchWindow: number
  maxSubscriptions: number
}

const API = 'createRealtimeHandler'

/** Whether `value` is a log rather than a `RealtimeChannel`. */
export function isLog(value: AnyReplayLog | RealtimeChannel): value is AnyReplayLog {
  return typeof (value as AnyReplayLog).append === 'function'
}

/** The options with their defaults; throws `ServerOptionsError` for what the handler cannot run with. */
export function resolveOptions(options: RealtimeHandlerOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') throw new ServerOptionsError(API, 'channels', 'pass an options object: createRealtimeHandler({ channels })')
  const { channels, authorize, origins } = options
  if (typeof channels !== 'function' && (typeof channels !== 'object' || channels === null)) {
    throw new ServerOptionsError(API, 'channels', '`channels` must be a record of logs or channels, or a function (name, request) => channel')
  }
  if (typeof channels === 'object') {
    for (const [name, channel] of Object.entries(channels)) {
      const log = channel && (isLog(channel) ? channel : channel.log)
      if (!log || typeof log.append !== 'function') throw new ServerOptionsError(API, 'channels', `channel ${JSON.stringify(name)} has no log`)
    }
  }
  if (authorize !== undefined && typeof authorize !== 'function') throw new ServerOptionsError(API, 'authorize', '`authorize` must be a function')
  const writable = typeof channels === 'function' || Object.values(channels).some((c) => !isLog(c) && c.writable)
  if (writable && origins === undefined) {
    throw new ServerOptionsError(
      API,
      'origins',
      `${typeof channels === 'function' ? 'a channel resolver may answer writable channels' : 'channels are writable'} but \`origins\` is not set, so any web page could publish through its visitors' browsers. ` +
        "List the pages' origins (origins: ['https://app.example.com']), or pass origins: '*' to allow every origin on purpose.",
    )
  }
  if (origins !== undefined && origins !== '*' && !(Array.isArray(origins) && origins.every((o) => typeof o === 'string'))) {
    throw new ServerOptionsError(API, 'origins', "`origins` must be a list of origins or '*'")
  }
  const number = (name: keyof RealtimeHandlerOptions, fallback: number, min: number) => {
    const value = options[name] ?? fallback
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new ServerOptionsError(API, name, `\`${name}\` must be a number of at least ${min}`)
    return value
  }
  return {
    channels,
    authorize,
    origins,
    maxPayload: number('maxPayload', 65_536, 1),
    maxBuffered: number('maxBuffered', 1_048_576, 1),
    heartbeat: number('heartbeat', 15_000, 0),
    batchWindow: number('batchWindow', 16, 0),
    maxSubscriptions: number('maxSubscriptions', 1000, 1),
  }
}
