import { type Connection, createConnection } from './connection'
import { createDecoder } from './decode'
import { misuse, RealtimeError } from './errors'
import { checkWebSocket } from './key'
import type { SendOptions, SendResult, WebSocketOptions, WireData } from './web-socket-options'
import { safely, type SocketHost, socketUrlProblem, webSocketTransport } from './web-socket-transport'

declare const process: { env: Record<string, string | undefined> }

export type { HeartbeatOptions, SendOptions, SendResult, WebSocketOptions, WireData } from './web-socket-options'
// The identity of a WebSocket stream lives with the other keys and checks (by whitelist).
export { webSocketKey } from './key'

/** A WebSocket stream: a connection that can also send. */
export interface WebSocketConnection<In, Out> extends Connection<In> {
  /**
   * Sends now if the socket is open, else queues (in order, bounded by `maxQueued`; also
   * after `close()`, until `reconnect()`). Never throws: a message that cannot be queued
   * (`overflow`) or serialized (`protocol`, the throw as `cause`) is `'rejected'` and
   * reported where `options.report` says. `'sent'` means handed to the open socket:
   * if the server closes at that moment the browser may drop it, as no socket API can tell.
   * For at-least-once delivery, have the server acknowledge messages and send the
   * unacknowledged ones again from `onReopen`.
   */
  send(message: Out, options?: SendOptions): SendResult
  /** Stops, and returns the messages still queued (they will not be sent). */
  close(): Out[]
}

/** The default serializer: binary and text as they are, JSON for the rest. */
function toWire(message: unknown): WireData {
  const binary = message instanceof ArrayBuffer || ArrayBuffer.isView(message) || (typeof Blob === 'function' && message instanceof Blob)
  if (typeof message === 'string' || binary) return message as WireData
  const json: unknown = JSON.stringify(message)
  if (typeof json !== 'string') throw new TypeError(`JSON.stringify gave ${String(json)} for a ${typeof message}`)
  return json
}

/**
 * A framework-free, reconnecting WebSocket on the tabwire engine. Call `connect()` to start.
 * A url string that a WebSocket cannot open (malformed, relative with no page to resolve it
 * against, a scheme other than ws:, wss:, http: or https:) throws at once. A url function's
 * result that is one is a final `protocol` error: closed, not retried, until `reconnect()`.
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
  if (typeof url !== 'function') {
    // What the inputs alone tell (see checkWebSocket), then what only the runtime can: a
    // page to resolve a relative url against.
    checkWebSocket(url)
    if (socketUrlProblem(url)) throw misuse('createWebSocket', 'url', process.env.NODE_ENV !== 'production' && `a relative url (${url}) needs a page to resolve against; give an absolute url here`)
  }
  const maxQueued = options.maxQueued ?? 1000
  const serialize = (message: unknown): WireData => (options.serialize ? options.serialize(message as Out) : toWire(message))
  const queue: [Out, WireData][] = []
  let lastMessage = options.resume?.lastMessage
  let reopen = !!options.resume
  /** Hands wire data to an open socket; a throw refuses it. */
  const write = (socket: WebSocket, data: WireData) => {
    try {
      socket.send(data)
    } catch (thrown) {
      return new RealtimeError('protocol', 'the socket refused the message; it was not sent', { cause: thrown })
    }
  }

  const host: SocketHost = {
    socket: undefined,
    serialize,
    opened(socket, attempt, lastEventId) {
      // Resume messages first, then the queue in order; new sends follow once open.
      // A throwing onReopen is reported and skipped: it must not hold the stream.
      if (reopen) safely(() => options.onReopen?.({ lastMessage, lastEventId, attempt })?.forEach((m) => socket.send(serialize(m))))
      reopen = true
      for (const [, data] of queue.splice(0)) {
        const refused = write(socket, data)
        if (refused) connection.report(refused)
      }
      host.socket = socket
    },
  }

  const connection = createConnection<In>({
    ...options,
    idleTimeout: options.idleTimeout ?? (options.heartbeat ? (options.heartbeat.timeout ?? 2 * (options.heartbeat.interval ?? 25_000)) : 0),
    transport: webSocketTransport(url, options, host),
    decode: createDecoder(options),
    lastEventId: options.resume?.lastEventId,
  })
  connection.onMessage((message) => void (lastMessage = message.data))

  return {
    ...connection,
    send(message, sendOptions) {
      const refuse = (error: RealtimeError) => {
        const report = sendOptions?.report ?? true
        if (typeof report === 'function') safely(() => report(error))
        else if (report) connection.report(error)
        return 'rejected' as const
      }
      let data: WireData
      try {
        data = serialize(message)
      } catch (thrown) {
        return refuse(new RealtimeError('protocol', 'the message could not be serialized; it was not sent', { cause: thrown }))
      }
      const socket = host.socket
      if (socket?.readyState === 1 && !queue.length) {
        const refused = write(socket, data)
        return refused ? refuse(refused) : 'sent'
      }
      if (queue.length >= maxQueued) return refuse(new RealtimeError('overflow', `the send queue is full (${maxQueued}); the message was not queued`))
      queue.push([message, data])
      return 'queued'
    },
    close() {
      connection.close()
      return queue.splice(0).map(([message]) => message)
    },
  }
}
