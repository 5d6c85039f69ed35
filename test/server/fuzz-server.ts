/**
 * The server the fuzz test attacks, in a process of its own (run by Node itself, with
 * --expose-gc and --no-warnings): a crash is this process exiting, and its memory is its own.
 *
 * - SSE `/events` serves log `news`; SSE `/room` serves log `room`.
 * - WebSocket `/ws`: channels `news`, `room` (writable, origins '*') and `slow` (`news`
 *   behind an async since()); maxPayload 16 KiB, maxBuffered 256 KiB. WebSocket `/locked`:
 *   channel `news`, origin `https://app.example` only.
 * - Realtime `/rt` (WebSocket and SSE + POST, origins '*', maxPayload 16 KiB, maxBuffered
 *   256 KiB, maxSubscriptions 50): channels `news` (read-only, log `rtnews`, with a
 *   snapshot), `room` (writable), `secret` (authorize refuses), `async` (authorize answers
 *   later), `throw` (authorize throws), and `dyn/<name>` from createChannelLogs (max 200,
 *   writable).
 * - Control, on a second port the fuzzer never sees: `POST /append?n=N` appends N events to
 *   `news` (data `{"n":k}`), `POST /append-rt?n=N` to `rtnews`; `GET /stats` answers JSON
 *   memory after GC, open clients, log listeners and warnings.
 *
 * Prints `{"port":N,"control":M}` on its first stdout line once listening on 127.0.0.1.
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createChannelLogs } from '../../src/server/channel-logs.ts'
import { createMemoryLog, type ReplayLog } from '../../src/server/log.ts'
import { createRealtimeHandler, handlerStats } from '../../src/server/realtime.ts'
import { createSseHandler } from '../../src/server/sse.ts'
import { createWebSocketHandler } from '../../src/server/ws.ts'

const listening = { news: 0, room: 0 }
/** Kept apart from `listening`, whose shape the older fuzz test checks whole. */
const rtListening = { rtnews: 0 }
/** The log, counting its listeners. */
function counted<K extends string>(counter: Record<K, number>, name: K, log: ReplayLog): ReplayLog {
  return {
    epoch: log.epoch,
    get head() {
      return log.head
    },
    append: (data, event) => log.append(data, event),
    since: (id) => log.since(id),
    subscribe(listener) {
      counter[name]++
      const off = log.subscribe(listener)
      let on = true
      return () => {
        if (on) counter[name]--
        on = false
        off()
      }
    },
  }
}

const news = counted(listening, 'news', createMemoryLog({ epoch: 'n1', capacity: 1000 }))
const room = counted(listening, 'room', createMemoryLog({ epoch: 'r1', capacity: 100 }))
const slow: ReplayLog = {
  epoch: news.epoch,
  append: (data, event) => news.append(data, event),
  since: async (id) => (await new Promise((resolve) => setImmediate(resolve)), news.since(id)),
  subscribe: (listener) => news.subscribe(listener),
}

const events = createSseHandler({ log: news, heartbeat: 50, maxBuffered: 256 * 1024 })
const roomEvents = createSseHandler({ log: room, heartbeat: 0, maxBuffered: 256 * 1024 })
const ws = createWebSocketHandler({
  channels: { news, room, slow },
  writable: ['room'],
  origins: '*',
  maxPayload: 16 * 1024,
  maxBuffered: 256 * 1024,
  heartbeat: 0,
})

/** Only https://app.example may connect: the others get 403 at the upgrade. */
const locked = createWebSocketHandler({ channels: { news }, origins: ['https://app.example'], heartbeat: 0 })

const rtNews = counted(rtListening, 'rtnews', createMemoryLog({ epoch: 'q1', capacity: 1000 }))
const dynamic = createChannelLogs({ max: 200, writable: true, create: () => createMemoryLog({ capacity: 20 }) })
const fixed = {
  news: { log: rtNews, snapshot: () => ({ head: rtNews.head }) },
  room: { log: createMemoryLog({ epoch: 'm1', capacity: 100 }), writable: true },
  secret: { log: createMemoryLog({ epoch: 's1' }), writable: true },
  async: { log: createMemoryLog({ epoch: 'a1', capacity: 100 }), writable: true },
  throw: { log: createMemoryLog({ epoch: 't1' }), writable: true },
}
const channels = Object.assign((name: string, request: IncomingMessage) => (Object.hasOwn(fixed, name) ? fixed[name as keyof typeof fixed] : name.startsWith('dyn/') ? dynamic(name, request) : undefined), {
  retain: dynamic.retain,
  release: dynamic.release,
})
const rt = createRealtimeHandler({
  channels,
  origins: '*',
  maxPayload: 16 * 1024,
  maxBuffered: 256 * 1024,
  maxSubscriptions: 50,
  heartbeat: 0,
  authorize: (_request, channel, action) => {
    if (channel === 'secret') return false
    if (channel === 'throw') throw new Error('refused')
    if (channel === 'async') return new Promise((resolve) => setImmediate(() => resolve(action === 'subscribe')))
    return true
  },
})

let warnings = 0
process.on('warning', () => void warnings++)

const server = createServer((request, response) => {
  if (request.url?.startsWith('/rt')) return rt.handleRequest(request, response)
  if (request.url?.startsWith('/room')) return roomEvents(request, response)
  if (request.url?.startsWith('/events')) return events(request, response)
  response.writeHead(404).end()
})
server.on('upgrade', (request, socket, head) => {
  if (request.url?.startsWith('/rt')) return rt.handleUpgrade(request, socket, head)
  if (request.url?.startsWith('/ws')) return ws.handleUpgrade(request, socket, head)
  if (request.url?.startsWith('/locked')) return locked.handleUpgrade(request, socket, head)
  socket.destroy()
})

let appended = 0
let appendedRt = 0
const control = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://control')
  if (url.pathname === '/append') {
    const n = Number(url.searchParams.get('n') ?? 1)
    for (let i = 0; i < n; i++) news.append(JSON.stringify({ n: ++appended }))
    return response.end(JSON.stringify({ appended }))
  }
  if (url.pathname === '/append-rt') {
    const n = Number(url.searchParams.get('n') ?? 1)
    for (let i = 0; i < n; i++) rtNews.append(JSON.stringify({ n: ++appendedRt }))
    return response.end(JSON.stringify({ appended: appendedRt }))
  }
  globalThis.gc?.()
  const memory = process.memoryUsage()
  response.end(
    JSON.stringify({
      heap: memory.heapUsed + memory.external,
      rss: memory.rss,
      sse: events.clients + roomEvents.clients,
      ws: ws.clients + locked.clients,
      listening,
      warnings,
      appended,
      rt: rt.clients,
      rtListening,
      rtChannels: rt[handlerStats]().channels,
      dynamicLogs: dynamic.size,
    }),
  )
})

let ports = 0
const ready = () => {
  if (++ports < 2) return
  const port = (server.address() as AddressInfo).port
  process.stdout.write(`${JSON.stringify({ port, control: (control.address() as AddressInfo).port })}\n`)
}
server.listen(0, '127.0.0.1', ready)
control.listen(0, '127.0.0.1', ready)
// The test ends this process; it also goes when the test process's pipe closes.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
