import type { IncomingMessage } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryLog, type ReplayLog } from '../../src/server/log'
import { createSseHandler, type SseHandlerOptions } from '../../src/server/sse'
import { asyncLog, countingLog, eventually, onCleanup, openSse, rawRequest, runCleanups, sleep, startServer, tick } from './helpers'

afterEach(runCleanups)

/** A log in epoch `e1` with `count` entries `d1`, `d2`, …. */
function filled(count: number, capacity?: number) {
  const log = createMemoryLog({ epoch: 'e1', ...(capacity === undefined ? {} : { capacity }) })
  for (let i = 1; i <= count; i++) log.append(`d${i}`)
  return log
}

/** An SSE endpoint on a real loopback server. */
async function serve(options: Partial<SseHandlerOptions> & { log: ReplayLog }) {
  const sse = createSseHandler({ heartbeat: 0, ...options })
  const srv = await startServer({ request: sse })
  return { sse, srv, url: (path = '/events') => srv.url(path) }
}

const datas = (client: { events: { data: string }[] }) => client.events.map((e) => e.data)

describe('createSseHandler: the stream', () => {
  it('answers 200 with the event-stream headers, plus the extra ones', async () => {
    const { url } = await serve({ log: filled(0), headers: { 'access-control-allow-origin': '*', 'x-extra': 'yes' } })
    const client = await openSse(url())
    expect(client.response.status).toBe(200)
    expect(client.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(client.response.headers.get('cache-control')).toBe('no-cache, no-transform')
    expect(client.response.headers.get('x-accel-buffering')).toBe('no')
    expect(client.response.headers.get('access-control-allow-origin')).toBe('*')
    expect(client.response.headers.get('x-extra')).toBe('yes')
  })

  // The stream's own headers win over the user's, whatever case the user wrote them in.
  it('keeps its own headers whatever case the extra headers use', async () => {
    const { url } = await serve({ log: filled(0), headers: { 'Content-Type': 'text/html', 'Cache-Control': 'max-age=60' } })
    const client = await openSse(url())
    expect(client.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(client.response.headers.get('cache-control')).toBe('no-cache, no-transform')
  })

  it('sends the retry hint first, before any replayed event (default 2000 ms)', async () => {
    const { url } = await serve({ log: filled(3) })
    const client = await openSse(url(), { headers: { 'last-event-id': 'e1.1' } })
    await eventually(() => expect(datas(client)).toEqual(['d2', 'd3']))
    expect(client.raw.startsWith('retry: 2000\n\n')).toBe(true)
    expect(client.retries).toEqual([2000])
  })

  it('sends the retry hint it is given', async () => {
    const { url } = await serve({ log: filled(0), retry: 1234 })
    const client = await openSse(url())
    await eventually(() => expect(client.retries).toEqual([1234]))
    expect(client.raw.startsWith('retry: 1234\n\n')).toBe(true)
  })

  it('sends a heartbeat comment every `heartbeat` ms', async () => {
    const { url } = await serve({ log: filled(0), heartbeat: 20 })
    const client = await openSse(url())
    await eventually(() => expect(client.comments).toBeGreaterThanOrEqual(3))
    expect(client.raw).toMatch(/^retry: 2000\n\n(:[^\n]*\n\n)+$/)
    expect(client.events).toEqual([])
  })

  it('uses a 15 s heartbeat by default', async () => {
    const setSpy = vi.spyOn(globalThis, 'setInterval')
    onCleanup(() => setSpy.mockRestore())
    const { sse, url } = await serve({ log: filled(0), heartbeat: undefined })
    await openSse(url())
    await eventually(() => expect(sse.clients).toBe(1))
    expect(setSpy.mock.calls.filter((call) => call[1] === 15_000)).toHaveLength(1)
  })

  it('uses one heartbeat timer for every stream, and sends the comment to each', async () => {
    const setSpy = vi.spyOn(globalThis, 'setInterval')
    onCleanup(() => setSpy.mockRestore())
    const { url } = await serve({ log: filled(0), heartbeat: 25 })
    const clients = await Promise.all([openSse(url()), openSse(url()), openSse(url())])
    await eventually(() => expect(clients.map((c) => c.comments >= 2)).toEqual([true, true, true]))
    expect(setSpy.mock.calls.filter((call) => call[1] === 25)).toHaveLength(1)
  })

  it('sends no heartbeat with heartbeat 0', async () => {
    const { url } = await serve({ log: filled(0), heartbeat: 0 })
    const client = await openSse(url())
    await sleep(120)
    expect(client.comments).toBe(0)
    expect(client.raw).toBe('retry: 2000\n\n')
  })

  it('frames multi-line data, event types and ids so they parse back exactly', async () => {
    const log = filled(0)
    const { url } = await serve({ log })
    const client = await openSse(url())
    await eventually(() => expect(client.retries).toEqual([2000]))
    log.append('a\nb', 'multi')
    log.append('c\r\nd\re')
    log.append('x\n\nevent: evil\ndata: smuggled', 'quote')
    await eventually(() =>
      expect(client.events).toEqual([
        { type: 'multi', data: 'a\nb', id: 'e1.1' },
        { type: 'message', data: 'c\nd\ne', id: 'e1.2' },
        { type: 'quote', data: 'x\n\nevent: evil\ndata: smuggled', id: 'e1.3' },
      ]),
    )
  })

  it('without a Last-Event-ID, sends only what is appended from now on', async () => {
    const log = filled(3)
    const { url } = await serve({ log })
    const client = await openSse(url())
    await eventually(() => expect(client.retries).toEqual([2000]))
    log.append('live')
    await eventually(() => expect(client.events).toEqual([{ type: 'message', data: 'live', id: 'e1.4' }]))
  })
})

describe('createSseHandler: resume', () => {
  it('with a Last-Event-ID header, sends exactly the missed events, then live ones', async () => {
    const log = filled(5)
    const { url } = await serve({ log })
    const client = await openSse(url(), { headers: { 'last-event-id': 'e1.2' } })
    await eventually(() => expect(client.events.map((e) => e.id)).toEqual(['e1.3', 'e1.4', 'e1.5']))
    log.append('live')
    await eventually(() => expect(datas(client)).toEqual(['d3', 'd4', 'd5', 'live']))
  })

  it('with ?lastEventId=, sends exactly the missed events', async () => {
    const log = filled(5)
    const { url } = await serve({ log })
    const client = await openSse(url('/events?x=1&lastEventId=e1.3'))
    await eventually(() => expect(datas(client)).toEqual(['d4', 'd5']))
    await sleep(30)
    expect(datas(client)).toEqual(['d4', 'd5'])
  })

  it('reads the query parameter named by lastEventIdParam', async () => {
    const { url } = await serve({ log: filled(5), lastEventIdParam: 'since' })
    const client = await openSse(url('/events?lastEventId=e1.1&since=e1.4'))
    await eventually(() => expect(datas(client)).toEqual(['d5']))
  })

  it('prefers the header to the query parameter', async () => {
    const { url } = await serve({ log: filled(5) })
    const client = await openSse(url('/events?lastEventId=e1.1'), { headers: { 'last-event-id': 'e1.4' } })
    await eventually(() => expect(datas(client)).toEqual(['d5']))
    await sleep(30)
    expect(datas(client)).toEqual(['d5'])
  })

  it('a client that reconnects with the last id it saw loses and duplicates nothing', async () => {
    const log = filled(0)
    const { url } = await serve({ log })
    const first = await openSse(url())
    await eventually(() => expect(first.retries).toHaveLength(1))
    for (let i = 1; i <= 3; i++) log.append(`m${i}`)
    await eventually(() => expect(datas(first)).toEqual(['m1', 'm2', 'm3']))
    first.close()
    await first.done
    for (let i = 4; i <= 6; i++) log.append(`m${i}`)
    const second = await openSse(url(), { headers: { 'last-event-id': first.events.at(-1)!.id } })
    log.append('m7')
    await eventually(() => expect(datas(second)).toEqual(['m4', 'm5', 'm6', 'm7']))
  })

  it('events appended all through a slow async replay are neither lost nor duplicated', async () => {
    const inner = filled(20)
    const { log } = asyncLog(inner, { beforeSnapshot: () => sleep(15), afterSnapshot: () => sleep(15) })
    const { url } = await serve({ log })
    let appending = true
    const appender = (async () => {
      while (appending) {
        inner.append('live')
        await sleep(1)
      }
    })()
    const client = await openSse(url(), { headers: { 'last-event-id': 'e1.10' } })
    await eventually(() => expect(client.events.length).toBeGreaterThan(30))
    appending = false
    await appender
    const head = inner.append('last').seq
    await eventually(() => expect(client.events.at(-1)?.data).toBe('last'))
    expect(client.events.map((e) => e.id)).toEqual(Array.from({ length: head - 10 }, (_, i) => `e1.${11 + i}`))
  })

  describe('a reset event (data { epoch, reason }, id = head) when continuity broke, then live events', () => {
    it.each([
      ['another epoch', 'e0.3', 'epoch'],
      ['an id older than the log keeps', 'e1.2', 'gap'],
      ['a malformed id', 'abc', 'invalid'],
      ['an id with a negative seq', 'e1.-1', 'invalid'],
      ['an id from the future', 'e1.99', 'invalid'],
      ['a huge seq', `e1.${'9'.repeat(40)}`, 'invalid'],
    ])('%s (%s → %s)', async (_name, lastEventId, reason) => {
      const log = filled(10, 5)
      const { url } = await serve({ log })
      const client = await openSse(url(), { headers: { 'last-event-id': lastEventId } })
      await eventually(() => expect(client.events).toEqual([{ type: 'reset', data: JSON.stringify({ epoch: 'e1', reason }), id: 'e1.10' }]))
      log.append('live')
      await eventually(() => expect(client.events.at(-1)).toEqual({ type: 'message', data: 'live', id: 'e1.11' }))
      expect(client.events).toHaveLength(2)
    })

    it('also for a bad id in the query parameter', async () => {
      const { url } = await serve({ log: filled(3) })
      const client = await openSse(url('/events?lastEventId=..%0A..'))
      await eventually(() => expect(client.events).toEqual([{ type: 'reset', data: JSON.stringify({ epoch: 'e1', reason: 'invalid' }), id: 'e1.3' }]))
    })

    it('for garbage Last-Event-ID headers (very long, repeated, non-ASCII), and other clients go on', async () => {
      const log = filled(3)
      const { url, srv } = await serve({ log })
      const other = await openSse(url())
      const long = await openSse(url(), { headers: { 'last-event-id': `e1.${'1'.repeat(8000)}` } })
      const raw = await rawRequest(
        srv.port,
        Buffer.concat([
          Buffer.from('GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: e1.1\r\nLast-Event-ID: e1.2\r\nX: '),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('\r\nLast-Event-ID: \xe9\r\n\r\n', 'latin1'),
        ]),
      )
      const reset = JSON.stringify({ epoch: 'e1', reason: 'invalid' })
      await eventually(() => expect(long.events).toEqual([{ type: 'reset', data: reset, id: 'e1.3' }]))
      await eventually(() => expect(raw.received()).toContain(`event: reset\ndata: ${reset}\n\n`))
      log.append('still here')
      await eventually(() => expect(datas(other)).toEqual(['still here']))
      await eventually(() => expect(datas(long)).toEqual([reset, 'still here']))
      await eventually(() => expect(raw.received()).toContain('data: still here\n\n'))
    })
  })

  // A malformed request target must not throw out of the handler (plain node:http would crash).
  it('a request target that is not a valid URL never throws out of the handler', async () => {
    const { srv } = await serve({ log: filled(3) })
    const raw = await rawRequest(srv.port, 'GET //[?lastEventId=e1.1 HTTP/1.1\r\nHost: x\r\n\r\n')
    // The test server cuts the response when the handler throws (and records the throw).
    await eventually(() => expect(raw.received().includes('retry: 2000') || raw.isClosed()).toBe(true))
    // Taken by the test, so the cleanup does not fail on them as well.
    expect(srv.takeErrors()).toEqual([])
    expect(raw.received()).toContain('retry: 2000')
    expect(raw.isClosed()).toBe(false)
  })
})

describe('createSseHandler: backpressure', () => {
  const payload = 'x'.repeat(16 * 1024)

  it('disconnects a client that does not read and reports it, while a reading client goes on', async () => {
    const log = filled(0)
    const { log: counted, counts } = countingLog(log)
    const slow: IncomingMessage[] = []
    const { sse, srv, url } = await serve({ log: counted, maxBuffered: 64 * 1024, onSlowClient: (request) => slow.push(request) })
    const normal = await openSse(url('/fast'), { keepRaw: false, keepData: false })
    await rawRequest(srv.port, 'GET /slow HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n', { read: false })
    await eventually(() => expect(sse.clients).toBe(2))
    // Loopback kernel buffers take a few MB before the server's writes back up.
    let appended = 0
    while (slow.length === 0 && appended < 4000) {
      log.append(payload)
      appended++
      await tick()
    }
    expect(slow.map((request) => request.url)).toEqual(['/slow'])
    await eventually(() => expect(sse.clients).toBe(1))
    expect(counts.active).toBe(1)
    log.append('after')
    appended++
    await eventually(() => expect(normal.events).toHaveLength(appended), 10_000)
    expect(normal.events.map((e) => e.id)).toEqual(Array.from({ length: appended }, (_, i) => `e1.${i + 1}`))
    expect(normal.events.at(-1)!.data).toBe('#5')
    expect(normal.ended).toBe(false)
  })

  // A slow client is let go once, with one onSlowClient call.
  it('reports a slow client once, even when several events arrive in the same tick', async () => {
    const log = filled(0)
    const onSlowClient = vi.fn()
    // A bound below one event: the first event queued behind a full buffer is over it.
    const { sse, srv } = await serve({ log, maxBuffered: 1024, onSlowClient })
    await rawRequest(srv.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', { read: false })
    await eventually(() => expect(sse.clients).toBe(1))
    for (let batch = 0; batch < 1000 && onSlowClient.mock.calls.length === 0; batch++) {
      for (let i = 0; i < 8; i++) log.append(payload)
      await tick()
    }
    await eventually(() => expect(sse.clients).toBe(0))
    expect(onSlowClient).toHaveBeenCalledTimes(1)
  })

  // A replay is paced by the socket: a fast client resuming far back is not taken for a slow one.
  it('replays more than maxBuffered to a fast client without cutting it', async () => {
    const log = filled(0)
    for (let i = 0; i < 1000; i++) log.append('y'.repeat(2000))
    const onSlowClient = vi.fn()
    const { url } = await serve({ log, onSlowClient })
    const client = await openSse(url(), { headers: { 'last-event-id': 'e1.0' }, keepRaw: false, keepData: false })
    await eventually(() => expect(client.events.length === 1000 || client.ended).toBe(true), 10_000)
    expect(onSlowClient).not.toHaveBeenCalled()
    expect(client.events).toHaveLength(1000)
    expect(client.ended).toBe(false)
  })
})

describe('createSseHandler: fan-out', () => {
  /** Records what the handler writes on each server-side socket, and whether it was corked then. */
  function recordWrites(server: import('node:http').Server, progress: () => number) {
    const sockets: { chunk: Buffer; corked: number; at: number }[][] = []
    server.on('connection', (socket: import('node:net').Socket) => {
      const writes: { chunk: Buffer; corked: number; at: number }[] = []
      sockets.push(writes)
      const write = socket.write.bind(socket) as (chunk: Buffer) => boolean
      socket.write = ((chunk: Buffer) => (writes.push({ chunk, corked: socket.writableCorked, at: progress() }), write(chunk))) as typeof socket.write
    })
    return sockets
  }

  it('writes the same bytes to every stream, one write per stream for events appended together', async () => {
    const log = filled(0)
    const { srv, url } = await serve({ log })
    const sockets = recordWrites(srv.server, () => 0)
    const clients = [await openSse(url()), await openSse(url())]
    await eventually(() => expect(clients.map((c) => c.retries.length)).toEqual([1, 1]))
    const before = sockets.map((w) => w.length)
    for (let i = 1; i <= 10; i++) log.append(`e${i}`)
    await eventually(() => expect(clients.map((c) => c.events.length)).toEqual([10, 10]))
    const burst = sockets.map((w, i) => w.slice(before[i]))
    expect(burst.map((w) => w.length)).toEqual([1, 1])
    expect(burst[0]![0]!.chunk).toBe(burst[1]![0]!.chunk)
  })

  // Regression (item 5): response writes were corked until the tick ended, so a long burst
  // reached no client before all of it was appended (SSE p50 of seconds).
  it('a long burst in one tick goes out in bounded writes while it is being appended', async () => {
    const log = filled(0)
    let appended = 0
    const { srv, url } = await serve({ log })
    const sockets = recordWrites(srv.server, () => appended)
    const client = await openSse(url(), { keepRaw: false })
    await eventually(() => expect(client.retries).toEqual([2000]))
    const writesBefore = sockets[0]!.length
    for (; appended < 1000; appended++) log.append(`${appended}:${'b'.repeat(200)}`)
    await eventually(() => expect(client.events).toHaveLength(1000))
    const burst = sockets[0]!.slice(writesBefore)
    const duringBurst = burst.filter((w) => w.at < 1000)
    expect(duringBurst.length).toBeGreaterThanOrEqual(2)
    for (const w of burst) {
      expect(w.corked).toBe(0)
      expect(w.chunk.length).toBeLessThan(80 * 1024)
    }
    expect(client.events.map((e) => e.id)).toEqual(Array.from({ length: 1000 }, (_, i) => `e1.${i + 1}`))
  })

  it('an event appended after a quiet spell is written at once, without waiting for batchWindow', async () => {
    const log = filled(0)
    let now = 0
    const { srv, url } = await serve({ log, batchWindow: 60_000 })
    const sockets = recordWrites(srv.server, () => now)
    const client = await openSse(url())
    await eventually(() => expect(client.retries).toHaveLength(1))
    now = 1
    log.append('first')
    await eventually(() => expect(client.events.map((e) => e.data)).toEqual(['first']))
    expect(sockets[0]!.filter((w) => w.at === 1)).toHaveLength(1)
  })
})

describe('createSseHandler: HTTP framing on the socket', () => {
  const head = (raw: string) => raw.slice(0, raw.indexOf('\r\n\r\n'))
  const body = (raw: string) => raw.slice(raw.indexOf('\r\n\r\n') + 4)
  const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`

  it('HTTP/1.1: chunked, each write one chunk that carries whole events', async () => {
    const log = filled(0)
    const { srv } = await serve({ log })
    const raw = await rawRequest(srv.port, 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n')
    await eventually(() => expect(body(raw.received())).toBe(chunk('retry: 2000\n\n')))
    expect(head(raw.received())).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*transfer-encoding: chunked/i)
    log.append('hi')
    await eventually(() => expect(body(raw.received())).toBe(chunk('retry: 2000\n\n') + chunk('id: e1.1\ndata: hi\n\n')))
  })

  it('HTTP/1.0: no chunks, the stream ends with the connection', async () => {
    const log = filled(0)
    const { srv } = await serve({ log })
    const raw = await rawRequest(srv.port, 'GET /events HTTP/1.0\r\n\r\n')
    await eventually(() => expect(body(raw.received())).toBe('retry: 2000\n\n'))
    log.append('hi')
    await eventually(() => expect(body(raw.received())).toBe('retry: 2000\n\nid: e1.1\ndata: hi\n\n'))
    expect(head(raw.received())).not.toMatch(/transfer-encoding/i)
    expect(head(raw.received())).toMatch(/connection: close/i)
  })

  it('HEAD: the headers only, and the connection serves the next request', async () => {
    const { srv } = await serve({ log: filled(3) })
    const raw = await rawRequest(srv.port, 'HEAD /events HTTP/1.1\r\nHost: x\r\n\r\nGET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: e1.2\r\n\r\n')
    await eventually(() => expect(raw.received()).toContain('data: d3'))
    expect(raw.received().match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2)
    expect(raw.received()).not.toContain('data: d1')
  })

  it('POST with a body streams too (tabwire sends POST streams over fetch)', async () => {
    const log = filled(2)
    const { sse, srv } = await serve({ log })
    const raw = await rawRequest(srv.port, 'POST /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: e1.1\r\nContent-Length: 11\r\n\r\n{"q":"abc"}')
    await eventually(() => expect(raw.received()).toContain('data: d2'))
    expect(sse.clients).toBe(1)
  })

  // A request pipelined behind a stream gets no socket until the stream ends: it waits.
  it('a second stream pipelined behind the first waits, and the first goes on', async () => {
    const log = filled(0)
    const { sse, srv } = await serve({ log })
    const request = 'GET /events HTTP/1.1\r\nHost: x\r\n\r\n'
    const raw = await rawRequest(srv.port, request + request)
    await eventually(() => expect(sse.clients).toBe(1))
    log.append('only once')
    await eventually(() => expect(raw.received()).toContain('data: only once'))
    expect(raw.received().match(/data: only once/g)).toHaveLength(1)
    expect(sse.clients).toBe(1)
    raw.socket.destroy()
    await eventually(() => expect(sse.clients).toBe(0))
  })
})

describe('createSseHandler: batchWindow', () => {
  it('holds events that follow a write until batchWindow has passed since it, then writes them together', async () => {
    const log = filled(0)
    const { url } = await serve({ log, batchWindow: 300 })
    const client = await openSse(url())
    await eventually(() => expect(client.retries).toHaveLength(1))
    log.append('first')
    const firstWritten = performance.now()
    await eventually(() => expect(datas(client)).toEqual(['first']))
    log.append('second')
    log.append('third')
    await eventually(() => expect(datas(client)).toEqual(['first', 'second', 'third']))
    // A lower bound only: a loaded machine can make it later, never earlier.
    expect(performance.now() - firstWritten).toBeGreaterThanOrEqual(250)
  })
})

describe('createSseHandler: a client that stops reading during its replay', () => {
  it('is let go once the live entries held for it pass maxBuffered', async () => {
    const log = filled(0, 1000)
    for (let i = 0; i < 500; i++) log.append('r'.repeat(64 * 1024))
    const onSlowClient = vi.fn()
    const { sse, srv } = await serve({ log, maxBuffered: 256 * 1024, onSlowClient })
    // Resumes from the start (32 MB to replay, far past the loopback buffers) and never
    // reads: the replay waits on the socket.
    await rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\nLast-Event-ID: e1.0\r\n\r\n', { read: false })
    await eventually(() => expect(sse.clients).toBe(1))
    await sleep(100)
    for (let i = 0; i < 40 && onSlowClient.mock.calls.length === 0; i++) {
      log.append('l'.repeat(16 * 1024))
      await tick()
    }
    expect(onSlowClient).toHaveBeenCalledTimes(1)
    await eventually(() => expect(sse.clients).toBe(0))
  }, 20_000)
})

describe('createSseHandler: clients and cleanup', () => {
  // Fan-out: one log listener serves every stream; it goes with the last one.
  it('counts open streams, listens to the log once while any is open, and stops when the last goes', async () => {
    const { log, counts } = countingLog(filled(0))
    const { sse, url } = await serve({ log, heartbeat: 10 })
    expect(sse.clients).toBe(0)
    const a = await openSse(url())
    const b = await openSse(url())
    const c = await openSse(url())
    await eventually(() => expect(sse.clients).toBe(3))
    expect(counts).toEqual({ subscribed: 1, unsubscribed: 0, active: 1 })
    b.close()
    await eventually(() => expect(sse.clients).toBe(2))
    expect(counts).toEqual({ subscribed: 1, unsubscribed: 0, active: 1 })
    a.close()
    c.close()
    await eventually(() => expect(sse.clients).toBe(0))
    expect(counts).toEqual({ subscribed: 1, unsubscribed: 1, active: 0 })
    const again = await openSse(url())
    await eventually(() => expect(counts).toEqual({ subscribed: 2, unsubscribed: 1, active: 1 }))
    again.close()
    await eventually(() => expect(counts.active).toBe(0))
    // Appending with nobody listening is fine.
    log.append('nobody')
  })

  it('clears the heartbeat timer of a stream when its client goes', async () => {
    const setSpy = vi.spyOn(globalThis, 'setInterval')
    const clearSpy = vi.spyOn(globalThis, 'clearInterval')
    onCleanup(() => (setSpy.mockRestore(), clearSpy.mockRestore()))
    const { sse, url } = await serve({ log: filled(0), heartbeat: 4321 })
    const client = await openSse(url())
    await eventually(() => expect(sse.clients).toBe(1))
    const timers = setSpy.mock.calls.flatMap((call, i) => (call[1] === 4321 ? [setSpy.mock.results[i]!.value] : []))
    expect(timers).toHaveLength(1)
    expect(clearSpy).not.toHaveBeenCalledWith(timers[0])
    client.close()
    await eventually(() => expect(sse.clients).toBe(0))
    expect(clearSpy).toHaveBeenCalledWith(timers[0])
  })

  it('dropAll cuts every stream, cleans up, and clients can resume afterwards', async () => {
    const inner = filled(0)
    const { log, counts } = countingLog(inner)
    const { sse, url } = await serve({ log })
    const a = await openSse(url())
    const b = await openSse(url())
    await eventually(() => expect(sse.clients).toBe(2))
    inner.append('before')
    await eventually(() => expect([datas(a), datas(b)]).toEqual([['before'], ['before']]))
    sse.dropAll()
    await Promise.all([a.done, b.done])
    expect([a.ended, b.ended]).toEqual([true, true])
    await eventually(() => expect(sse.clients).toBe(0))
    expect(counts.active).toBe(0)
    inner.append('missed')
    const again = await openSse(url(), { headers: { 'last-event-id': a.events.at(-1)!.id } })
    await eventually(() => expect(datas(again)).toEqual(['missed']))
  })

  it('stall stops every byte to the open streams, heartbeats included, without closing them', async () => {
    const log = filled(0)
    const { sse, url } = await serve({ log, heartbeat: 15 })
    const stalled = await openSse(url())
    log.append('one')
    await eventually(() => expect(datas(stalled)).toEqual(['one']))
    await eventually(() => expect(stalled.comments).toBeGreaterThan(0))
    sse.stall()
    // A heartbeat already on the wire may still land: measure after it.
    await sleep(20)
    const bytes = stalled.bytes
    log.append('two')
    await sleep(120)
    expect(stalled.bytes).toBe(bytes)
    expect(datas(stalled)).toEqual(['one'])
    expect(stalled.ended).toBe(false)
    expect(sse.clients).toBe(1)
    // Streams opened later are not stalled.
    const fresh = await openSse(url())
    await eventually(() => expect(sse.clients).toBe(2))
    log.append('three')
    await eventually(() => expect(datas(fresh)).toEqual(['three']))
    expect(stalled.bytes).toBe(bytes)
  })

  // An event type with a line break is refused at append, so no stored entry can cut a replay.
  it('an unwritable event type in the log never stops a resuming client', async () => {
    const log = filled(2)
    try {
      log.append('x', 'bad\nname')
    } catch {
      // Refusing it at append is the right answer.
    }
    log.append('good')
    const { sse, url } = await serve({ log })
    const client = await openSse(url(), { headers: { 'last-event-id': 'e1.2' } })
    await sleep(50)
    expect(datas(client)).toEqual(['good'])
    expect(client.ended).toBe(false)
    expect(sse.clients).toBe(1)
  })
})
