import { closeCodeOutcome } from './close-codes'
import { type Connection, createConnection, type EngineOptions } from './connection'
import { createDecoder, type DecodeOptions } from './decode'
import { misuse, RealtimeError } from './errors'
import { streamKey } from './key'
import { reportListenerError, type Timers } from './runtime'
import type { TransportFactory } from './transport'

/** What a WebSocket can send as it is. */
export type WireData = Parameters<WebSocket['send']>[0]

/** An application-level ping, since browsers cannot send WebSocket ping frames. */
export interface HeartbeatOptions {
  /**
   * What to send; a function builds each ping (e.g. with a timestamp).
   * @defaultValue 'ping'
   */
  message?: unknown
  /**
   * ms between pings while the socket is open.
   * @defaultValue 25000
   */
  interval?: number
  /**
   * If nothing at all arrives for this long (ms), the socket is dead: it is closed and
   * replaced. It sets the engine's `idleTimeout`.
   * @defaultValue 2 × interval
   */
  timeout?: number
  /**
   * Which incoming frames are pongs. A pong proves liveness and nothing else: it never
   * reaches `onMessage`, never changes `data` and never renders.
   * @defaultValue (data) => data === 'pong'
   */
  isPong?: (data: unknown) => boolean
}

/** Every option of a WebSocket stream. */
export interface WebSocketOptions<In = unknown, Out = unknown> extends EngineOptions, DecodeOptions<In> {
  /** Subprotocols for the handshake. */
  protocols?: string | string[]
  /** `'blob'` or `'arraybuffer'` for binary frames. @defaultValue the platform's ('blob') */
  binaryType?: BinaryType
  /**
   * A socket that has not opened after this many ms is abandoned and retried.
   * @defaultValue 10000
   */
  connectTimeout?: number
  /**
   * Ping to keep the socket alive and find dead ones. Off unless given.
   * @example { heartbeat: { message: '{"type":"ping"}', isPong: (d) => d === '{"type":"pong"}' } }
   */
  heartbeat?: HeartbeatOptions
  /**
   * How many messages `send()` keeps while the socket is not open. A send beyond it is
   * refused with an `overflow` error, never dropped silently.
   * @defaultValue 1000
   */
  maxQueued?: number
  /**
   * Turns an outgoing message into wire data.
   * @defaultValue strings, ArrayBuffers, typed arrays and Blobs as they are; JSON for anything else
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
   * queue and any new send (resume from a sequence number, re-subscribe to channels…).
   * @example { onReopen: ({ lastMessage }) => [{ type: 'resume', after: lastMessage?.seq }] }
   */
  onReopen?: (info: { lastMessage: In | undefined; attempt: number }) => Out[] | void
  /**
   * Picks up a stream another socket was on (cross-tab sharing uses it when a tab takes the
   * lead): the first open counts as a reopen, and `onReopen` gets this `lastMessage`.
   */
  resume?: { lastMessage: In | undefined }
  /** Extra identity, to keep two uses of one URL apart. */
  key?: string
  /** Injectable constructor. @defaultValue globalThis.WebSocket */
  WebSocket?: typeof WebSocket
}

/** Where a message given to `send()` went. */
export type SendResult = 'sent' | 'queued' | 'rejected'

/** A WebSocket stream: a connection that can also send. */
export interface WebSocketConnection<In, Out> extends Connection<In> {
  /**
   * Sends now if the socket is open, else queues (in order, bounded by `maxQueued`; also
   * after `close()`, until `reconnect()`). `'sent'` means handed to the open socket: if the
   * server closes at that moment the browser may drop it, as no socket API can tell. For
   * at-least-once delivery, have the server acknowledge messages and send the
   * unacknowledged ones again from `onReopen`.
   */
  send(message: Out): SendResult
  /** Stops, and returns the messages still queued (they will not be sent). */
  close(): Out[]
}

/** The identity of a WebSocket stream (see `eventSourceKey`). A url function needs a `key`. */
export function webSocketKey(url: string | (() => unknown), options: WebSocketOptions<any, any> = {}): string {
  if (typeof url === 'function' && !options.key) {
    throw misuse('useWebSocket', 'a url function needs a `key` option naming the stream (a function cannot be told apart by identity)')
  }
  return streamKey('ws', { ...options, url: typeof url === 'function' ? 'fn' : url, schema: undefined, environment: undefined, resume: undefined })
}

/**
 * A framework-free, reconnecting WebSocket on the tabwire engine. Call `connect()` to start.
 * @param url - a URL, or a function (possibly async) called on every connect, so a token
 *   in the query string is fresh on every reconnect.
 * @example
 * const chat = createWebSocket<ChatIn, ChatOut>('wss://example.com/chat', { json: true })
 * chat.onMessage((m) => show(m.data))
 * chat.connect()
 * chat.send({ type: 'say', text: 'hi' }) // queued until the socket is open
 */
export function createWebSocket<In = unknown, Out = unknown>(
  url: string | (() => string | Promise<string>),
  options: WebSocketOptions<In, Out> = {},
): WebSocketConnection<In, Out> {
  if (!url) throw misuse('createWebSocket', 'expected a url or a function that returns one')
  const timers = options.timers ?? (globalThis as Timers)
  const { heartbeat, maxQueued = 1000 } = options
  const isPong = heartbeat?.isPong ?? ((data: unknown) => data === 'pong')
  const queue: [Out, WireData][] = []
  let socket: WebSocket | undefined
  let lastMessage = options.resume?.lastMessage
  let opened = !!options.resume

  /** Runs a user callback; a throw is reported (never breaks the socket) and gives undefined. */
  const safely = <R>(callback: () => R): R | undefined => {
    try {
      return callback()
    } catch (thrown) {
      reportListenerError(thrown)
    }
  }
  const serialize = (message: unknown): WireData =>
    options.serialize
      ? options.serialize(message as Out)
      : typeof message === 'string' || message instanceof ArrayBuffer || ArrayBuffer.isView(message) || (typeof Blob === 'function' && message instanceof Blob)
        ? (message as WireData)
        : JSON.stringify(message)

  const transport: TransportFactory = ({ sink, attempt }) => {
    let ws: WebSocket | undefined
    let closed = false
    let timer: unknown
    const wait = (ms: number, then: () => void) => (timer = timers.setTimeout(then, ms))
    const stop = () => {
      closed = true
      timers.clearTimeout(timer)
      if (socket === ws) socket = undefined
    }
    const fail = (error: RealtimeError, retryable: boolean) => {
      if (closed) return
      stop()
      ws?.close()
      sink.fail(error, retryable)
    }
    const ping = () =>
      wait(heartbeat!.interval ?? 25_000, () => {
        const message = heartbeat!.message ?? 'ping'
        safely(() => ws!.send(serialize(typeof message === 'function' ? message() : message)))
        ping()
      })

    // The connect clock runs from the start, so a url function that never settles is
    // abandoned too.
    wait(options.connectTimeout ?? 10_000, () => fail(new RealtimeError('timeout', 'the socket did not open in time'), true))
    Promise.resolve()
      .then(() => (typeof url === 'function' ? url() : url))
      .then((href) => {
        if (closed) return
        const s = (ws = new (options.WebSocket ?? WebSocket)(href, options.protocols))
        if (options.binaryType) s.binaryType = options.binaryType
        s.onopen = () => {
          timers.clearTimeout(timer)
          // Resume messages first, then the queue in order; new sends follow once open.
          // A throwing onReopen is reported and skipped: it must not hold the stream.
          if (opened) safely(() => options.onReopen?.({ lastMessage, attempt })?.forEach((m) => s.send(serialize(m))))
          opened = true
          for (const [, data] of queue.splice(0)) s.send(data)
          socket = s
          sink.open()
          if (heartbeat) ping()
        }
        s.onmessage = (event) => {
          if (safely(() => isPong(event.data))) sink.activity()
          else sink.message({ data: event.data, event: 'message', id: undefined })
        }
        s.onclose = (event) => {
          // A close tabwire asked for (close(), a replaced socket) is not the server's.
          if (closed) return
          const kind = closeCodeOutcome(event.code)
          const verdict = options.shouldReconnect && safely(() => options.shouldReconnect!(event))
          const retry = typeof verdict === 'boolean' ? verdict : !kind
          const text = `the socket closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`
          fail(new RealtimeError((!retry && kind) || 'network', text, { status: event.code }), retry)
        }
      })
      // The thrown text may quote the URL (and a token in it): it stays in `cause` only.
      .catch((thrown: unknown) => fail(new RealtimeError('network', 'the socket could not be opened', { cause: thrown }), true))

    return {
      close() {
        if (closed) return
        stop()
        ws?.close(1000)
      },
    }
  }

  const connection = createConnection<In>({
    ...options,
    idleTimeout: options.idleTimeout ?? (heartbeat ? (heartbeat.timeout ?? 2 * (heartbeat.interval ?? 25_000)) : 0),
    transport,
    decode: createDecoder(options),
  })
  connection.onMessage((message) => void (lastMessage = message.data))

  return {
    ...connection,
    send(message) {
      const data = serialize(message)
      if (socket?.readyState === 1 && !queue.length) {
        socket.send(data)
        return 'sent'
      }
      if (queue.length >= maxQueued) {
        connection.report(new RealtimeError('overflow', `the send queue is full (${maxQueued}); the message was not queued`))
        return 'rejected'
      }
      queue.push([message, data])
      return 'queued'
    },
    close() {
      connection.close()
      return queue.splice(0).map(([message]) => message)
    },
  }
}
