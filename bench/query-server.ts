/**
 * The loopback server of bench/query.ts: `createRealtimeHandler` over one memory log
 * (channel `changes`) at `/realtime`, the bench page at `/` and `/page.js`, and a counted
 * HTTP endpoint `/api/item/<k>` answering `{ v }` (its request count) after a short delay,
 * as a real API would take.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createMemoryLog, createRealtimeHandler, type RealtimeHandler } from '../src/server/index.ts'

export interface QueryBenchServer {
  readonly url: string
  /** Appends one change event per entry to the channel `changes`. */
  emit(...changes: { key: number }[]): void
  /** Requests to `/api/item/*` since the last reset, in total and per key. */
  requests(): { total: number; perKey: Record<string, number> }
  resetRequests(): void
  close(): Promise<void>
}

export async function startQueryServer(pageJs: string, delay = 20): Promise<QueryBenchServer> {
  const log = createMemoryLog({ capacity: 100_000 })
  let perKey: Record<string, number> = {}
  let served = 0
  const sockets = new Set<Duplex>()
  let handler: RealtimeHandler | undefined
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname
    if (path === '/realtime') return handler!.handleRequest(request, response)
    const item = /^\/api\/item\/(\d+)$/.exec(path)
    if (item) {
      perKey[item[1]!] = (perKey[item[1]!] ?? 0) + 1
      const v = ++served
      return void setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ v })), delay)
    }
    if (path === '/') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title><script type="module" src="/page.js"></script>')
    if (path === '/page.js') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(pageJs)
    response.writeHead(404).end()
  })
  server.on('upgrade', (request, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    handler!.handleUpgrade(request, socket, head)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  handler = createRealtimeHandler({ channels: { changes: log }, origins: [url], heartbeat: 5000 })
  return {
    url,
    emit: (...changes) => changes.forEach((c) => log.append(JSON.stringify(c))),
    requests: () => ({ total: Object.values(perKey).reduce((a, b) => a + b, 0), perKey: { ...perKey } }),
    resetRequests: () => void (perKey = {}),
    async close() {
      handler?.close()
      for (const socket of sockets) socket.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
