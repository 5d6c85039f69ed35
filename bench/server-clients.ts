/**
 * A client process of `npm run bench:server`: argv = kind (`sse` | `ws`), variant
 * (`tabwire` | `bare`), port, count. Opens `count` connections to 127.0.0.1, sends
 * `{ ready: open }` once all are open, then checks every event each connection gets:
 * its number must be the next expected one (no gap, no repeat, no reordering), and its
 * delivery latency goes into a histogram. Answers bench/server.ts's `expect` and `stats`.
 */
import { request } from 'node:http'
import { WebSocket } from 'ws'
import type { ClientRequest, ClientStats } from './server-protocol.ts'

const [kind, variant, portText, countText] = process.argv.slice(2)
const port = Number(portText)
const count = Number(countText)
const now = () => performance.timeOrigin + performance.now()

/** 0.1 ms buckets up to 60 s; later deliveries land in the last one. */
const histogram = new Uint32Array(600_001)
let phase = { from: 0, to: -1 }
let stats = { open: 0, complete: 0, delivered: 0, wrong: 0, dropped: 0 }

interface Connection {
  next: number
}
const connections: Connection[] = []
const track = () => {
  const connection = { next: phase.from }
  connections.push(connection)
  return connection
}

/** Reads the event number and timestamp from an event's JSON text, at `at` or later. */
function receive(connection: Connection, text: string, at: number) {
  const n = text.indexOf('"n":', at)
  if (n < 0) return
  const number = Number.parseInt(text.slice(n + 4, n + 24), 10)
  if (number < phase.from || connection.next > phase.to) return
  const t = text.indexOf('"t":', n)
  const sent = Number.parseFloat(text.slice(t + 4, t + 30))
  histogram[Math.min(histogram.length - 1, Math.max(0, Math.round((now() - sent) * 10)))]!++
  if (number !== connection.next) {
    stats.wrong++
    connection.next = number + 1
    return
  }
  stats.delivered++
  if (++connection.next === phase.to + 1) stats.complete++
}

function openSse(): Promise<void> {
  return new Promise((resolve, reject) => {
    const connection = track()
    const req = request({ host: '127.0.0.1', port, path: '/sse', agent: false, headers: { accept: 'text/event-stream' } }, (response) => {
      stats.open++
      resolve()
      let buffer = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        buffer += chunk
        let start = 0
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n', start)) {
          const data = buffer.indexOf('data: ', start)
          if (data >= 0 && data < end) receive(connection, buffer, data)
          start = end + 2
        }
        buffer = buffer.slice(start)
      })
      response.on('close', () => {
        stats.open--
        stats.dropped++
      })
    })
    req.on('error', reject)
    req.end()
  })
}

function openWs(): Promise<void> {
  return new Promise((resolve, reject) => {
    const connection = track()
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`)
    let ready = false
    socket.on('open', () => {
      if (variant === 'bare') {
        ready = true
        stats.open++
        resolve()
      } else socket.send(JSON.stringify({ type: 'subscribe', channel: 'feed' }))
    })
    socket.on('message', (data) => {
      const text = data.toString()
      if (!ready) {
        ready = true
        stats.open++
        return resolve()
      }
      receive(connection, text, 0)
    })
    socket.on('error', reject)
    socket.on('close', () => {
      if (!ready) return reject(new Error('closed before ready'))
      stats.open--
      stats.dropped++
    })
  })
}

async function openAll() {
  const open = kind === 'sse' ? openSse : openWs
  // A few at a time: a flood of handshakes overflows the listen backlog.
  for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, open))
}

process.on('message', (message: ClientRequest) => {
  if (message.type === 'expect') {
    phase = { from: message.from, to: message.to }
    stats = { ...stats, complete: 0, delivered: 0, wrong: 0 }
    histogram.fill(0)
    for (const connection of connections) connection.next = message.from
    return process.send!({ id: message.id })
  }
  const pairs: [number, number][] = []
  histogram.forEach((n, bucket) => n && pairs.push([bucket, n]))
  const reply: ClientStats = { id: message.id, ...stats, histogram: pairs }
  process.send!(reply)
})

void openAll().then(
  () => process.send!({ ready: stats.open }),
  (error: unknown) => process.send!({ failed: String(error) }),
)
process.on('disconnect', () => process.exit(0))
