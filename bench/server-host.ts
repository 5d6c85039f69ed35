/**
 * The server process of `npm run bench:server` (forked by bench/server.ts with an IPC
 * channel and --expose-gc, so its CPU and memory are its own). argv[2] is the variant:
 *
 * - `tabwire`: `createSseHandler` on `/sse` and `createWebSocketHandler` (channel `feed`) on
 *   `/ws`, each over its own memory log;
 * - `bare`: the physical floor, a bare `node:http` SSE loop and a bare `ws` broadcast loop:
 *   each event formatted once, then `response.write` / `socket.send` to every client.
 *
 * Listens on 127.0.0.1, port 0; sends `{ port }` when ready, then answers the parent's
 * requests (`cpu`, `mem`, `clients`, `send`) with `{ id, ...answer }`.
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { createMemoryLog, createSseHandler, createWebSocketHandler } from '../src/server/index.ts'
import type { HostReply, HostRequest, Target } from './server-protocol.ts'

const variant = process.argv[2] === 'bare' ? 'bare' : 'tabwire'
const now = () => performance.timeOrigin + performance.now()
/** An event: its number, when it was appended, and some padding to a realistic ~100 B. */
const payload = (n: number, t = now()) => `{"n":${n},"t":${t},"p":"${'x'.repeat(48)}"}`

interface Endpoints {
  publish(target: 'sse' | 'ws', text: string): void
  clients(): { sse: number; ws: number }
}

function tabwire(): Endpoints & { request: Parameters<typeof createServer>[1]; upgrade: Upgrade } {
  const logs = { sse: createMemoryLog({ capacity: 1000 }), ws: createMemoryLog({ capacity: 1000 }) }
  const sse = createSseHandler({ log: logs.sse })
  const ws = createWebSocketHandler({ channels: { feed: logs.ws } })
  return {
    publish: (target, text) => void logs[target].append(text),
    clients: () => ({ sse: sse.clients, ws: ws.clients }),
    request: (request, response) => (request.url?.startsWith('/sse') ? sse(request, response) : response.writeHead(404).end()),
    upgrade: (request, socket, head) => ws.handleUpgrade(request, socket, head),
  }
}

function bare(): Endpoints & { request: Parameters<typeof createServer>[1]; upgrade: Upgrade } {
  const streams = new Set<ServerResponse>()
  const wss = new WebSocketServer({ noServer: true })
  let sseId = 0
  return {
    publish(target, text) {
      if (target === 'ws') {
        for (const socket of wss.clients) socket.send(text)
        return
      }
      const event = `id: ${++sseId}\ndata: ${text}\n\n`
      for (const response of streams) response.write(event)
    },
    clients: () => ({ sse: streams.size, ws: wss.clients.size }),
    request(request, response) {
      if (!request.url?.startsWith('/sse')) return void response.writeHead(404).end()
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      response.write('retry: 2000\n\n')
      streams.add(response)
      response.once('close', () => streams.delete(response))
    },
    upgrade: (request, socket, head) => wss.handleUpgrade(request, socket, head, (socket) => socket.on('error', () => {})),
  }
}

type Upgrade = (request: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void

const endpoints = variant === 'bare' ? bare() : tabwire()
const server = createServer(endpoints.request)
server.on('upgrade', endpoints.upgrade)
/** Appends events `from`… (`count` of them) to `target` at `rate` per second (0: all in one tick). */
async function send(target: Target, from: number, count: number, rate: number) {
  const targets = target === 'both' ? (['sse', 'ws'] as const) : ([target] as const)
  const started = now()
  // A burst is stamped with its start: the app appended every event of it at that moment.
  const stamp = rate === 0 ? started : undefined
  let sent = 0
  while (sent < count) {
    const due = rate === 0 ? count : Math.min(count, Math.floor(((now() - started) / 1000) * rate) + 1)
    for (; sent < due; sent++) {
      const text = payload(from + sent, stamp)
      for (const t of targets) endpoints.publish(t, text)
    }
    if (sent < count) await new Promise((resolve) => setTimeout(resolve, 2))
  }
  return { from, to: from + count - 1, lagMs: now() - started - (rate === 0 ? 0 : ((count - 1) / rate) * 1000) }
}

process.on('message', async (message: HostRequest) => {
  let answer: Omit<HostReply, 'id'>
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage()
    answer = { cpu: user + system, system }
  } else if (message.type === 'mem') {
    for (let i = 0; i < 3; i++) globalThis.gc?.()
    const m = process.memoryUsage()
    answer = { heap: m.heapUsed + m.external, rss: m.rss }
  } else if (message.type === 'clients') {
    answer = { clients: endpoints.clients() }
  } else {
    answer = await send(message.target, message.from, message.count, message.rate)
  }
  process.send!({ id: message.id, ...answer })
})

server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }))
process.on('disconnect', () => process.exit(0))
