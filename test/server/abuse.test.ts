/**
 * The third outside review of `tabwire/server`: a client that resubscribes without reading,
 * a store whose unsubscribe throws, requests pipelined behind an SSE stream, a log that
 * tells entries out of order, and a resubscribe with `since` on the same socket. Each could
 * grow the server's memory without bound, crash it, or lose or double events.
 */
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryLog, type LogEntry, type Replay, type ReplayLog } from '../../src/server/log'
import { createSseHandler } from '../../src/server/sse'
import { createWebSocketHandler } from '../../src/server/ws'
import { eventually, onCleanup, openSse, openWs, rawRequest, runCleanups, sleep, startServer } from './helpers'

afterEach(runCleanups)

/** Captures the handlers' process warnings (and keeps them out of the test output). */
function warnings() {
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
  onCleanup(() => spy.mockRestore())
  return () => spy.mock.calls.map((call) => String(call[0]))
}

/** Fails the test on an unhandled rejection or uncaught exception while it runs. */
function noUnhandled() {
  const caught: unknown[] = []
  const record = (error: unknown) => caught.push(error)
  process.on('unhandledRejection', record)
  process.on('uncaughtException', record)
  onCleanup(() => {
    process.off('unhandledRejection', record)
    process.off('uncaughtException', record)
  })
  return caught
}

/** A masked client text frame (what a browser sends). */
function clientFrame(text: string) {
  const payload = Buffer.from(text)
  const mask = randomBytes(4)
  const length = payload.length
  const head = length < 126 ? Buffer.from([0x81, 0x80 | length]) : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 255])
  return Buffer.concat([head, mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!))])
}

describe('a WebSocket client that resubscribes with since over and over without reading', () => {
  // Each resubscribe started a replay that wrote the `subscribed` frame and a 64 KiB chunk
  // before waiting for drain, unchecked; the waiting replays piled up with their listeners.
  it('keeps one drain listener and the socket within maxBuffered, and is cut once its frames pass it', async () => {
    const maxBuffered = 4096
    const news = createMemoryLog({ epoch: 'n1', capacity: 5000 })
    for (let i = 0; i < 2000; i++) news.append(JSON.stringify({ i, pad: 'x'.repeat(200) }))
    const ws = createWebSocketHandler({ channels: { news }, heartbeat: 0, maxBuffered })
    onCleanup(() => ws.close())
    let server: Duplex | undefined
    const srv = await startServer({
      upgrade: (request, socket, head) => {
        server = socket
        ws.handleUpgrade(request, socket, head)
      },
    })
    const key = randomBytes(16).toString('base64')
    const client = await rawRequest(
      srv.port,
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      { read: false },
    )
    await eventually(() => expect(ws.clients).toBe(1))
    const socket = server as Socket
    client.socket.setNoDelay(true)
    // Unsubscribe first, so that each subscribe replays everything from the start again.
    const frames = Buffer.concat([
      clientFrame(JSON.stringify({ type: 'unsubscribe', channel: 'news' })),
      clientFrame(JSON.stringify({ type: 'subscribe', channel: 'news', since: 'n1.1' })),
    ])
    let most = { drain: 0, buffered: 0 }
    for (let i = 0; i < 3000 && !socket.destroyed; i++) {
      client.socket.write(frames)
      await sleep(1)
      most = { drain: Math.max(most.drain, socket.listenerCount('drain')), buffered: Math.max(most.buffered, socket.writableLength) }
    }
    // One listener, whatever the number of replays that waited (they are called off).
    expect(most.drain).toBeLessThanOrEqual(1)
    // A replay adds at most one 64 KiB chunk to a socket that is not waiting for drain, and
    // the frames before a replay are cut past maxBuffered plus that chunk.
    expect(most.buffered).toBeLessThanOrEqual(maxBuffered + 2 * 65_536)
    // Once the kernel's buffers are full, the `subscribed` frames it never reads pass it: cut.
    await eventually(() => expect(socket.destroyed).toBe(true))
    await eventually(() => expect(ws.clients).toBe(0))
  })
})

describe("a store whose unsubscribe throws (a broken connection) warns; the process goes on", () => {
  function throwingUnsubscribe() {
    const inner = createMemoryLog({ epoch: 'e' })
    let throws = 0
    const log: ReplayLog = {
      epoch: inner.epoch,
      append: (data, event) => inner.append(data, event),
      since: (id) => inner.since(id),
      subscribe(listener) {
        const off = inner.subscribe(listener)
        return () => {
          off()
          throws++
          throw new Error('store connection lost while unsubscribing')
        }
      },
    }
    return { inner, log, throws: () => throws }
  }

  it('SSE: a client that leaves', async () => {
    const caught = noUnhandled()
    const taken = warnings()
    const { log, throws } = throwingUnsubscribe()
    const sse = createSseHandler({ log, heartbeat: 0 })
    const srv = await startServer({ request: sse })
    const client = await openSse(srv.url('/events'))
    await eventually(() => expect(client.retries).toHaveLength(1))
    client.close()
    await eventually(() => expect(throws()).toBe(1))
    await eventually(() => expect(taken()).toContainEqual(expect.stringMatching(/failed to unsubscribe/)))
    expect(sse.clients).toBe(0)
    // The handler serves the next client.
    const next = await openSse(srv.url('/events'))
    log.append('after')
    await eventually(() => expect(next.events.map((e) => e.data)).toEqual(['after']))
    expect(caught).toEqual([])
  })

  it.each(['close', 'unsubscribe'])('WebSocket: a client that leaves by %s', async (how) => {
    const caught = noUnhandled()
    const taken = warnings()
    const { log, throws } = throwingUnsubscribe()
    const ws = createWebSocketHandler({ channels: { log }, heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    client.send({ type: 'subscribe', channel: 'log' })
    await eventually(() => expect(client.frames).toHaveLength(1))
    if (how === 'close') client.socket.close()
    else client.send({ type: 'unsubscribe', channel: 'log' })
    await eventually(() => expect(throws()).toBe(1))
    await eventually(() => expect(taken()).toContainEqual(expect.stringMatching(/failed to unsubscribe/)))
    await sleep(20)
    expect(caught).toEqual([])
  })

  it('SSE: a slow client cut inside the flush; the other client still gets the entry', async () => {
    const caught = noUnhandled()
    const taken = warnings()
    const { log, throws } = throwingUnsubscribe()
    const sse = createSseHandler({ log, heartbeat: 0, maxBuffered: 4096 })
    const srv = await startServer({ request: sse })
    const stuck = await rawRequest(srv.port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n', { read: false })
    await eventually(() => expect(sse.clients).toBe(1))
    for (let i = 0; i < 400 && !stuck.isClosed() && sse.clients; i++) {
      log.append('y'.repeat(16_384))
      await sleep(1)
    }
    await eventually(() => expect(sse.clients).toBe(0))
    expect(throws()).toBe(1)
    expect(taken()).toContainEqual(expect.stringMatching(/failed to unsubscribe/))
    expect(caught).toEqual([])
  })
})

describe('requests pipelined behind an SSE stream', () => {
  // The stream never ends and was keep-alive: Node parsed and held every pipelined request.
  it('are not parsed: the stream says Connection: close, goes on, and its close is seen at once', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const sse = createSseHandler({ log, heartbeat: 0 })
    let requests = 0
    const srv = await startServer({
      request: (request, response) => {
        requests++
        sse(request, response)
      },
    })
    const client = await rawRequest(srv.port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n')
    await eventually(() => expect(client.received()).toContain('retry: 2000'))
    expect(client.received()).toMatch(/\r\nconnection: close\r\n/i)
    const pipelined = Buffer.from('GET /events?lastEventId=e1.0 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000))
    for (let i = 0; i < 10; i++) {
      client.socket.write(pipelined)
      await sleep(5)
    }
    await sleep(50)
    expect(requests).toBe(1)
    log.append('still streaming')
    await eventually(() => expect(client.received()).toContain('data: still streaming'))
    expect(sse.clients).toBe(1)
    client.socket.destroy()
    await eventually(() => expect(sse.clients).toBe(0))
  })

  it('a pipelined request parsed with the stream (same packet) is left unanswered, and the stream goes on', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const sse = createSseHandler({ log, heartbeat: 0 })
    const srv = await startServer({ request: sse })
    const request = 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n'
    const client = await rawRequest(srv.port, request.repeat(3))
    await eventually(() => expect(sse.clients).toBe(1))
    log.append('once')
    await eventually(() => expect(client.received()).toContain('data: once'))
    expect(client.received().match(/HTTP\/1\.1 200/g)).toHaveLength(1)
    expect(client.received().match(/data: once/g)).toHaveLength(1)
  })
})

describe('a log that tells entries out of order (an append made by a listener)', () => {
  /** Tells each appended entry; `swap` makes the next two entries be told newest first. */
  function disorderedLog(sinceDelay: number) {
    const inner = createMemoryLog({ epoch: 'r' })
    const listeners = new Set<(entry: LogEntry) => void>()
    const tell = (entry: LogEntry) => listeners.forEach((listener) => listener(entry))
    const log: ReplayLog & { appendSwapped(a: string, b: string): void } = {
      epoch: inner.epoch,
      append: (data, event) => {
        const entry = inner.append(data, event)
        tell(entry)
        return entry
      },
      appendSwapped(a, b) {
        const first = inner.append(a)
        const second = inner.append(b)
        tell(second)
        tell(first)
      },
      since: async (id): Promise<Replay> => {
        const answer = inner.since(id)
        await sleep(sinceDelay)
        return answer
      },
      subscribe(listener) {
        listeners.add(listener)
        return () => void listeners.delete(listener)
      },
    }
    return log
  }

  it('SSE: a client catching up gets both, in seq order (the feed dropped one by seq)', async () => {
    const taken = warnings()
    const log = disorderedLog(100)
    log.append('"a"')
    const sse = createSseHandler({ log, heartbeat: 0 })
    const srv = await startServer({ request: sse })
    const client = await openSse(srv.url('/events'), { headers: { 'last-event-id': 'r.0' } })
    await sleep(20)
    log.appendSwapped('"question"', '"answer"') // during the client's since()
    await sleep(200)
    log.append('"after"')
    await eventually(() => expect(client.events.map((e) => e.id)).toEqual(['r.1', 'r.2', 'r.3', 'r.4']))
    expect(taken()).toContainEqual(expect.stringMatching(/after a newer one/))
  })

  it('WebSocket: live clients get both in one batch, in seq order', async () => {
    warnings()
    const log = disorderedLog(0)
    const ws = createWebSocketHandler({ channels: { room: log }, heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    client.send({ type: 'subscribe', channel: 'room' })
    await eventually(() => expect(client.frames).toHaveLength(1))
    log.appendSwapped('"question"', '"answer"')
    log.append('"after"')
    await eventually(() => expect(client.frames).toHaveLength(4))
    expect(client.frames.slice(1).map((f) => (f as { id: string }).id)).toEqual(['r.1', 'r.2', 'r.3'])
  })
})

describe('a resubscribe with since on the same socket', () => {
  // stop() flushed the old subscription's waiting batch, then the replay from `since` sent it again.
  it('does not send the events waiting in the batch twice', async () => {
    const a = createMemoryLog({ epoch: 'e1' })
    const ws = createWebSocketHandler({ channels: { a }, heartbeat: 0, batchWindow: 40 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    const ids = () =>
      client.frames.filter((f) => f !== 'pong').map((f) => ((f as { type: string }).type === 'event' ? (f as { id: string }).id : (f as { type: string }).type))
    client.send({ type: 'subscribe', channel: 'a' })
    await eventually(() => expect(ids()).toEqual(['subscribed']))
    for (let round = 0; round < 3; round++) {
      await sleep(60)
      const last = a.append('"x"').id // after a quiet spell: written at once
      await eventually(() => expect(ids().at(-1)).toBe(last))
      a.append('"y"') // these wait for the window (or, on a busy machine, went out: no double either way)
      a.append('"z"')
      client.send({ type: 'subscribe', channel: 'a', since: last })
      await eventually(() => expect(ids().filter((f) => f === 'subscribed')).toHaveLength(round + 2))
    }
    client.send('ping')
    await eventually(() => expect(client.frames.at(-1)).toBe('pong'))
    const events = ids().filter((f) => f.startsWith('e1.'))
    expect(events).toEqual(['e1.1', 'e1.2', 'e1.3', 'e1.4', 'e1.5', 'e1.6', 'e1.7', 'e1.8', 'e1.9'])
  })

  it('a deliberate re-fetch after an unsubscribe still gets the history again', async () => {
    const a = createMemoryLog({ epoch: 'e1' })
    a.append('"1"')
    a.append('"2"')
    const ws = createWebSocketHandler({ channels: { a }, heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    const events = () => client.frames.filter((f) => (f as { type: string }).type === 'event').map((f) => (f as { id: string }).id)
    client.send({ type: 'subscribe', channel: 'a', since: 'e1.0' })
    await eventually(() => expect(events()).toEqual(['e1.1', 'e1.2']))
    client.send({ type: 'unsubscribe', channel: 'a' })
    client.send({ type: 'subscribe', channel: 'a', since: 'e1.0' })
    await eventually(() => expect(events()).toEqual(['e1.1', 'e1.2', 'e1.1', 'e1.2']))
  })
})
