import { closeCodeOutcome } from './close-codes'
import { RealtimeError } from './errors'
import { checkWebSocket } from './key'
import { reportListenerError, type Timers } from './runtime'
import type { TransportFactory } from './transport'
import type { WebSocketOptions, WireData } from './web-socket-options'

/** What the sockets of one stream share with its sending side (see createWebSocket). */
export interface SocketHost {
  /** The open socket that takes sends now; a socket clears it when it goes. */
  socket: WebSocket | undefined
  /** Turns an outgoing message (here: a heartbeat) into wire data; may throw. */
  serialize(message: unknown): WireData
  /**
   * A socket opened: it sends what must go first (resume messages, then the queue) and
   * becomes `socket`, before the engine hears of the open.
   */
  opened(socket: WebSocket, attempt: number, lastEventId: string | undefined): void
}

/** Runs a user callback; a throw is reported (never breaks the socket) and gives undefined. */
export function safely<R>(callback: () => R): R | undefined {
  try {
    return callback()
  } catch (thrown) {
    reportListenerError(thrown)
  }
}

/**
 * Why `href` is not a url a WebSocket can open, or undefined if it is one: it must parse,
 * absolute or relative to the page, with a ws:, wss:, http: or https: scheme (browsers
 * map http(s) to ws(s)); see {@link checkWebSocket}, which checks the url as resolved here.
 * @see https://websockets.spec.whatwg.org/#dom-websocket-websocket
 */
export function socketUrlProblem(href: unknown): TypeError | undefined {
  try {
    checkWebSocket(new URL(href as string, (globalThis as { location?: { href?: string } }).location?.href).href)
  } catch (thrown) {
    return thrown instanceof TypeError ? thrown : new TypeError(String(thrown))
  }
}

/** A frame's size: characters (UTF-16 code units) for text, bytes for binary. */
function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength
  return typeof Blob === 'function' && data instanceof Blob ? data.size : 0
}

/**
 * One socket per attempt: resolves the url, opens within `connectTimeout`, pings, skips
 * oversized frames, gives each message its id, and turns closes into failures by the
 * close-code table.
 */
export function webSocketTransport(
  url: string | (() => string | Promise<string>),
  options: WebSocketOptions<any, any>,
  host: SocketHost,
): TransportFactory {
  const timers = options.timers ?? (globalThis as Timers)
  const { heartbeat, maxMessageSize = 1_048_576, messageId } = options
  const isPong = heartbeat?.isPong ?? ((data: unknown) => data === 'pong')
  /** The message's own id; a throw, or anything but a string or a number, is none. */
  const idOf = (raw: unknown): string | undefined => {
    if (!messageId) return undefined
    try {
      const id: unknown = messageId(raw)
      return (typeof id === 'string' && id) || (typeof id === 'number' && Number.isFinite(id)) ? String(id) : undefined
    } catch {
      return undefined
    }
  }

  return ({ sink, attempt, lastEventId }) => {
    let ws: WebSocket | undefined
    let closed = false
    let timer: unknown
    const wait = (ms: number, then: () => void) => (timer = timers.setTimeout(then, ms))
    const stop = () => {
      closed = true
      timers.clearTimeout(timer)
      if (host.socket === ws) host.socket = undefined
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
        safely(() => ws!.send(host.serialize(typeof message === 'function' ? message() : message)))
        ping()
      })
    const receive = (data: unknown) => {
      const oversized = sizeOf(data) > maxMessageSize
      if (!oversized && safely(() => isPong(data))) return sink.activity()
      const id = idOf(data)
      if (id !== undefined) sink.lastEventId(id)
      if (!oversized) return sink.message({ data, event: 'message', id })
      // An oversized frame is skipped, not fatal: replacing the socket would only have the
      // server send it again. It still proves the socket alive, and its id counts as seen.
      sink.activity()
      sink.report(new RealtimeError('protocol', `a message passed maxMessageSize (${maxMessageSize}) and was skipped`, { id }))
    }
    const start = (href: unknown) => {
      if (closed) return
      // A url the browser would refuse (or a socket it refuses to make, e.g. for a bad
      // subprotocol or a blocked port) fails the same way on every try: final, not retried.
      // Its text may quote the url (and a token in it): it stays in `cause` only.
      const problem = socketUrlProblem(href)
      if (problem) return fail(new RealtimeError('protocol', 'the url function gave a url a WebSocket cannot open', { cause: problem }), false)
      try {
        ws = new (options.WebSocket ?? WebSocket)(href as string, options.protocols)
      } catch (thrown) {
        return fail(new RealtimeError('protocol', 'the WebSocket constructor refused the url or protocols', { cause: thrown }), false)
      }
      const s = ws
      if (options.binaryType) s.binaryType = options.binaryType
      s.onopen = () => {
        timers.clearTimeout(timer)
        host.opened(s, attempt, lastEventId)
        sink.open()
        if (heartbeat) ping()
      }
      s.onmessage = (event) => receive(event.data)
      s.onclose = (event) => {
        // A close tabwire asked for (close(), a replaced socket) is not the server's.
        if (closed) return
        const kind = closeCodeOutcome(event.code)
        const verdict = options.shouldReconnect && safely(() => options.shouldReconnect!(event))
        const retry = typeof verdict === 'boolean' ? verdict : !kind
        const text = `the socket closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`
        fail(new RealtimeError((!retry && kind) || 'network', text, { status: event.code }), retry)
      }
    }

    // The connect clock runs from the start, so a url function that never settles is
    // abandoned too.
    wait(options.connectTimeout ?? 10_000, () => fail(new RealtimeError('timeout', 'the socket did not open in time'), true))
    Promise.resolve()
      .then(() => (typeof url === 'function' ? url() : url))
      .then(start)
      .catch((thrown: unknown) => fail(new RealtimeError('network', 'the socket could not be opened', { cause: thrown }), true))

    return {
      close() {
        if (closed) return
        stop()
        ws?.close(1000)
      },
    }
  }
}
