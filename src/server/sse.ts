import type { IncomingMessage, ServerResponse } from 'node:http'
import { formatEvent } from './format.ts'
import { type LogEntry, parseLogId, type ReplayLog } from './log.ts'

export interface SseHandlerOptions {
  /** Where events come from and clients resume from. */
  log: ReplayLog
  /**
   * The reconnection time hint sent first (`retry:`), in ms.
   * @defaultValue 2000
   */
  retry?: number
  /**
   * A comment is sent this often (ms) so clients and proxies see a live stream; `0` is off.
   * Keep it below the clients' idle timeout (tabwire's default is 45 s).
   * @defaultValue 15000
   */
  heartbeat?: number
  /**
   * Bytes of live events kept for a client whose socket buffer is full. Past it the client
   * is too slow: it is disconnected (it resumes later from its last id) and `onSlowClient`
   * is called once. A replay is paced by the socket and never counts; keep the bound above
   * the largest burst you append at once.
   * @defaultValue 1048576
   */
  maxBuffered?: number
  /** Called when a slow client is disconnected. */
  onSlowClient?: (request: IncomingMessage) => void
  /**
   * Where the resume id is read when there is no `Last-Event-ID` header (tabwire's native
   * EventSource transport sends it as this query parameter).
   * @defaultValue 'lastEventId'
   */
  lastEventIdParam?: string
  /** Extra response headers (CORS, for example). */
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

/**
 * Serves a replay log as Server-Sent Events: `retry:` hint, heartbeat comments, resume
 * from `Last-Event-ID` (exactly the missed events, or a `reset` event when continuity
 * broke), backpressure with a bound, and cleanup when the client goes.
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
  const { log, retry = 2000, heartbeat = 15_000, maxBuffered = 1_048_576 } = options
  const open = new Set<{ response: ServerResponse; stall(): void }>()

  const extra = Object.fromEntries(Object.entries(options.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]))

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(200, {
      ...extra,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    })
    let closed = false
    let stalled = false
    let blocked = false
    let queued = 0
    const backlog: string[] = []
    // Live entries that arrive during a replay wait here, then go out without duplicates;
    // they count toward maxBuffered, so a client that stops reading mid-replay is let go too.
    const pending: LogEntry[] = []
    let held = 0
    const gone = new Promise<void>((done) => response.once('close', done))
    const flush = () => {
      blocked = false
      while (backlog.length && !closed) {
        const chunk = backlog.shift()!
        queued -= Buffer.byteLength(chunk)
        if (!response.write(chunk)) return void ((blocked = true), response.once('drain', flush))
      }
    }
    /** Too slow for the live stream: let go, once (it resumes later from its last id). */
    const tooSlow = () => {
      closed = true
      backlog.length = 0
      pending.length = 0
      response.destroy()
      options.onSlowClient?.(request)
    }
    const write = (chunk: string) => {
      if (closed || stalled) return
      if (!blocked) {
        if (!response.write(chunk)) (blocked = true), response.once('drain', flush)
        return
      }
      backlog.push(chunk)
      queued += Buffer.byteLength(chunk)
      if (queued > maxBuffered) tooSlow()
    }
    let lastSeq = 0
    const send = (entry: LogEntry) => {
      if (entry.seq <= lastSeq) return
      lastSeq = entry.seq
      let text: string
      try {
        text = formatEvent({ id: entry.id, event: entry.event, data: entry.data })
      } catch (error) {
        // Only a custom log can hold such an entry (the memory log refuses it): skip it.
        return process.emitWarning(`tabwire/server: skipped log entry ${entry.id}: ${error}`)
      }
      write(text)
    }
    /** A replay goes out as fast as the socket takes it, never into the bounded backlog. */
    const paced = async (entries: readonly LogEntry[]) => {
      for (const entry of entries) {
        while (blocked && !closed) await Promise.race([new Promise((done) => response.once('drain', done)), gone])
        if (closed) return
        send(entry)
      }
    }

    let live = false
    const unsubscribe = log.subscribe((entry) => {
      if (live) return send(entry)
      if (closed) return
      pending.push(entry)
      if ((held += Buffer.byteLength(entry.data)) > maxBuffered) tooSlow()
    })
    const timer = heartbeat > 0 ? setInterval(() => write(': heartbeat\n\n'), heartbeat) : undefined
    const client = { response, stall: () => void (stalled = true) }
    open.add(client)
    void gone.then(() => {
      closed = true
      open.delete(client)
      unsubscribe()
      clearInterval(timer)
    })

    write(`retry: ${retry}\n\n`)
    const header = request.headers['last-event-id']
    const target = request.url ?? ''
    const query = target.includes('?') ? target.slice(target.indexOf('?') + 1) : ''
    const lastEventId = (Array.isArray(header) ? header[0] : header) ?? new URLSearchParams(query).get(options.lastEventIdParam ?? 'lastEventId')
    Promise.resolve(log.since(lastEventId))
      .then(async (replay) => {
        if ('reset' in replay) {
          lastSeq = parseLogId(replay.head)!.seq
          write(formatEvent({ event: 'reset', id: replay.head, data: JSON.stringify({ epoch: log.epoch, reason: replay.reset }) }))
        } else {
          await paced(replay.entries)
        }
        while (pending.length && !closed) {
          held = 0
          await paced(pending.splice(0))
        }
        live = true
      })
      .catch(() => response.destroy())
  }

  return Object.defineProperties(handler, {
    clients: { get: () => open.size },
    dropAll: { value: () => open.forEach((c) => c.response.destroy()) },
    stall: { value: () => open.forEach((c) => c.stall()) },
  }) as SseHandler
}
