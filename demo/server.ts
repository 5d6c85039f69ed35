/**
 * The tabwire demo server: one `node:http` server on 127.0.0.1 that serves the built demo
 * app (demo/dist) and three realtime streams made with tabwire/server, plus admin
 * endpoints that break them on purpose.
 *
 *   GET  /api/quotes               SSE, named event `quote` (JSON Quote), ~20 symbols
 *   GET  /api/notifications        SSE, named event `notification` (JSON Notice)
 *   WS   /api/chat                 tabwire/server WebSocket protocol; channel `room` is writable
 *   WS, GET, POST /api/realtime    realtime channels (see demo/realtime.ts): prices:<SYMBOL>,
 *                                  notifications, room:lobby (writable); WebSocket or SSE + POST
 *   GET  /api/orders, POST /api/admin/orders  the Orders panel's list, counted (demo/orders.ts); realtime channel `orders`
 *   GET  /api/admin/stats          live connections, log epochs and heads (DemoStats)
 *   POST /api/admin/drop           cut every SSE stream and WebSocket (they resume)
 *   POST /api/admin/restart-log    replace every log (new epoch): clients get a `reset`
 *   POST /api/admin/stall          streams open now stop sending, without closing
 *   POST /api/admin/flood          {"rate": N, "seconds": T, "stream": "quotes"|"notifications"}
 *   POST /api/admin/block-websocket  {"blocked": true|false}: refuse realtime WebSocket upgrades
 *                                  (and cut the realtime WebSockets open now), so clients use SSE
 *
 * Admin POSTs must be `content-type: application/json`, which a cross-site form cannot
 * send without a preflight this server never answers.
 *
 * Run: `node demo/server.ts [--port 5173]` (or `PORT=…`); `--port 0` picks a free port.
 *
 * Scaled out: `node demo/server.ts --redis redis://127.0.0.1:6379 [--instances 2]` keeps
 * every log in Redis and runs the instances behind a round-robin proxy on the port (see
 * demo/scale.ts). `startDemo({ redis })` is one such instance; `feed: false` makes it
 * serve the streams without publishing to them.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import type { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import {
  type AnyReplayLog,
  createMemoryLog,
  createRedisLogs,
  createSseHandler,
  createWebSocketHandler,
  type LogEntry,
  type SseHandler,
  type WebSocketHandler,
} from '../src/server/index.ts'
import { json, portFromArgs, readBody, serveFile } from './http.ts'
import { NOTICES, SYMBOLS } from './market.ts'
import { createDemoOrders, type DemoOrdersOptions } from './orders.ts'
import { createDemoRealtime, type DemoRealtime } from './realtime.ts'
import type { DemoStats, Notice, Quote, StreamName } from './shared.ts'

export interface DemoOptions extends DemoOrdersOptions {
  /** Port on 127.0.0.1; `0` picks a free one. @defaultValue 5173 */
  port?: number
  /** The built app. @defaultValue demo/dist next to this file */
  dist?: string
  /** ms between two quotes. @defaultValue 100 */
  quoteInterval?: number
  /** ms between two notifications. @defaultValue 2500 */
  notifyInterval?: number
  /** ms between SSE heartbeat comments; keep it below the app's idle timeout. @defaultValue 2000 */
  heartbeat?: number
  /** The SSE `retry:` hint (base of the clients' backoff), ms. @defaultValue 1000 */
  retry?: number
  /** Largest chat frame in bytes. @defaultValue 16384 */
  maxPayload?: number
  /**
   * Keeps every log in this Redis (keys `tabwire-demo:*`), so several instances serve one history.
   * @defaultValue none: memory logs
   */
  redis?: string
  /**
   * Whether this instance publishes the quotes, notifications and order changes. With
   * `redis`, one publisher feeds every instance. @defaultValue true
   */
  feed?: boolean
  /** Origins allowed on the chat and realtime WebSockets (behind a proxy: the proxy's). @defaultValue this server's */
  origins?: readonly string[]
}

/** A stream request as it arrived (for tests: did the client resume?). */
export interface StreamRequest {
  /** `realtime`: the WebSocket upgrade or the SSE GET of `/api/realtime` (not its POSTs). */
  stream: StreamName | 'realtime'
  /** `Last-Event-ID` (or the `lastEventId` query parameter), or null. */
  lastEventId: string | null
  at: number
}

export interface Demo {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  readonly port: number
  stats(): DemoStats
  /** SSE and WebSocket stream requests so far (the newest 1000). */
  readonly requests: readonly StreamRequest[]
  /** When each fault was set off (drop, restart-log, stall, flood), in order. */
  readonly faults: readonly { action: string; at: number }[]
  drop(): void
  restartLog(): void
  stall(): void
  flood(rate: number, seconds: number, stream?: 'quotes' | 'notifications'): void
  /** Refuses realtime WebSocket upgrades (and cuts the open ones) while `blocked`. */
  blockWebSocket(blocked: boolean): void
  /** The realtime endpoint: its `room:lobby` entries and stats. */
  readonly realtime: Pick<DemoRealtime, 'room' | 'stats'>
  /** Stops the streams and the server, cutting every connection. */
  close(): Promise<void>
}

const here = fileURLToPath(new URL('.', import.meta.url))
/** The prefix of the demo's Redis keys. */
export const REDIS_PREFIX = 'tabwire-demo:'
const FLOOD_MAX_RATE = 20_000
const FLOOD_MAX_SECONDS = 60

/** Starts the demo server; resolves once it listens. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const dist = resolve(options.dist ?? resolve(here, 'dist'))
  const heartbeat = options.heartbeat ?? 2000
  const retry = options.retry ?? 1000
  const requests: StreamRequest[] = []
  const faults: { action: string; at: number }[] = []
  const fault = (action: string) => void faults.push({ action, at: Date.now() })
  const timers = new Set<ReturnType<typeof setInterval>>()
  const feed = options.feed ?? true
  let port = 0

  // --- logs: in memory, or in Redis where every instance started with the same url shares them
  const redis = options.redis ? createRedisLogs({ url: options.redis }) : undefined
  const logOf = (name: string, capacity: number): AnyReplayLog => redis?.log(`${REDIS_PREFIX}${name}`, { capacity }) ?? createMemoryLog({ capacity })
  /** Publishes to a log. A refused Redis append is reported by the logs' onError, once per outage. */
  const publish = (log: AnyReplayLog, data: string, event?: string) => {
    const appended = log.append(data, event)
    if (appended instanceof Promise) appended.catch(() => {})
  }

  // --- streams: each log can be replaced (restart-log), so handlers are looked up per request
  interface Stream {
    log: AnyReplayLog
    handler: SseHandler
    head: string | null
    /** A new log (a new epoch) and a handler over it. */
    renew(): void
  }
  const sse = (name: 'quotes' | 'notifications', capacity: number): Stream => {
    const stream = {} as Stream
    stream.renew = () => {
      const log = logOf(name, capacity)
      // Heads as the log tells them (any instance's appends); a replaced log no longer moves it.
      log.subscribe((entry: LogEntry) => void (stream.log === log && (stream.head = entry.id)))
      Object.assign(stream, { log, handler: createSseHandler({ log, heartbeat, retry }), head: null })
    }
    stream.renew()
    return stream
  }
  const streams = { quotes: sse('quotes', 10_000), notifications: sse('notifications', 1000) }
  let chatHead: string | null = null
  const chatLogOf = () => {
    const log = logOf('chat', 1000)
    // A late publish to a replaced log must not move the head of the new one.
    log.subscribe((entry: LogEntry) => void (log === chatLog && (chatHead = entry.id)))
    return log
  }
  let chatLog: AnyReplayLog = chatLogOf()
  const origins = () => options.origins ?? [`http://127.0.0.1:${port}`, `http://localhost:${port}`]
  // Made once the port is known: the allowed origins name it.
  let chat: WebSocketHandler | undefined
  const retired = new Set<WebSocketHandler>()

  function chatHandler(): WebSocketHandler {
    return createWebSocketHandler({
      channels: { room: chatLog },
      writable: ['room'],
      // Same-origin pages only: another site cannot ride a visitor's browser into the chat.
      origins: origins(),
      maxPayload: options.maxPayload ?? 16_384,
      heartbeat: 10_000,
    })
  }

  // --- the market: a random walk per symbol, one quote per tick
  const prices = new Map(Object.entries(SYMBOLS))
  const opens = new Map(prices)
  const names = [...prices.keys()]
  /** The latest quote of each symbol: the realtime `prices:` channels' snapshot. */
  const quotes = new Map<string, Quote>()
  const quote = () => {
    const symbol = names[Math.floor(Math.random() * names.length)]!
    const price = Math.max(0.01, Math.round(prices.get(symbol)! * (1 + (Math.random() - 0.5) * 0.004) * 100) / 100)
    prices.set(symbol, price)
    const change = Math.round(((price - opens.get(symbol)!) / opens.get(symbol)!) * 10_000) / 100
    const data: Quote = { symbol, price, change, time: Date.now() }
    quotes.set(symbol, data)
    publish(streams.quotes.log, JSON.stringify(data), 'quote')
    realtime?.quote(data)
  }
  let noticeCount = 0
  const notify = () => {
    const data: Notice = { ...NOTICES[noticeCount++ % NOTICES.length]!, time: Date.now() }
    publish(streams.notifications.log, JSON.stringify(data), 'notification')
    realtime?.notice(data)
  }
  const every = (ms: number, callback: () => void) => {
    const timer = setInterval(callback, ms)
    timers.add(timer)
    return timer
  }
  if (feed) {
    every(options.quoteInterval ?? 100, quote)
    every(options.notifyInterval ?? 2500, notify)
  } else {
    // The realtime `prices:` snapshots follow the quotes the publisher appends.
    streams.quotes.log.subscribe((entry) => {
      const data = JSON.parse(entry.data) as Quote
      quotes.set(data.symbol, data)
      prices.set(data.symbol, data.price)
    })
  }
  const orders = createDemoOrders(feed ? options : { orderInterval: 0 }, every, (change) => realtime?.order(change))

  // Made once the port is known, as the chat: the allowed origins name it.
  let realtime: DemoRealtime | undefined
  const realtimeStats = () => realtime?.stats() ?? { clients: { websocket: 0, sse: 0 }, channels: {}, epoch: '', blocked: false }

  let floods = 0
  const demo = {
    get url() {
      return `http://127.0.0.1:${port}/`
    },
    get port() {
      return port
    },
    requests,
    faults,
    stats: (): DemoStats => ({
      clients: {
        quotes: streams.quotes.handler.clients,
        notifications: streams.notifications.handler.clients,
        chat: (chat?.clients ?? 0) + [...retired].reduce((n, h) => n + h.clients, 0),
      },
      epochs: { quotes: streams.quotes.log.epoch, notifications: streams.notifications.log.epoch, chat: chatLog.epoch },
      heads: { quotes: streams.quotes.head, notifications: streams.notifications.head, chat: chatHead },
      flooding: floods > 0,
      realtime: realtimeStats(),
      orders: orders.stats(),
    }),
    get realtime() {
      return { room: realtime?.room ?? [], stats: realtimeStats }
    },
    blockWebSocket(blocked: boolean) {
      fault(blocked ? 'block-websocket' : 'unblock-websocket')
      realtime?.block(blocked)
    },
    drop() {
      fault('drop')
      streams.quotes.handler.dropAll()
      streams.notifications.handler.dropAll()
      chat?.dropAll(1012)
      realtime?.drop()
    },
    restartLog() {
      if (redis) throw new RangeError('restart-log: with --redis the history lives in Redis; FLUSHALL it to start new epochs (every client gets a reset)')
      fault('restart-log')
      // New logs, new handlers; the old streams are cut, so clients come back with an id
      // of the old epoch and get a `reset`.
      for (const stream of Object.values(streams)) {
        const old = stream.handler
        stream.renew()
        old.dropAll()
      }
      const old = chat!
      chatHead = null
      chatLog = chatLogOf()
      chat = chatHandler()
      old.dropAll(1012)
      // Give the close handshakes a moment, then free the old server.
      retired.add(old)
      const timer = setTimeout(() => {
        old.close()
        retired.delete(old)
      }, 2000)
      timer.unref()
      realtime?.restart()
      for (const symbol of names) opens.set(symbol, prices.get(symbol)!)
    },
    stall() {
      fault('stall')
      streams.quotes.handler.stall()
      streams.notifications.handler.stall()
      chat?.stall()
      realtime?.stall()
    },
    flood(rate: number, seconds: number, stream: 'quotes' | 'notifications' = 'quotes') {
      if (!(rate > 0 && rate <= FLOOD_MAX_RATE && seconds > 0 && seconds <= FLOOD_MAX_SECONDS)) {
        throw new RangeError(`flood: the rate must be above 0 and at most ${FLOOD_MAX_RATE} a second, for at most ${FLOOD_MAX_SECONDS} seconds`)
      }
      if (floods >= 3) throw new RangeError('flood: three floods are running already')
      if (!feed) throw new RangeError('flood: this instance does not publish (feed: false)')
      fault('flood')
      const emit = stream === 'quotes' ? quote : notify
      const total = Math.round(rate * seconds)
      const start = Date.now()
      let sent = 0
      floods++
      // Catch up to the due count every 10 ms: the rate holds even if a tick runs late.
      const timer = every(10, () => {
        const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate))
        while (sent < due) emit(), sent++
        if (sent >= total) {
          clearInterval(timer)
          timers.delete(timer)
          floods--
        }
      })
    },
    close: () => Promise.resolve(),
  } satisfies Demo

  // --- HTTP
  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: String(error) })
      else response.destroy()
    })
  })

  const recordRequest = (stream: StreamName | 'realtime', request: IncomingMessage) => {
    const header = request.headers['last-event-id']
    const query = new URL(request.url ?? '/', 'http://x').searchParams.get('lastEventId')
    requests.push({ stream, lastEventId: (Array.isArray(header) ? header[0] : header) ?? query, at: Date.now() })
    if (requests.length > 1000) requests.shift()
  }

  async function route(request: IncomingMessage, response: ServerResponse) {
    const { pathname } = new URL(request.url ?? '/', 'http://x')
    const method = request.method ?? 'GET'
    if (pathname === '/api/quotes' || pathname === '/api/notifications') {
      if (method !== 'GET') return json(response, 405, { error: 'GET only' })
      const name = pathname === '/api/quotes' ? 'quotes' : 'notifications'
      recordRequest(name, request)
      return streams[name].handler(request, response)
    }
    if (pathname === '/api/realtime') {
      if (method === 'GET') recordRequest('realtime', request)
      return realtime ? realtime.handleRequest(request, response) : json(response, 503, { error: 'starting' })
    }
    if (pathname === '/api/orders') return orders.handle(request, response)
    if (pathname.startsWith('/api/admin/')) return admin(pathname.slice('/api/admin/'.length), method, request, response)
    if (pathname.startsWith('/api/')) return json(response, 404, { error: 'no such endpoint' })
    if (method !== 'GET' && method !== 'HEAD') return json(response, 405, { error: 'GET only' })
    return serveFile(dist, pathname, method, response)
  }

  async function admin(action: string, method: string, request: IncomingMessage, response: ServerResponse) {
    if (action === 'stats') return method === 'GET' ? json(response, 200, demo.stats()) : json(response, 405, { error: 'GET only' })
    const actions: Record<string, (body: Record<string, unknown>) => void> = {
      drop: () => demo.drop(),
      'restart-log': () => demo.restartLog(),
      stall: () => demo.stall(),
      orders: (body) => orders.admin(body),
      'block-websocket': (body) => {
        if (typeof body.blocked !== 'boolean') throw new RangeError('send {"blocked": true} or {"blocked": false}')
        demo.blockWebSocket(body.blocked)
      },
      flood: (body) => {
        const stream = body.stream === 'notifications' ? 'notifications' : 'quotes'
        demo.flood(Number(body.rate ?? 1000), Number(body.seconds ?? 5), stream)
      },
    }
    const run = Object.hasOwn(actions, action) ? actions[action] : undefined
    if (!run) return json(response, 404, { error: `no admin action '${action}'` })
    if (method !== 'POST') return json(response, 405, { error: 'POST only' })
    if (!/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
      return json(response, 415, { error: 'send content-type: application/json' })
    }
    let body: unknown
    try {
      const text = await readBody(request, 10_000)
      body = text ? JSON.parse(text) : {}
    } catch (error) {
      return json(response, 400, { error: `bad body: ${error instanceof Error ? error.message : error}` })
    }
    if (typeof body !== 'object' || body === null) return json(response, 400, { error: 'the body must be a JSON object' })
    try {
      run(body as Record<string, unknown>)
    } catch (error) {
      return json(response, 400, { error: error instanceof Error ? error.message : String(error) })
    }
    json(response, 200, demo.stats())
  }

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(request.url ?? '/', 'http://x')
    if (pathname === '/api/realtime' && realtime) {
      recordRequest('realtime', request)
      return realtime.handleUpgrade(request, socket, head)
    }
    if (pathname !== '/api/chat') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    if (!chat) return void socket.destroy()
    recordRequest('chat', request)
    chat.handleUpgrade(request, socket, head)
  })

  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(options.port ?? 5173, '127.0.0.1', () => {
      server.off('error', fail)
      done()
    })
  })
  port = (server.address() as AddressInfo).port
  chat = chatHandler()
  realtime = createDemoRealtime({
    symbols: names,
    // Before a symbol's first quote, its opening price.
    current: (symbol) => quotes.get(symbol) ?? (prices.has(symbol) ? { symbol, price: prices.get(symbol)!, change: 0, time: Date.now() } : undefined),
    origins: origins(),
    ...(redis && { log: (channel: string) => logOf(`realtime:${channel}`, 1000) }),
    // The realtime page takes a link silent for 6 s as dead (see demo/src/realtime-client.ts).
    heartbeat: 2000,
    maxPayload: options.maxPayload ?? 16_384,
  })

  let closing: Promise<void> | undefined
  demo.close = () =>
    (closing ??= new Promise<void>((done) => {
      for (const timer of timers) clearInterval(timer)
      timers.clear()
      server.close(() => done())
      // SSE responses are open HTTP requests; upgraded sockets belong to the ws handlers.
      server.closeAllConnections()
      chat?.close()
      realtime?.close()
      for (const old of retired) old.close()
      redis?.close()
    }))
  return demo
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const arg = (name: string) => {
    const at = argv.indexOf(name)
    return at >= 0 ? argv[at + 1] : undefined
  }
  const port = portFromArgs(argv)
  const redis = arg('--redis')
  /** The Redis URL as printed: a password in it is never logged. */
  const withoutPassword = (url: string) => {
    try {
      const parsed = new URL(url)
      if (parsed.password) parsed.password = '***'
      return parsed.href
    } catch {
      return 'the --redis URL'
    }
  }
  const instances = Number(arg('--instances') ?? 2)
  const options = { port, dist: arg('--dist') }
  const start = redis ? import('./scale.ts').then(({ startScaleDemo }) => startScaleDemo({ ...options, redis, instances }, startDemo)) : startDemo(options)
  const demo = await start.catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error
    console.error(`tabwire demo: port ${port} is in use; pick another with --port N or PORT=N (0 = any free port)`)
    process.exit(1)
  })
  console.log(`tabwire demo: ${demo.url}`)
  if (redis) {
    console.log(`  ${instances} instance(s) on ${withoutPassword(redis)}, round robin; kill one with:`)
    console.log(`  curl -X POST -H 'content-type: application/json' ${demo.url}api/admin/instances/1/kill   (…/start brings it back)`)
  }
  const stop = () => void demo.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
