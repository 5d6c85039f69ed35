import type { EngineOptions } from './connection'
import type { DecodeOptions } from './decode'
import type { RealtimeError } from './errors'

/** What a WebSocket can send as it is. */
export type WireData = Parameters<WebSocket['send']>[0]

/** An application-level ping, since browsers cannot send WebSocket ping frames. */
export interface HeartbeatOptions {
  /**
   * What to send; a function builds each ping (e.g. with a timestamp).
   * @defaultValue 'ping'
   * @example { message: () => ({ type: 'ping', at: Date.now() }) }
   */
  message?: unknown
  /**
   * ms between pings while the socket is open.
   * @defaultValue 25000
   * @example { interval: 10_000 }
   */
  interval?: number
  /**
   * If nothing at all arrives for this long (ms), the socket is dead: it is closed and
   * replaced. It sets the engine's `idleTimeout`.
   * @defaultValue 2 × interval
   * @example { interval: 10_000, timeout: 15_000 }
   */
  timeout?: number
  /**
   * Which incoming frames are pongs. A pong proves liveness and nothing else: it never
   * reaches `onMessage`, never changes `data` and never renders.
   * @defaultValue (data) => data === 'pong'
   * @example { isPong: (data) => data === '{"type":"pong"}' }
   */
  isPong?: (data: unknown) => boolean
}

/** Every option of a WebSocket stream. */
export interface WebSocketOptions<In = unknown, Out = unknown> extends EngineOptions, DecodeOptions<In> {
  /**
   * Subprotocols for the handshake.
   * @defaultValue none
   * @example { protocols: ['chat.v2', 'chat.v1'] }
   */
  protocols?: string | string[]
  /**
   * `'blob'` or `'arraybuffer'` for binary frames.
   * @defaultValue the platform's ('blob')
   * @example { binaryType: 'arraybuffer' }
   */
  binaryType?: BinaryType
  /**
   * A socket that has not opened after this many ms is abandoned and retried.
   * @defaultValue 10000
   * @example { connectTimeout: 5000 }
   */
  connectTimeout?: number
  /**
   * Ping to keep the socket alive and find dead ones.
   * @defaultValue off
   * @example { heartbeat: { message: '{"type":"ping"}', isPong: (d) => d === '{"type":"pong"}' } }
   */
  heartbeat?: HeartbeatOptions
  /**
   * How many messages `send()` keeps while the socket is not open. A send beyond it is
   * refused with an `overflow` error, never dropped silently.
   * @defaultValue 1000
   * @example { maxQueued: 100 }
   */
  maxQueued?: number
  /**
   * The largest incoming message: characters (UTF-16 code units) for a text frame, bytes for
   * a binary one. A larger message is skipped: not delivered, reported as a `protocol`
   * error (with its id, if `messageId` gives one), and the stream goes on.
   * @defaultValue 1048576 (1 MiB)
   * @example { maxMessageSize: 64 * 1024 }
   */
  maxMessageSize?: number
  /**
   * The identity of an incoming message, read from its raw wire data (before `json` and
   * `parse`). It becomes the message's `id` and the stream's `lastEventId` (which `onReopen`
   * gets), and lets the cross-tab layer pass each message on exactly once when another tab
   * takes the stream over. A message without one has `id: undefined` (ids do not stick from
   * one message to the next, as SSE ids do). A throw, or a result that is not a string or a
   * number, means no id.
   * @defaultValue none: messages have no id
   * @example { messageId: (raw) => JSON.parse(raw as string).seq }
   */
  messageId?: (raw: unknown) => string | undefined
  /**
   * Turns an outgoing message into wire data. A throw refuses the message (see `send`).
   * @defaultValue strings, ArrayBuffers, typed arrays and Blobs as they are; JSON for anything else
   * @example { serialize: (m) => msgpack.encode(m) }
   */
  serialize?: (message: Out) => WireData
  /**
   * Decides, from the close event, whether to reconnect; replaces the close-code table
   * (see `closeCodeOutcome`). A close your code asked for never reconnects.
   * @defaultValue the close-code table
   * @example { shouldReconnect: (e) => e.code !== 4000 }
   */
  shouldReconnect?: (event: CloseEvent) => boolean
  /**
   * Called when a socket opens after the first one: returns messages to send before the
   * queue and any new send (resume after the last message or id, re-subscribe to channels…).
   * `lastEventId` is the last id `messageId` gave.
   * @defaultValue none
   * @example { onReopen: ({ lastEventId }) => [{ type: 'resume', after: lastEventId }] }
   */
  onReopen?: (info: { lastMessage: In | undefined; lastEventId: string | undefined; attempt: number }) => Out[] | void
  /**
   * Picks up a stream another socket was on (cross-tab sharing uses it when a tab takes the
   * lead): the first open counts as a reopen, and `onReopen` gets this `lastMessage` and
   * `lastEventId`.
   * @defaultValue none: the first open is not a reopen
   * @example { resume: { lastMessage: saved.message, lastEventId: saved.id } }
   */
  resume?: { lastMessage?: In | undefined; lastEventId?: string | undefined }
  /**
   * Extra identity, to keep two uses of one URL apart.
   * @defaultValue none
   * @example { key: 'chat-admin' }
   */
  key?: string
  /**
   * Injectable constructor.
   * @defaultValue globalThis.WebSocket
   * @example { WebSocket: (await import('ws')).WebSocket as unknown as typeof WebSocket }
   */
  WebSocket?: typeof WebSocket
}

/** Where a message given to `send()` went. */
export type SendResult = 'sent' | 'queued' | 'rejected'

/** Options of one `send()`. */
export interface SendOptions {
  /**
   * Where a refused message (a full queue, a failed `serialize`) is reported: `true`, to the
   * snapshot and `onError`; `false`, nowhere (the caller reports it); a function, to it
   * instead. The cross-tab layer uses a function to report another tab's refused send only
   * in the tab that sent it, with the error itself.
   * @defaultValue true
   * @example chat.send(message, { report: (error) => toast(error.message) })
   */
  report?: boolean | ((error: RealtimeError) => void)
}
