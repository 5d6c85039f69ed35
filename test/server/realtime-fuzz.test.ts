/**
 * Fuzz (issue 11): random and hostile realtime frames on both transports of a realtime
 * handler in its own process (fuzz-server.ts, `/rt`): WebSocket messages, SSE sessions
 * whose POSTs carry random frames, and random POSTs (bodies, types, sessions, sizes). From a
 * fixed seed (FUZZ_SEED overrides it). The process must survive, two bystanders (one per
 * transport) must get every event appended meanwhile in order, and no client, log listener,
 * channel state or memory may be left behind.
 */
import { connect as connectTcp } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { seededRandom } from '../core/fakes'
import { eventually, openSse, openWs, runCleanups, spawnServer } from './helpers'

afterEach(runCleanups)

const SEED = Number(process.env.FUZZ_SEED ?? 0x11ea1)
const WS_CASES = 240
const SSE_CASES = 120
const POST_CASES = 400
const CONCURRENCY = 16
const PATIENCE = 400

type Random = () => number
const int = (r: Random, n: number) => Math.floor(r() * n)
const pick = <T>(r: Random, items: readonly T[]): T => items[int(r, items.length)]!

function text(r: Random, max: number): string {
  const alphabets = ['abc', 'q1.0123456789', '\u0000\t\r\n "\\{}[]:,', 'é漢🙂\u2028', '\ud800']
  let out = ''
  for (let i = int(r, max); i > 0; i--) out += pick(r, [...pick(r, alphabets)])
  return out
}

function value(r: Random, depth = 0): unknown {
  const kind = int(r, depth > 2 ? 5 : 8)
  if (kind === 0) return text(r, 20)
  if (kind === 1) return pick(r, [null, true, 0, -1e308, '__proto__', 'x'.repeat(int(r, 20_000))])
  if (kind === 2) return r()
  if (kind === 3) return undefined
  if (kind === 4) return { __proto__: 1, constructor: value(r, depth + 1) }
  if (kind === 5) return Array.from({ length: int(r, 4) }, () => value(r, depth + 1))
  return { a: value(r, depth + 1), type: pick(r, ['subscribe', 'publish', 5]) }
}

const channels = ['news', 'news', 'room', 'room', 'secret', 'async', 'throw', 'nowhere', '', '__proto__', 'constructor']
function channel(r: Random): unknown {
  const kind = int(r, 10)
  if (kind < 5) return pick(r, channels)
  if (kind < 8) return `dyn/${int(r, 400)}`
  return pick(r, [5, null, ['news'], { toString: 'news' }, 'c'.repeat(250 + int(r, 20)), text(r, 12)])
}

/** One random client frame, as an object (or something that is not one). */
function frame(r: Random): unknown {
  const pid = () => pick(r, [undefined, `p${int(r, 30)}`, `p${int(r, 30)}`, '', 'x'.repeat(60 + int(r, 10)), 7, null])
  const since = () => pick(r, [undefined, 'q1.0', `q1.${int(r, 80)}`, `q1.${'9'.repeat(30)}`, 'bogus', '', 3, text(r, 10)])
  const kind = int(r, 10)
  if (kind < 3) return { type: 'subscribe', channel: channel(r), since: since() }
  if (kind < 5) return { type: 'unsubscribe', channel: channel(r) }
  if (kind < 8) return { type: 'publish', channel: channel(r), data: value(r), pid: pid() }
  if (kind === 8) return pick(r, [null, 5, 'ping', [], {}, { type: 'hello' }, { type: 'subscribe' }, { type: ['publish'], channel: 'room' }])
  return { type: 'subscribe', channel: `dyn/${int(r, 2000)}` }
}

/** Frames as WebSocket text: mostly JSON, sometimes broken, deep or huge. */
function wsText(r: Random): string | Buffer {
  const kind = int(r, 12)
  if (kind === 0) return text(r, 100)
  if (kind === 1) return `{"type":"publish","channel":"room","pid":"d","data":${'['.repeat(6000)}${']'.repeat(6000)}}`
  if (kind === 2) return `{"type":"publish","channel":"room","data":"${'y'.repeat(15_000 + int(r, 5000))}"}`
  if (kind === 3) return Buffer.from([0xff, 0x00, int(r, 256)])
  if (kind === 4) return 'ping'
  return JSON.stringify(frame(r)) ?? 'undefined'
}

const closedWithin = (socket: { once(event: 'close', fn: () => void): unknown }, ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    socket.once('close', () => (clearTimeout(timer), resolve()))
  })

async function wsCase(r: Random, url: string) {
  const socket = new WebSocket(url)
  socket.on('error', () => {})
  const opened = await new Promise<boolean>((resolve) => (socket.once('open', () => resolve(true)), socket.once('close', () => resolve(false))))
  if (!opened) return 0
  const style = pick(r, ['wait', 'wait', 'wait', 'close-at-once', 'never-read'] as const)
  if (style === 'never-read') socket.pause()
  const count = 1 + int(r, 25)
  for (let i = 0; i < count && socket.readyState === WebSocket.OPEN; i++) {
    const message = wsText(r)
    socket.send(message, { binary: Buffer.isBuffer(message) })
  }
  if (style === 'wait' && socket.readyState === WebSocket.OPEN) {
    const pong = new Promise<void>((resolve) => socket.on('message', (data) => String(data) === 'pong' && resolve()))
    socket.send('ping')
    await Promise.race([pong, closedWithin(socket, 5000)])
  } else if (style === 'never-read') await closedWithin(socket, PATIENCE)
  socket.terminate()
  return count
}

async function post(base: string, body: string, type = 'application/json') {
  try {
    const response = await fetch(base, { method: 'POST', headers: { 'content-type': type }, body })
    await response.arrayBuffer()
    return response.status
  } catch {
    return 0
  }
}

async function sseCase(r: Random, base: string) {
  const controller = new AbortController()
  const response = await fetch(base, { headers: { accept: 'text/event-stream' }, signal: controller.signal })
  const reader = response.body!.getReader()
  const first = await reader.read()
  const session = /"session":"([^"]+)"/.exec(new TextDecoder().decode(first.value))?.[1] ?? ''
  const reading = pick(r, [true, true, false])
  const drained = reading ? (async () => { try { while (!(await reader.read()).done); } catch {} })() : Promise.resolve()
  let count = 0
  for (let i = 1 + int(r, 4); i > 0; i--) {
    const frames = Array.from({ length: 1 + int(r, 30) }, () => frame(r))
    count += frames.length
    expect([204, 413]).toContain(await post(base, JSON.stringify({ session, frames })))
  }
  controller.abort()
  await drained
  return count
}

/** A random POST: wrong types, broken bodies, unknown sessions, too big. */
async function postCase(r: Random, base: string, port: number) {
  const kind = int(r, 8)
  if (kind === 0) return void (await post(base, text(r, 200)))
  if (kind === 1) return void (await post(base, '{}', pick(r, ['text/plain', '', 'application/jsonx', 'multipart/form-data'])))
  if (kind === 2) return void (await post(base, JSON.stringify({ session: pick(r, ['', 'nope', text(r, 40)]), frames: [frame(r)] })))
  if (kind === 3) return void (await post(base, JSON.stringify({ session: 5, frames: 'x' })))
  if (kind === 4) return void (await post(base, 'x'.repeat(300_000 + int(r, 100_000))))
  if (kind === 5) return void (await post(base, JSON.stringify({ session: 's', frames: Array.from({ length: 1001 + int(r, 50) }, () => 0) })))
  // Raw: a lying Content-Length, a cut body, or pipelined requests.
  const socket = connectTcp(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve) => (socket.once('connect', resolve), socket.once('close', resolve)))
  const body = JSON.stringify({ session: 'x', frames: [frame(r)] }) ?? ''
  const length = pick(r, [body.length, body.length + 50, 0, 99_999_999])
  socket.write(`POST /rt HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${body}`)
  await closedWithin(socket, int(r, PATIENCE))
  socket.destroy()
}

async function pool(tasks: (() => Promise<void>)[], limit: number) {
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < tasks.length) await tasks[next++]!()
  }))
}

interface Stats {
  heap: number
  rt: { websocket: number; sse: number }
  rtChannels: number
  dynamicLogs: number
  rtListening: { rtnews: number }
}

describe('fuzz: createRealtimeHandler under random and hostile frames on both transports', () => {
  it(`survives (seed ${SEED}); bystanders on both transports get every event in order; nothing leaks`, async () => {
    const child = await spawnServer<{ port: number; control: number }>(new URL('./fuzz-server.ts', import.meta.url), [], ['--expose-gc', '--no-warnings'])
    const { port, control } = child.ready
    const call = async <T>(path: string, init?: RequestInit) => (await (await fetch(`http://127.0.0.1:${control}${path}`, init)).json()) as T
    const base = `http://127.0.0.1:${port}/rt`
    const ws = await openWs(base.replace('http', 'ws'))
    ws.send({ type: 'subscribe', channel: 'news' })
    const sse = await openSse(base, { keepRaw: false })
    await eventually(() => expect(sse.events).toHaveLength(1))
    const session = JSON.parse(sse.events[0]!.data).session
    expect(await post(base, JSON.stringify({ session, frames: [{ type: 'subscribe', channel: 'news' }] }))).toBe(204)
    await eventually(() => expect(sse.events.length).toBe(3))
    const baseline = await call<Stats>('/stats')

    const r = seededRandom(SEED)
    let cases = 0
    const tasks: (() => Promise<void>)[] = []
    for (let i = 0; i < WS_CASES; i++) {
      const rr = seededRandom(int(r, 2 ** 32))
      tasks.push(async () => {
        const sent = await wsCase(rr, base.replace('http', 'ws'))
        cases += sent
      })
    }
    for (let i = 0; i < SSE_CASES; i++) {
      const rr = seededRandom(int(r, 2 ** 32))
      tasks.push(async () => {
        const sent = await sseCase(rr, base)
        cases += sent
      })
    }
    for (let i = 0; i < POST_CASES; i++) {
      const rr = seededRandom(int(r, 2 ** 32))
      tasks.push(async () => (await postCase(rr, base, port), void cases++))
    }
    for (let i = tasks.length - 1; i > 0; i--) {
      const j = int(r, i + 1)
      ;[tasks[i], tasks[j]] = [tasks[j]!, tasks[i]!]
    }
    const appending = tasks.map((task, i) => async () => {
      await task()
      if (i % 40 === 0) await call('/append-rt?n=3', { method: 'POST' })
    })
    await pool(appending, CONCURRENCY)
    const { appended } = await call<{ appended: number }>('/append-rt?n=2', { method: 'POST' })

    expect(child.alive(), child.stderr()).toBe(true)
    expect(cases).toBeGreaterThan(3000)
    const expected = Array.from({ length: appended }, (_, i) => ({ n: i + 1 }))
    const wsEvents = () => (ws.frames as { type: string; data: unknown }[]).filter((f) => f.type === 'event').map((f) => f.data)
    const sseEvents = () => sse.events.map((e) => JSON.parse(e.data)).filter((f) => f.type === 'event').map((f) => f.data)
    await eventually(() => expect(wsEvents()).toEqual(expected), 10_000)
    await eventually(() => expect(sseEvents()).toEqual(expected), 10_000)
    expect([ws.isClosed(), sse.ended]).toEqual([false, false])
    // Only the bystanders remain, with one log listener per transport's feed of `news`.
    await eventually(async () => {
      const stats = await call<Stats>('/stats')
      expect({ rt: stats.rt, listening: stats.rtListening.rtnews }).toEqual({ rt: { websocket: 1, sse: 1 }, listening: 2 })
    }, 10_000)
    const end = await call<Stats>('/stats')
    expect(end.rtChannels).toBeLessThanOrEqual(256 + 10)
    expect(end.dynamicLogs).toBeLessThanOrEqual(200)
    expect(end.heap - baseline.heap).toBeLessThan(48 * 1024 * 1024)
    console.log(`realtime fuzz seed ${SEED}: ${cases} frames and requests; ${appended} events to each bystander; heap ${(baseline.heap / 1e6).toFixed(1)} → ${(end.heap / 1e6).toFixed(1)} MB; ${end.rtChannels} channel states`)
  }, 120_000)
})
