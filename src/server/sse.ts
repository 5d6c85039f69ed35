import { type IncomingMessage, type ServerResponse, validateHeaderName, validateHeaderValue } from 'node:http'
import type { Socket } from 'node:net'
import { describeError, ServerOptionsError, warn } from './errors.ts'
import { drainWaiter } from './drain.ts'
import { createFeed, type Sink } from './feed.ts'
import type { AnyReplayLog } from './log.ts'
import { entryEvent, resumeId, retryField, SSE_HEADERS, SSE_HEARTBEAT, sseStart } from './sse-protocol.ts'
import { createTicker } from './ticker.ts'
import { asIs, httpChunk } from './wire.ts'

export interface SseHandlerOptions {
  /**
   * Where events come from and clients resume from.
   * @example createSseHandler({ log: createMemoryLog() })
   */
  log: AnyReplayLog
  /**
   * The reconnection time hint sent first (`retry:`), in ms.
   * @defaultValue 2000
   * @example createSseHandler({ log, retry: 5000 })
   */
  retry?: number
  /**
   * A comment is sent this often (ms) to every stream with nothing waiting, so clients and
   * proxies see it alive; one timer serves every stream. `0` is off. Keep it below the
   * clients' idle timeout (tabwire's default is 45 s).
   * @defaultValue 15000
   * @example createSseHandler({ log, heartbeat: 10_000 })
   */
  heartbeat?: number
  /**
   * Bytes of live events that may wait for a client whose socket buffer is full. Past it the
   * client is too slow: it is disconnected (it resumes later from its last id) and
   * `onSlowClient` is called once. A replay is paced by the socket and never counts; live
   * events held for a client during its replay do. Keep it above the largest burst you
   * append at once.
   * @defaultValue 1048576
   * @example createSseHandler({ log, maxBuffered: 4 * 1024 * 1024 })
   */
  maxBuffered?: number
  /**
   * Under load, live events go out to each socket at most once per this many ms, batched
   * into one write (an event after a quiet spell goes out at once, and a burst goes out in
   * 64 KiB writes as it is appended). Each write is a system call per socket, the main cost
   * of fan-out: larger saves CPU per event, and about one display frame (16 ms) adds no
   * delay a page can show. `0` writes at the end of every turn of the event loop.
   * @defaultValue 16
   * @example createSseHandler({ log, batchWindow: 0 })
   */
  batchWindow?: number
  /**
   * Called when a slow client is disconnected.
   * @defaultValue none
   * @example createSseHandler({ log, onSlowClient: (request) => metrics.increment('sse.slow') })
   */
  onSlowClient?: (request: IncomingMessage) => void
  /**
   * Where the resume id is read when there is no `Last-Event-ID` header (tabwire's native
   * EventSource transport sends it as this query parameter).
   * @defaultValue 'lastEventId'
   * @example createSseHandler({ log, lastEventIdParam: 'since' })
   */
  lastEventIdParam?: string
  /**
   * Extra response headers (CORS, for example). Checked when the handler is created.
   * @defaultValue none
   * @example createSseHandler({ log, headers: { 'access-control-allow-origin': 'https://app.example.com' } })
   */
  headers?: Record<string, string>
}

/** A request handler for `node:http` or Express, plus controls. */
export interface SseHandler {
  (request: IncomingMessage, response: ServerResponse): void
  /** Streams open now. */
  readonly clients: number
  /** Cuts every open stream abruptly; clients reconnect and resume. */
  dropAll(): void
  /** Stops writing to the streams open now, heartbeats included, without closing them. */
  stall(): void
}

interface Stream {
  readonly sink: Sink
  readonly socket: Socket
  stalled: boolean
}

const HEARTBEAT = Buffer.from(SSE_HEARTBEAT)

/**
 * Serves a replay log as Server-Sent Events: `retry:` hint, heartbeat comments, resume
 * from `Last-Event-ID` (exactly the missed events, or a `reset` event when continuity
 * broke), backpressure with a bound, and cleanup when the client goes. Each event is framed
 * once and the same bytes are written to every stream, batched per turn of the event loop.
 * Nothing a client sends, and no entry in the log, makes it throw: a bad entry is skipped
 * with a warning, a failing log cuts the stream (the client retries).
 *
 * The events are written to the response's socket directly (chunked for HTTP/1.1, up to
 * the close for HTTP/1.0), after the headers; a `HEAD` request gets the headers only.
 *
 * A `reset` event's data is `{ "epoch", "reason" }` (reason `epoch`, `gap` or `invalid`)
 * and its id is the log's head, so the client goes on from there.
 *
 * @example
 * const log = createMemoryLog()
 * const quotes = createSseHandler({ log })
 * createServer((req, res) => req.url?.startsWith('/quotes') ? quotes(req, res) : res.end()).listen(3000)
 * log.append(JSON.stringify({ symbol: 'ACME', price: 42 }), 'quote')
 */
export function createSseHandler(options: SseHandlerOptions): SseHandler {
  const { log, retry = 2000, heartbeat = 15_000, maxBuffered = 1_048_576, batchWindow = 16 } = options
  if (!(Number.isInteger(retry) && retry >= 0)) throw new ServerOptionsError('createSseHandler', 'retry', 'retry must be a whole number of ms')
  const extra = checkedHeaders(options.headers ?? {})
  const open = new Set<Stream>()
  /** Sockets that carry a stream (it never ends: no request behind it is served). */
  const streaming = new WeakSet<Socket>()
  const feed = createFeed({
    log,
    name: 'SSE',
    maxBuffered,
    batchWindow,
    frame: (entry) => Buffer.from(entryEvent(entry)),
  })
  const ticker = createTicker(heartbeat, () => {
    for (const stream of open) if (stream.sink.buffered === 0) stream.sink.write(stream.sink.encode(HEARTBEAT))
  })

  const serve = (request: IncomingMessage, response: ServerResponse, socket: Socket) => {
    const http11 = request.httpVersionMajor === 1 && request.httpVersionMinor >= 1
    const head = request.method === 'HEAD'
    response.writeHead(200, {
      ...extra,
      ...SSE_HEADERS,
      // A stream never ends, so the connection serves no other request: `close` tells the
      // client not to send one (a HEAD answer ends, and the connection goes on).
      connection: http11 && head ? 'keep-alive' : 'close',
      ...(http11 ? { 'transfer-encoding': 'chunked' } : {}),
    })
    if (head) return void response.end()
    response.flushHeaders()
    streaming.add(socket)
    // A body (a POST stream) is not read, but drained, so the request completes; then the
    // socket is read and discarded, so requests pipelined behind the stream are never parsed
    // (each would wait forever, held in memory).
    request.once('end', () => ignoreFurtherRequests(socket))
    request.resume()
    let closed = false
    const gone = new Promise<void>((resolve) => response.once('close', resolve))
    const stream: Stream = {
      socket,
      stalled: false,
      sink: {
        // The headers announce the framing; the body is written to the socket as it is.
        encode: http11 ? httpChunk : asIs,
        write: (bytes) => (closed || stream.stalled || socket.destroyed ? true : socket.write(bytes)),
        get buffered() {
          return stream.stalled ? 0 : socket.writableLength
        },
        get open() {
          return !closed
        },
        get needsDrain() {
          return !stream.stalled && socket.writableNeedDrain
        },
        drained: drainWaiter(socket, gone),
      },
    }
    const following = feed.follow({
      sink: stream.sink,
      since: resumeId(request.headers['last-event-id'], request.url ?? '', options.lastEventIdParam ?? 'lastEventId'),
      start: (replay) => {
        const start = sseStart(log.epoch, replay)
        return start === undefined ? undefined : Buffer.from(start)
      },
      cut: (reason) => {
        socket.destroy()
        if (reason === 'slow') options.onSlowClient?.(request)
      },
    })
    open.add(stream)
    ticker.start()
    void gone.then(() => {
      closed = true
      following.stop()
      open.delete(stream)
      if (!open.size) ticker.stop()
    })
    stream.sink.write(stream.sink.encode(Buffer.from(retryField(retry))))
  }

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    // A request pipelined behind a stream on the same connection, parsed before the stream
    // stopped the parser: it could only wait for a socket that never frees; left unanswered.
    if (!response.socket && streaming.has(request.socket)) return
    const start = (socket: Socket) => {
      try {
        serve(request, response, socket)
      } catch (error) {
        warn(`SSE: a stream could not start: ${describeError(error)}`)
        response.destroy()
      }
    }
    // A request pipelined behind another gets its socket when the one before is done.
    if (response.socket) start(response.socket)
    else response.once('socket', start)
  }

  return Object.defineProperties(handler, {
    clients: { get: () => open.size },
    dropAll: { value: () => open.forEach((stream) => stream.socket.destroy()) },
    stall: { value: () => open.forEach((stream) => (stream.stalled = true)) },
  }) as SseHandler
}

/**
 * Stops `node:http` parsing requests on a socket that carries a stream, while the socket is
 * still read (so a client's close is seen at once): from a `data` listener on, Node hands
 * the socket's bytes to listeners instead of its parser, and its own listener, which would
 * parse them, is taken off. The bytes are discarded.
 */
export function ignoreFurtherRequests(socket: Socket) {
  if (socket.destroyed) return
  const discard = () => {}
  socket.on('data', discard)
  for (const listener of socket.listeners('data')) {
    if (listener !== discard && /\bsocketOnData$/.test(listener.name)) socket.off('data', listener as (chunk: Buffer) => void)
  }
}

function checkedHeaders(headers: Record<string, string>): Record<string, string> {
  const checked: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name)
      validateHeaderValue(name, value)
    } catch (error) {
      throw new ServerOptionsError('createSseHandler', 'headers', `the header ${JSON.stringify(name)} cannot be sent: ${describeError(error)}`)
    }
    checked[name.toLowerCase()] = value
  }
  return checked
}
