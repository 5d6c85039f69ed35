/**
 * Fuzz (issue 10): thousands of random and adversarial WebSocket frames, WebSocket protocol
 * violations and HTTP requests against a real loopback server in its own process
 * (fuzz-server.ts), from a fixed seed (FUZZ_SEED overrides it to explore). Asserts that the
 * process survives, that two bystanders (an SSE stream and a WebSocket subscription) get
 * every event appended meanwhile, in order, that no client, log listener or memory is left
 * behind, and that memory stays bounded.
 */
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { seededRandom } from '../core/fakes'
import { eventually, openSse, openWs, runCleanups, spawnServer } from './helpers'

afterEach(runCleanups)

const SEED = Number(process.env.FUZZ_SEED ?? 0x7ab10)
const WS_CONNECTIONS = 320
const PROTOCOL_CASES = 200
const HTTP_CASES = 1600
/** Cases in flight at once. */
const CONCURRENCY = 24
/** How long a case waits for an answer the server may rightly never give (a partial request). */
const PATIENCE = 400

type Random = () => number
/** The project's seeded PRNG (mulberry32): the same cases for the same seed everywhere. */
const random: (seed: number) => Random = seededRandom

const int = (r: Random, n: number) => Math.floor(r() * n)
const pick = <T>(r: Random, items: readonly T[]): T => items[int(r, items.length)]!
const bytes = (r: Random, n: number) => Buffer.from(Array.from({ length: n }, () => int(r, 256)))

function text(r: Random, max: number): string {
  const alphabets = ['abc', 'n1.0123456789', '\u0000\u0001\t\r\n "\\{}[]:,', 'é漢字🙂\u2028\ufeff', '\ud800\udfff']
  let out = ''
  for (let i = int(r, max); i > 0; i--) out += pick(r, [...pick(r, alphabets)])
  return out
}

/** Random JSON text, sometimes nested far too deep to stringify again. */
function json(r: Random, depth = 0): string {
  const kind = int(r, depth > 3 ? 4 : 8)
  if (kind === 0) return JSON.stringify(text(r, 20))
  if (kind === 1) return pick(r, ['null', 'true', '0', '-1e308', '1e999', '12345678901234567890', '"\\ud800"', '"__proto__"'])
  if (kind === 2) return JSON.stringify(r())
  if (kind === 3) return JSON.stringify('x'.repeat(int(r, 4000)))
  if (kind === 4) return `[${Array.from({ length: int(r, 4) }, () => json(r, depth + 1)).join(',')}]`
  if (kind === 5) return `{${['"__proto__"', '"constructor"', '"a"', '"type"'].slice(0, int(r, 4)).map((k) => `${k}:${json(r, depth + 1)}`).join(',')}}`
  const levels = 1000 + int(r, 6000)
  return kind === 6 ? `${'['.repeat(levels)}${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
}

type WsInput = { text: string } | { binary: Buffer } | { invalidUtf8: Buffer } | { fragments: string[] }

function wsInput(r: Random): WsInput {
  const channel = () => pick(r, ['news', 'room', 'slow', 'room', '', '__proto__', 'constructor', 'x'.repeat(int(r, 3000)), text(r, 8)])
  const since = () => pick(r, [undefined, 'n1.0', `n1.${int(r, 60)}`, `n1.${int(r, 5000)}`, 'r1.2', 'bogus', '', `n1.${'9'.repeat(40)}`, text(r, 12)])
  const field = (name: string, value: string | undefined) => (value === undefined ? '' : `,"${name}":${value}`)
  const kind = int(r, 14)
  if (kind <= 2) return { text: `{"type":"subscribe"${field('channel', JSON.stringify(channel()))}${field('since', JSON.stringify(since()))}}` }
  if (kind === 3) return { text: `{"type":"unsubscribe","channel":${JSON.stringify(channel())}}` }
  if (kind <= 6) return { text: `{"type":"publish","channel":${JSON.stringify(channel())},"data":${json(r)}}` }
  if (kind === 7) return { text: pick(r, ['ping', 'ping', 'pong', '', 'null', '[]', '{}', '{"type":5,"channel":[]}', '{"channel":"news","type":"subscribe","since":{"toString":1}}']) }
  if (kind === 8) return { text: text(r, 200) }
  if (kind === 9) return { binary: bytes(r, int(r, 300)) }
  if (kind === 10) return { invalidUtf8: Buffer.concat([Buffer.from('{"type":"'), bytes(r, 4), Buffer.from([0xff, 0xc0])]) }
  if (kind === 11) {
    const whole = `{"type":"subscribe","channel":"news","since":"n1.${int(r, 40)}"}`
    const cut = 1 + int(r, whole.length - 2)
    return { fragments: [whole.slice(0, cut), whole.slice(cut)] }
  }
  if (kind === 12) return { text: `{"type":"publish","channel":"room","data":"${'y'.repeat(15_000 + int(r, 3000))}"}` }
  return { text: `{"type":"subscribe","channel":"news","since":"n1.${int(r, 60)}"}` }
}

/** Resolves when `socket` closes, or after `ms`. */
const closedWithin = (socket: WebSocket | Socket, ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    socket.once('close', () => (clearTimeout(timer), resolve()))
  })

/** One WebSocket connection sending a run of random frames; resolves with how many it sent. */
async function wsCase(r: Random, url: string): Promise<number> {
  const frames = Array.from({ length: 1 + int(r, 14) }, () => wsInput(r))
  const style = pick(r, ['wait', 'wait', 'wait', 'close-at-once', 'never-read'] as const)
  const socket = new WebSocket(url, pick(r, [{}, { origin: 'https://evil.example' }, { origin: 'null' }]))
  socket.on('error', () => {})
  const opened = await new Promise<boolean>((resolve) => {
    socket.once('open', () => resolve(true))
    socket.once('close', () => resolve(false))
  })
  if (!opened) return 0
  if (style === 'never-read') socket.pause()
  for (const frame of frames) {
    if (socket.readyState !== WebSocket.OPEN) break
    if ('text' in frame) socket.send(frame.text)
    else if ('binary' in frame) socket.send(frame.binary, { binary: true })
    else if ('invalidUtf8' in frame) socket.send(frame.invalidUtf8, { binary: false })
    else for (const [i, part] of frame.fragments.entries()) socket.send(part, { fin: i === frame.fragments.length - 1 })
  }
  if (style === 'wait' && socket.readyState === WebSocket.OPEN) {
    // Frames are handled in order: the pong says the server got through all of them.
    const pong = new Promise<void>((resolve) => socket.on('message', (data) => String(data) === 'pong' && resolve()))
    socket.send('ping')
    await Promise.race([pong, closedWithin(socket, 5000)])
  } else if (style === 'never-read') await closedWithin(socket, PATIENCE)
  socket.terminate()
  return frames.length
}

/** A raw frame from a client: `mask` false breaks the protocol (clients must mask). */
function rawFrame(opcode: number, payload: Buffer, { fin = true, mask = true, rsv = 0 } = {}): Buffer {
  const length = payload.length
  const head = [((fin ? 0x80 : 0) | rsv | opcode) & 0xff]
  if (length < 126) head.push((mask ? 0x80 : 0) | length)
  else head.push((mask ? 0x80 : 0) | 126, length >> 8, length & 0xff)
  const key = Buffer.from([1, 2, 3, 4])
  const body = mask ? Buffer.from(payload.map((b, i) => b ^ key[i % 4]!)) : payload
  return Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body])
}

/** A WebSocket handshake, then bytes that break the protocol. */
function protocolViolation(r: Random): Buffer {
  const kind = int(r, 10)
  if (kind === 0) return rawFrame(1, Buffer.from('{"type":"subscribe","channel":"news"}'), { mask: false })
  if (kind === 1) return rawFrame(pick(r, [3, 4, 5, 6, 7, 0xb, 0xc, 0xf]), bytes(r, 10))
  if (kind === 2) return rawFrame(9, bytes(r, 200))
  if (kind === 3) return rawFrame(8, Buffer.concat([Buffer.from([0x03, 0xe7]), Buffer.from([0xff])]))
  if (kind === 4) return rawFrame(0, Buffer.from('continuation without a start'))
  if (kind === 5) return Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4])
  if (kind === 6) return rawFrame(1, Buffer.from('ping'), { rsv: 0x40 })
  if (kind === 7) return rawFrame(1, Buffer.from('{"type":"subscribe","channel":"news"}')).subarray(0, 5)
  if (kind === 8) return rawFrame(8, Buffer.from([0x03, 0xe8]), { fin: false })
  return bytes(r, 1 + int(r, 400))
}

/** Writes raw bytes and waits for the server's first answer (or its close, or patience). */
async function rawCase(port: number, request: Buffer, r: Random) {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve) => (socket.once('connect', resolve), socket.once('close', resolve)))
  const style = pick(r, ['read', 'read', 'read', 'never-read', 'close-at-once', 'half'] as const)
  if (style === 'never-read') socket.pause()
  if (style === 'half') socket.write(request.subarray(0, Math.floor(request.length / 2)))
  else socket.write(request)
  if (style === 'read') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PATIENCE)
      socket.once('data', () => (clearTimeout(timer), resolve()))
      socket.once('close', () => (clearTimeout(timer), resolve()))
    })
  } else if (style !== 'close-at-once') await closedWithin(socket, int(r, PATIENCE))
  socket.destroy()
}

async function protocolCase(r: Random, port: number) {
  const key = bytes(r, 16).toString('base64')
  const handshake = `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write(handshake)
  const upgraded = await new Promise<boolean>((resolve) => {
    socket.once('data', (data: Buffer) => resolve(data.toString('latin1').startsWith('HTTP/1.1 101')))
    socket.once('close', () => resolve(false))
  })
  if (upgraded) {
    socket.write(protocolViolation(r))
    await closedWithin(socket, PATIENCE)
  }
  socket.destroy()
}

/** A random, often malformed, HTTP request (sometimes two, pipelined). */
function httpRequest(r: Random): Buffer {
  const method = pick(r, ['GET', 'GET', 'GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'G\u0000T', 'PRI'])
  const path = pick(r, [
    '/events',
    '/room',
    `/events?lastEventId=${encodeURIComponent(text(r, 20))}`,
    `/events?lastEventId=n1.${int(r, 80)}`,
    '/events?lastEventId=%ZZ%',
    '//[?lastEventId=n1.1',
    '*',
    `/events/${'a'.repeat(int(r, 9000))}`,
    '/ws',
    '/locked',
    '/locked',
    '/nowhere',
  ])
  const version = pick(r, ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTX'])
  const headers: string[] = []
  if (r() < 0.9) headers.push('Host: x')
  if (r() < 0.5) headers.push(`Last-Event-ID: ${pick(r, [`n1.${int(r, 80)}`, 'n0.3', text(r, 30).replace(/[\r\n]/g, ''), 'é'.repeat(int(r, 3000)), '\u0001\u007f'])}`)
  if (r() < 0.15) headers.push('Last-Event-ID: n1.1', 'Last-Event-ID: n1.2')
  if (r() < 0.2) headers.push('Accept: text/event-stream')
  if (r() < (path === '/locked' ? 0.9 : 0.1)) headers.push('Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${pick(r, ['', 'short', bytes(r, 16).toString('base64')])}`, `Sec-WebSocket-Version: ${pick(r, ['13', '8', 'x'])}`)
  if (r() < (path === '/locked' ? 0.8 : 0.1)) headers.push(`Origin: ${pick(r, ['null', 'https://evil.example', 'https://app.example', text(r, 10).replace(/[\r\n]/g, '')])}`)
  if (r() < 0.05) headers.push(`X-Big: ${'b'.repeat(20_000)}`)
  let body = ''
  const bodyKind = int(r, 6)
  if (bodyKind === 0) (headers.push('Content-Length: 5'), (body = 'hello'))
  if (bodyKind === 1) (headers.push('Transfer-Encoding: chunked'), (body = pick(r, ['5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', '5\r\nhel'])))
  if (bodyKind === 2) headers.push(pick(r, ['Content-Length: -1', 'Content-Length: 99999999999999999999', 'Content-Length: 1, 2']))
  const raw = `${method} ${path} ${version}\r\n${headers.join('\r\n')}\r\n\r\n${body}`
  const request = Buffer.from(raw, 'latin1')
  if (r() < 0.05) return Buffer.concat([request, bytes(r, 40)])
  return r() < 0.1 ? Buffer.concat([request, request]) : request
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool(tasks: (() => Promise<void>)[], limit: number) {
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) await tasks[next++]!()
    }),
  )
}

interface Stats {
  heap: number
  rss: number
  sse: number
  ws: number
  listening: { news: number; room: number }
  warnings: number
  appended: number
}

async function startFuzzServer() {
  const child = await spawnServer<{ port: number; control: number }>(new URL('./fuzz-server.ts', import.meta.url), [], ['--expose-gc', '--no-warnings'])
  const ports = child.ready
  const control = async <T>(path: string, init?: RequestInit): Promise<T> => {
    try {
      return (await (await fetch(`http://127.0.0.1:${ports.control}${path}`, init)).json()) as T
    } catch (error) {
      await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, 1000))])
      throw new Error(`the fuzz server did not answer (${child.alive() ? 'still running' : `exited ${child.exitCode()}`}): ${child.stderr()}`, { cause: error })
    }
  }
  return {
    ...ports,
    alive: child.alive,
    stderr: child.stderr,
    append: (n: number) => control<{ appended: number }>(`/append?n=${n}`, { method: 'POST' }),
    stats: () => control<Stats>('/stats'),
  }
}

describe('fuzz: tabwire/server under random and adversarial input', () => {
  it(`survives thousands of cases (seed ${SEED}); bystanders get every event in order; nothing leaks`, async () => {
    const server = await startFuzzServer()
    const wsUrl = `ws://127.0.0.1:${server.port}/ws`
    const sseBystander = await openSse(`http://127.0.0.1:${server.port}/events`, { keepRaw: false })
    const wsBystander = await openWs(wsUrl)
    wsBystander.send({ type: 'subscribe', channel: 'news' })
    await eventually(() => expect(wsBystander.frames).toHaveLength(1))
    const baseline = await server.stats()

    const r = random(SEED)
    let cases = 0
    const tasks: (() => Promise<void>)[] = []
    for (let i = 0; i < WS_CONNECTIONS; i++) {
      const rr = random(int(r, 2 ** 32))
      tasks.push(async () => {
        const sent = await wsCase(rr, wsUrl)
        cases += sent
      })
    }
    for (let i = 0; i < PROTOCOL_CASES; i++) {
      const rr = random(int(r, 2 ** 32))
      tasks.push(async () => (await protocolCase(rr, server.port), void cases++))
    }
    for (let i = 0; i < HTTP_CASES; i++) {
      const rr = random(int(r, 2 ** 32))
      tasks.push(async () => (await rawCase(server.port, httpRequest(rr), rr), void cases++))
    }
    // Interleaved by the same seed, so each part meets the others.
    for (let i = tasks.length - 1; i > 0; i--) {
      const j = int(r, i + 1)
      ;[tasks[i], tasks[j]] = [tasks[j]!, tasks[i]!]
    }
    // Events keep coming all along: the bystanders must get every one.
    const appending = tasks.map((task, i) => async () => {
      await task()
      if (i % 50 === 0) await server.append(3)
    })

    const started = performance.now()
    const tenth = Math.floor(appending.length / 10)
    await pool(appending.slice(0, tenth), CONCURRENCY)
    const warm = await server.stats()
    await pool(appending.slice(tenth), CONCURRENCY)
    const seconds = (performance.now() - started) / 1000
    const { appended } = await server.append(2)

    expect(server.alive(), server.stderr()).toBe(true)
    expect(cases).toBeGreaterThan(3000)
    const expected = Array.from({ length: appended }, (_, i) => ({ n: i + 1 }))
    await eventually(() => expect(sseBystander.events.map((e) => JSON.parse(e.data))).toEqual(expected), 10_000)
    expect(sseBystander.events.map((e) => e.id)).toEqual(expected.map((_, i) => `n1.${i + 1}`))
    await eventually(() => expect(wsBystander.frames.slice(1).map((f) => (f as { data: unknown }).data)).toEqual(expected), 10_000)
    expect([sseBystander.ended, wsBystander.isClosed()]).toEqual([false, false])

    // Every fuzz connection is gone: only the bystanders remain, with one log listener each
    // for the SSE stream and the WebSocket channel they follow.
    await eventually(async () => expect((({ sse, ws, listening }) => ({ sse, ws, listening }))(await server.stats())).toEqual({ sse: 1, ws: 1, listening: { news: 2, room: 0 } }), 10_000)
    const end = await server.stats()
    // Bounded: the logs are capped (room: 100 entries of ≤ 16 KiB); the rest must not grow with the cases run.
    expect(end.heap - warm.heap).toBeLessThan(16 * 1024 * 1024)
    expect(end.heap - baseline.heap).toBeLessThan(32 * 1024 * 1024)
    expect(server.alive()).toBe(true)
    console.log(
      `fuzz seed ${SEED}: ${cases} cases in ${seconds.toFixed(1)} s; ${appended} events to each bystander; ` +
        `heap ${(baseline.heap / 1e6).toFixed(1)} → ${(warm.heap / 1e6).toFixed(1)} → ${(end.heap / 1e6).toFixed(1)} MB; ${end.warnings} warnings`,
    )
  }, 120_000)
})
