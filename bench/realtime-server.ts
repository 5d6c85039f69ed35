/**
 * The loopback server of bench/realtime.ts: `createRealtimeHandler` over one memory log per
 * channel at `/realtime`, the bench page at `/` and `/page.js`, a ticker appending to every
 * channel at a steady rate, and the faults the bench needs: refusing WebSocket upgrades (a
 * proxy that blocks them: `502`, as such proxies answer) and cutting the open WebSockets
 * without a close frame (the proxy drops them). Counts the subscriptions per channel through
 * the resolver's `retain` / `release` (the handler calls them once per subscription).
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createMemoryLog, createRealtimeHandler, type LogEntry, type RealtimeHandler, type ReplayLog } from '../src/server/index.ts'

export interface BenchServer {
  readonly url: string
  /** Refuses (true) or lets through (false) WebSocket upgrades from now on. */
  blockWebSockets(on: boolean): void
  /** Cuts every open WebSocket (the TCP socket is destroyed: no close frame). */
  dropWebSockets(): number
  /** Connections open now per transport, subscriptions per channel now, and counters since the start. */
  stats(): ServerStats
  /** Resets the counters and the per-channel maxima (not the open connections). */
  resetCounters(): void
  /** Every entry of a channel's log so far, oldest first. */
  entries(channel: string): readonly LogEntry[]
  /** The newest seq of a channel's log (0 before the first). */
  head(channel: string): number
  /** Starts (or restarts at another rate) the ticker: one append per channel every `interval` ms. */
  tick(interval: number): void
  stopTicking(): void
  close(): Promise<void>
}

export interface ServerStats {
  clients: { websocket: number; sse: number }
  /** Live subscriptions per channel (over every connection). */
  subscriptions: Record<string, number>
  /** The most connections (websocket + sse) seen open at once since the counters' reset. */
  maxConnections: number
  /** The most live subscriptions at once since the counters' reset, in total. */
  maxSubscriptions: number
  upgradesAccepted: number
  upgradesRefused: number
  sseStreams: number
  posts: number
}

export async function startBenchServer(channels: readonly string[], pageJs: () => string): Promise<BenchServer> {
  const logs = new Map<string, ReplayLog>()
  const kept = new Map<string, LogEntry[]>()
  for (const name of channels) {
    // Big enough that no resume in a run falls off the log (a reset would be a finding, not noise).
    const log = createMemoryLog({ capacity: 100_000 })
    const list: LogEntry[] = []
    log.subscribe((entry) => void list.push(entry))
    logs.set(name, log)
    kept.set(name, list)
  }
  const subscriptions: Record<string, number> = Object.fromEntries(channels.map((c) => [c, 0]))
  const counters = { maxConnections: 0, maxSubscriptions: 0, upgradesAccepted: 0, upgradesRefused: 0, sseStreams: 0, posts: 0 }
  const sockets = new Set<Duplex>()
  let blocked = false
  let ticker: ReturnType<typeof setInterval> | undefined
  let handler: RealtimeHandler | undefined

  const observe = () => {
    const c = handler?.clients ?? { websocket: 0, sse: 0 }
    counters.maxConnections = Math.max(counters.maxConnections, c.websocket + c.sse)
    counters.maxSubscriptions = Math.max(counters.maxSubscriptions, Object.values(subscriptions).reduce((a, b) => a + b, 0))
  }
  const resolver = Object.assign((name: string, _request: IncomingMessage) => logs.get(name), {
    retain: (name: string) => void ((subscriptions[name] = (subscriptions[name] ?? 0) + 1), observe()),
    release: (name: string) => void (subscriptions[name] = (subscriptions[name] ?? 0) - 1),
  })

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname
    if (path === '/realtime') {
      if (request.method === 'GET') counters.sseStreams++
      else counters.posts++
      handler!.handleRequest(request, response)
      return setImmediate(observe)
    }
    if (path === '/') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title><script type="module" src="/page.js"></script>')
    if (path === '/page.js') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(pageJs())
    response.writeHead(404).end()
  })
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    if (blocked || new URL(request.url ?? '/', 'http://x').pathname !== '/realtime') {
      counters.upgradesRefused++
      return void socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    }
    counters.upgradesAccepted++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    handler!.handleUpgrade(request, socket, head)
    setImmediate(observe)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // The page's own origin only: a resolver may answer writable channels, so origins are required.
  handler = createRealtimeHandler({ channels: resolver, origins: [url], heartbeat: 5000 })
  const observer = setInterval(observe, 25)

  let n = 0
  const stopTicking = () => {
    if (ticker) clearInterval(ticker)
    ticker = undefined
  }
  return {
    url,
    blockWebSockets: (on) => void (blocked = on),
    dropWebSockets() {
      const count = sockets.size
      for (const socket of sockets) socket.destroy()
      return count
    },
    stats: () => ({ clients: { ...handler!.clients }, subscriptions: { ...subscriptions }, ...counters }),
    resetCounters() {
      Object.assign(counters, { maxConnections: 0, maxSubscriptions: 0, upgradesAccepted: 0, upgradesRefused: 0, sseStreams: 0, posts: 0 })
      observe()
    },
    entries: (channel) => kept.get(channel) ?? [],
    head: (channel) => kept.get(channel)?.at(-1)?.seq ?? 0,
    tick(interval) {
      stopTicking()
      ticker = setInterval(() => {
        n++
        for (const [name, log] of logs) log.append(JSON.stringify({ c: name, n, t: Date.now() }))
      }, interval)
    },
    stopTicking,
    async close() {
      stopTicking()
      clearInterval(observer)
      handler?.close()
      for (const socket of sockets) socket.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
