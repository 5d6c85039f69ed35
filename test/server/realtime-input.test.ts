/**
 * createRealtimeHandler (issue 11): bad input on both transports (each answered with an
 * error frame, other clients unaffected), origins, the POST's HTTP answers, the SSE stream's
 * shape, option checks and controls.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_CHANNEL_NAME, MAX_PUBLISH_ID } from '../../src/core/realtime/protocol'
import { ServerOptionsError } from '../../src/server/errors'
import { createMemoryLog } from '../../src/server/log'
import { createRealtimeHandler } from '../../src/server/realtime'
import { eventually, openSse, openWs, rawRequest, refusedStatus, runCleanups } from './helpers'
import { connect, startRealtime, subscribe, transports, waitFor } from './realtime-helpers'

afterEach(runCleanups)

const error = (code: string, extra: Record<string, string> = {}) => ({ type: 'error', code, message: expect.any(String), ...extra })

describe.each(transports)('createRealtimeHandler over %s: bad input', (transport) => {
  it('answers each bad frame with an error frame echoing only valid channel/pid; the connection and a bystander go on', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const server = await startRealtime({ channels: { room: { log, writable: true } }, origins: '*' })
    const bystander = await connect(server, transport === 'sse' ? 'websocket' : 'sse')
    await subscribe(bystander, 'room')
    const client = await connect(server, transport)
    const long = 'c'.repeat(MAX_CHANNEL_NAME + 1)
    const bad: [unknown, unknown][] = [
      [{ type: 'subscribe', channel: 5 }, error('bad-message')],
      [{ type: 'subscribe', channel: '' }, error('bad-message')],
      [{ type: 'subscribe', channel: long }, error('bad-message')],
      [{ type: 'subscribe' }, error('bad-message')],
      [{ type: 'publish', channel: ['room'], data: 1, pid: 'p' }, error('bad-message')],
      [{ type: 'nope', channel: 'room' }, error('bad-message', { channel: 'room' })],
      [{ type: 'nope', channel: long }, error('bad-message')],
      [{ channel: 'room' }, error('bad-message', { channel: 'room' })],
      [null, error('bad-message')],
      [[1, 2], error('bad-message')],
      ['text', error('bad-message')],
      [{ type: 'subscribe', channel: 'room', since: 5 }, error('bad-message', { channel: 'room' })],
      [{ type: 'publish', channel: 'room', data: 1, pid: 'p'.repeat(MAX_PUBLISH_ID + 1) }, error('bad-message', { channel: 'room' })],
      [{ type: 'publish', channel: 'room', data: 1, pid: 7 }, error('bad-message', { channel: 'room' })],
      [{ type: 'publish', channel: 'room', data: 1, pid: '' }, error('bad-message', { channel: 'room' })],
      [{ type: 'subscribe', channel: 'nowhere' }, error('unknown-channel', { channel: 'nowhere' })],
      [{ type: 'publish', channel: 'nowhere', data: 1, pid: 'q' }, error('unknown-channel', { channel: 'nowhere', pid: 'q' })],
      [{ type: 'subscribe', channel: '__proto__' }, error('unknown-channel', { channel: '__proto__' })],
      [{ type: 'unsubscribe', channel: 'never-subscribed' }, undefined],
    ]
    await client.send(...bad.map(([frame]) => frame))
    await client.send({ type: 'publish', channel: 'room', data: 'still here', pid: 'last' })
    await waitFor(client, { type: 'ack', pid: 'last' })
    expect(client.of('error')).toEqual(bad.flatMap(([, answer]) => (answer ? [answer] : [])))
    expect(client.isClosed()).toBe(false)
    await eventually(() => expect(bystander.of('event').map((f) => f.data)).toEqual(['still here']))
  })

  it('past maxSubscriptions a subscribe gets too-many on that channel; 10,000 subscribe frames cost the server nothing lasting', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const server = await startRealtime({ channels: () => log, origins: '*', maxSubscriptions: 100 })
    const bystander = await connect(server, 'websocket')
    await subscribe(bystander, 'watched')
    const client = await connect(server, transport)
    const frames = Array.from({ length: 10_000 }, (_, i) => ({ type: 'subscribe', channel: `c${i}` }))
    if (transport === 'websocket') await client.send(...frames)
    else for (let i = 0; i < frames.length; i += 1000) expect(await client.send(...frames.slice(i, i + 1000))).toBe(204)
    await eventually(() => expect(client.of('error')).toHaveLength(9_900), 20_000)
    expect(client.of('error')[0]).toEqual(error('too-many', { channel: 'c100' }))
    await eventually(() => expect(client.of('subscribed')).toHaveLength(100), 10_000)
    // A resubscribe to a channel it holds is not one more.
    await client.send({ type: 'subscribe', channel: 'c5' })
    await eventually(() => expect(client.of('subscribed', 'c5')).toHaveLength(2))
    log.append('"x"')
    await eventually(() => expect(bystander.of('event')).toHaveLength(1))
    client.close()
    await eventually(() => expect(server.handler.clients).toEqual({ websocket: 1, sse: 0 }))
  })
})

describe('createRealtimeHandler over websocket: bad input only a WebSocket can send', () => {
  it('non-JSON text and binary get bad-json; ping gets pong in its turn; an absurd frame closes with 1009', async () => {
    const server = await startRealtime({ channels: { room: createMemoryLog() }, maxPayload: 1024 })
    const ws = await openWs(server.url('/rt').replace('http', 'ws'))
    ws.send('{not json')
    ws.socket.send(Buffer.from([1, 2, 3]), { binary: true })
    ws.send('ping')
    await eventually(() => expect(ws.frames).toEqual([error('bad-json'), error('bad-json'), 'pong']))
    // Up to 16 × maxPayload (at least 1 MiB) is read and answered too-large; beyond closes.
    ws.send({ type: 'publish', channel: 'room', data: 'x'.repeat(500_000) })
    await eventually(() => expect(ws.frames).toHaveLength(4))
    expect(ws.frames[3]).toEqual(error('too-large', { channel: 'room' }))
    ws.send('y'.repeat(1_100_000))
    expect((await ws.closed).code).toBe(1009)
  })

  it('data too deep to stringify gets bad-message; the connection goes on', async () => {
    const server = await startRealtime({ channels: { room: { log: createMemoryLog(), writable: true } }, origins: '*' })
    const ws = await openWs(server.url('/rt').replace('http', 'ws'))
    ws.send(`{"type":"publish","channel":"room","pid":"deep","data":${'['.repeat(20_000)}${']'.repeat(20_000)}}`)
    ws.send({ type: 'publish', channel: 'room', data: 1, pid: 'ok' })
    await eventually(() => expect(ws.frames).toEqual([error('bad-message', { channel: 'room', pid: 'deep' }), { type: 'ack', channel: 'room', pid: 'ok', id: expect.any(String) }]))
  })
})

describe('createRealtimeHandler over SSE: the stream and the POST', () => {
  it('streams text/event-stream: hello with a random session and protocol 1 first, frames as data only, heartbeats (and WebSocket pings)', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const server = await startRealtime({ channels: { n: log }, heartbeat: 20 })
    const a = await openSse(server.url('/rt'))
    const b = await openSse(server.url('/rt'))
    expect(a.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(a.response.headers.get('cache-control')).toContain('no-cache')
    expect(a.response.headers.get('x-accel-buffering')).toBe('no')
    await eventually(() => expect([a.events.length, b.events.length]).toEqual([1, 1]))
    const hello = JSON.parse(a.events[0]!.data)
    expect(hello).toEqual({ type: 'hello', session: expect.stringMatching(/^[0-9a-f-]{36}$/), protocol: 1 })
    expect(JSON.parse(b.events[0]!.data).session).not.toBe(hello.session)
    await eventually(() => expect(a.comments).toBeGreaterThan(1))
    // The same interval pings WebSockets at the protocol level.
    const ws = await openWs(server.url('/rt').replace('http', 'ws'))
    let pings = 0
    ws.socket.on('ping', () => pings++)
    await eventually(() => expect(pings).toBeGreaterThan(1))
    expect(a.raw).not.toMatch(/^(id|event):/m)
    expect(a.events.every((e) => e.type === 'message')).toBe(true)
  })

  it('answers POST errors: 415 without JSON, 413 past the body limit or 1000 frames, 400 malformed, 404 unknown session; 405 other methods; 406 a GET without text/event-stream', async () => {
    const server = await startRealtime({ channels: { n: createMemoryLog() }, maxPayload: 1024 })
    const client = await connect(server, 'sse')
    const post = async (body: string, type = 'application/json') => {
      const response = await fetch(server.url('/rt'), { method: 'POST', headers: { 'content-type': type }, body })
      return [response.status, await response.text()]
    }
    expect(await post('{}', 'text/plain')).toEqual([415, expect.any(String)])
    expect((await post(JSON.stringify({ session: client.session, frames: [{ type: 'subscribe', channel: 'x'.repeat(20_000) }] })))[0]).toBe(413)
    expect((await post(JSON.stringify({ session: client.session, frames: Array.from({ length: 1001 }, () => 0) })))[0]).toBe(413)
    expect((await post('{nope'))[0]).toBe(400)
    expect((await post(JSON.stringify({ frames: [] })))[0]).toBe(400)
    expect((await post(JSON.stringify({ session: client.session, frames: {} })))[0]).toBe(400)
    expect(await post(JSON.stringify({ session: 'f00', frames: [] }))).toEqual([404, '{"error":"unknown-session"}'])
    expect(await post(JSON.stringify({ session: client.session, frames: [{ type: 'subscribe', channel: 'n' }] }), 'application/json; charset=utf-8')).toEqual([204, ''])
    await waitFor(client, { type: 'subscribed' })
    expect((await fetch(server.url('/rt'), { method: 'PUT' })).status).toBe(405)
    expect((await fetch(server.url('/rt'))).status).toBe(406)
    expect(client.isClosed()).toBe(false)
    // A closed stream's session is gone: its POSTs get 404, so the client reopens.
    client.close()
    await eventually(() => expect(server.handler.clients.sse).toBe(0))
    expect((await post(JSON.stringify({ session: client.session, frames: [] })))[0]).toBe(404)
  })

  it('ignores requests pipelined behind a stream; a slow stream is cut at maxBuffered while a reading one goes on', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const server = await startRealtime({ channels: { n: log }, maxBuffered: 64 * 1024 })
    const fast = await connect(server, 'sse')
    await subscribe(fast, 'n')
    const raw = await rawRequest(server.port, 'GET /rt HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\nGET /rt HTTP/1.1\r\nHost: x\r\n\r\n')
    await eventually(() => expect(raw.received()).toContain('"hello"'))
    const session = /"session":"([^"]+)"/.exec(raw.received())![1]
    const status = await fetch(server.url('/rt'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, frames: [{ type: 'subscribe', channel: 'n' }] }) })
    expect(status.status).toBe(204)
    await eventually(() => expect(raw.received()).toContain('"subscribed"'))
    expect(raw.received().match(/HTTP\/1\.1/g)).toHaveLength(1)
    raw.socket.pause()
    const payload = JSON.stringify('x'.repeat(16 * 1024))
    let appended = 0
    while (!raw.isClosed() && appended < 4000) {
      log.append(payload)
      appended++
      await new Promise((resolve) => setImmediate(resolve))
    }
    await eventually(() => expect(server.handler.clients.sse).toBe(1))
    await eventually(() => expect(fast.of('event')).toHaveLength(appended), 10_000)
    expect(fast.isClosed()).toBe(false)
  })
})

describe('createRealtimeHandler: origins', () => {
  it('checks the upgrade, the SSE GET (when it has an Origin) and every POST', async () => {
    const server = await startRealtime({ channels: { room: { log: createMemoryLog(), writable: true } }, origins: ['https://app.example'] })
    const ws = server.url('/rt').replace('http', 'ws')
    expect(await refusedStatus(ws, { origin: 'https://evil.example' })).toBe(403)
    expect(await refusedStatus(ws)).toBe(403)
    await openWs(ws, { origin: 'https://app.example' })
    expect((await fetch(server.url('/rt'), { headers: { accept: 'text/event-stream', origin: 'https://evil.example' } })).status).toBe(403)
    const good = await connect(server, 'sse', { origin: 'https://app.example' })
    // A same-origin GET carries no Origin: allowed, its POSTs are checked.
    const sameOrigin = await connect(server, 'sse')
    const post = (origin?: string) =>
      fetch(server.url('/rt'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: JSON.stringify({ session: sameOrigin.session, frames: [{ type: 'publish', channel: 'room', data: 1, pid: origin ?? 'none' }] }),
      }).then((r) => r.status)
    expect(await post()).toBe(403)
    expect(await post('https://evil.example')).toBe(403)
    expect(await post('https://app.example')).toBe(204)
    await waitFor(sameOrigin, { type: 'ack', pid: 'https://app.example' })
    expect(sameOrigin.of('ack')).toHaveLength(1)
    expect(good.isClosed()).toBe(false)
  })
})

describe('createRealtimeHandler: options and controls', () => {
  it('throws ServerOptionsError for options it cannot run with', () => {
    const log = createMemoryLog()
    const check = (options: unknown, option: string) => {
      expect(() => createRealtimeHandler(options as never)).toThrow(ServerOptionsError)
      try {
        createRealtimeHandler(options as never)
      } catch (e) {
        expect((e as ServerOptionsError).option).toBe(option)
      }
    }
    check({ channels: () => log }, 'origins')
    check({ channels: { room: { log, writable: true } } }, 'origins')
    check({ channels: 5 }, 'channels')
    check({ channels: { a: {} } }, 'channels')
    check({ channels: { a: log }, maxPayload: 0 }, 'maxPayload')
    check({ channels: { a: log }, maxSubscriptions: Number.NaN }, 'maxSubscriptions')
    check({ channels: { a: log }, heartbeat: -1 }, 'heartbeat')
    check({ channels: { a: log }, authorize: 'yes' }, 'authorize')
    check({ channels: { a: log }, origins: 'https://app.example' }, 'origins')
    expect(() => createRealtimeHandler({ channels: { a: log }, heartbeat: 0 }).close()).not.toThrow()
    expect(() => createRealtimeHandler({ channels: () => log, origins: '*', heartbeat: 0 }).close()).not.toThrow()
  })

  it('counts clients per transport; stall silences them; dropAll closes both (WebSocket with the code); close refuses new ones', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const server = await startRealtime({ channels: { n: log } })
    const ws = await connect(server, 'websocket')
    const sse = await connect(server, 'sse')
    await subscribe(ws, 'n')
    await subscribe(sse, 'n')
    expect(server.handler.clients).toEqual({ websocket: 1, sse: 1 })
    server.handler.stall()
    log.append('1')
    const late = await connect(server, 'websocket')
    await subscribe(late, 'n')
    log.append('2')
    await eventually(() => expect(late.of('event')).toHaveLength(1))
    expect([ws.of('event').length, sse.of('event').length]).toEqual([0, 0])
    const raw = await openWs(server.url('/rt').replace('http', 'ws'))
    server.handler.dropAll(4000)
    expect((await raw.closed).code).toBe(4000)
    await eventually(() => expect(server.handler.clients).toEqual({ websocket: 0, sse: 0 }))
    expect(sse.isClosed()).toBe(true)
    server.handler.close()
    expect(await refusedStatus(server.url('/rt').replace('http', 'ws'))).toBe(503)
    expect((await fetch(server.url('/rt'), { headers: { accept: 'text/event-stream' } })).status).toBe(503)
  })
})
