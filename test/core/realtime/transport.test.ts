import { afterEach, describe, expect, it, vi } from 'vitest'
import { endpoint } from '../../../src/core/realtime/transport-endpoint'
import { memoryStorage, settle, setupRealtime } from './transport-fakes'

// The realtime transport over WebSocket, driven through the real engine: the url, frames,
// heartbeat, close codes, and the fallback to SSE after WebSockets that never open.

const KEY = 'tabwire:rt:https://rt.test/live'

afterEach(() => {
  vi.unstubAllGlobals()
})

/** connect(), and let the url promise and the socket constructor run. */
async function connected(setup: ReturnType<typeof setupRealtime>) {
  setup.connection.connect()
  await settle()
  return setup
}

describe('realtimeTransport: WebSocket', () => {
  it('maps https to wss, opens, tells the host before the engine, and sends each frame as JSON', async () => {
    const rt = await connected(setupRealtime())
    expect(rt.ws.sockets.map((s) => s.url)).toEqual(['wss://rt.test/live?token=secret'])
    expect(rt.transport.kind).toBeUndefined()
    rt.ws.last.open()
    expect(rt.log).toEqual(['status:connecting', 'opened:websocket', 'status:open'])
    expect(rt.transport.kind).toBe('websocket')
    rt.links[0]!.send([
      { type: 'subscribe', channel: 'a', since: '3' },
      { type: 'publish', channel: 'a', data: { n: 1 }, pid: 'p1' },
    ])
    expect(rt.ws.last.sent).toEqual(['{"type":"subscribe","channel":"a","since":"3"}', '{"type":"publish","channel":"a","data":{"n":1},"pid":"p1"}'])
    expect(rt.net.requests).toEqual([])
  })

  it('resolves a relative url against the page, maps http to ws, and calls a url function on every connect', async () => {
    vi.stubGlobal('location', { href: 'http://page.test/app/index.html' })
    let n = 0
    const rt = await connected(setupRealtime({}, () => `../rt?t=${++n}`))
    rt.ws.last.open()
    rt.ws.last.serverClose(1006)
    await rt.advance(500)
    expect(rt.ws.sockets.map((s) => s.url)).toEqual(['ws://page.test/rt?t=1', 'ws://page.test/rt?t=2'])
  })

  it('reads frames: events become messages, pong and hello only prove life, bad frames are reported and skipped', async () => {
    const rt = await connected(setupRealtime({ maxMessageSize: 120 }))
    rt.ws.last.open()
    rt.log.length = 0
    const s = rt.ws.last
    s.receive('{"type":"subscribed","channel":"a","head":null}')
    s.receive('{"type":"event","channel":"a","id":"1","data":{"x":1}}')
    s.receive('pong')
    s.receive('{"type":"hello","session":"x","protocol":1}')
    s.receive('{not json')
    s.receive('{"type":"mystery","channel":"a"}')
    s.receive('{"type":"event","channel":"a","id":"2"}') // no data: not a valid event
    s.receive(JSON.stringify({ type: 'event', channel: 'a', id: '3', data: 'x'.repeat(120) }))
    s.receive(new Uint8Array([1, 2]))
    s.receive('{"type":"event","channel":"a","id":"4","data":null}')
    expect(rt.log).toEqual([
      'receive:subscribed',
      'receive:event',
      'message:1',
      'error:protocol',
      'error:protocol',
      'error:protocol',
      'error:protocol',
      'error:protocol',
      'receive:event',
      'message:4',
    ])
    expect(rt.errors.map((e) => e.message)).toEqual([
      'a frame was not a realtime server frame and was skipped',
      'a frame was not a realtime server frame and was skipped',
      'a frame was not a realtime server frame and was skipped',
      'a frame passed maxMessageSize (120) and was skipped',
      'a binary frame was skipped',
    ])
    expect(rt.messages).toEqual([
      { data: { x: 1 }, event: 'a', id: '1' },
      { data: null, event: 'a', id: '4' },
    ])
    expect(rt.snap().status).toBe('open')
  })

  it('pings every heartbeat while open; pongs keep the engine from declaring the socket dead', async () => {
    const rt = await connected(setupRealtime({ heartbeat: 400 }, undefined, { idleTimeout: 1000 }))
    const s = rt.ws.last
    s.open()
    await rt.advance(399)
    expect(s.sent).toEqual([])
    await rt.advance(1)
    expect(s.sent).toEqual(['ping'])
    s.receive('pong')
    for (let i = 0; i < 4; i++) {
      await rt.advance(400)
      s.receive('pong')
    }
    expect(s.sent).toEqual(['ping', 'ping', 'ping', 'ping', 'ping'])
    expect(rt.snap().status).toBe('open')
    // The server stops answering: the engine's idle clock drops the socket.
    await rt.advance(1000)
    expect(rt.log).toEqual(['status:connecting', 'opened:websocket', 'status:open', 'closed', 'status:reconnecting', 'error:timeout'])
    expect(s.closeCalls).toEqual([[1000, undefined]])
  })

  it('sends no ping with heartbeat 0, and none after the socket went', async () => {
    const off = await connected(setupRealtime({ heartbeat: 0 }))
    off.ws.last.open()
    await off.advance(100_000)
    expect(off.ws.last.sent).toEqual([])
    const on = await connected(setupRealtime({ heartbeat: 1000 }))
    on.ws.last.open()
    await on.advance(1000)
    on.ws.last.serverClose(1006)
    const first = on.ws.last
    await on.advance(5000)
    expect(first.sent).toEqual(['ping'])
  })

  it.each([
    [1006, 'network', 'reconnecting'],
    [1011, 'network', 'reconnecting'],
    [4429, 'network', 'reconnecting'],
    [4401, 'auth', 'closed'],
    [1008, 'protocol', 'closed'],
    [4400, 'protocol', 'closed'],
  ])('a close %i after open: host closed, then a %s failure (%s)', async (code, kind, status) => {
    const rt = await connected(setupRealtime())
    rt.ws.last.open()
    rt.ws.last.serverClose(code, 'bye')
    expect(rt.log).toEqual(['status:connecting', 'opened:websocket', 'status:open', 'closed', `status:${status}`, `error:${kind}`])
    expect(rt.errors[0]).toMatchObject({ kind, status: code, message: `the socket closed (${code}: bye)` })
  })

  it('a url function that rejects is a retried network failure; a url of another scheme is final, the url kept out of the message', async () => {
    const rejects = await connected(setupRealtime({}, () => Promise.reject(new Error('no token for https://x?token=secret'))))
    expect(rejects.log).toEqual(['status:connecting', 'status:reconnecting', 'error:network'])
    expect(rejects.errors[0]!.message).toBe('the url function failed')
    const ftp = await connected(setupRealtime({}, 'ftp://rt.test/live?token=secret'))
    expect(ftp.log).toEqual(['status:connecting', 'status:closed', 'error:protocol'])
    expect(ftp.errors[0]!.message).not.toContain('secret')
    expect(String(ftp.errors[0]!.cause)).toContain('ftp:')
    expect(ftp.ws.sockets).toEqual([])
  })
})

describe('endpoint', () => {
  it('gives both schemes of one url, without the fragment; the storage key leaves out the query', () => {
    expect(endpoint('wss://rt.test/live?token=secret#x')).toEqual({
      http: 'https://rt.test/live?token=secret',
      ws: 'wss://rt.test/live?token=secret',
      key: KEY,
    })
    expect(endpoint('http://rt.test:8080/a')).toEqual({ http: 'http://rt.test:8080/a', ws: 'ws://rt.test:8080/a', key: 'tabwire:rt:http://rt.test:8080/a' })
    expect(() => endpoint('/relative')).toThrow(TypeError) // no page to resolve it against
  })
})

describe('realtimeTransport: fallback to SSE', () => {
  it('with defaults, two sockets closed before open: SSE at once on the second failure (no backoff), remembered', async () => {
    const rt = await connected(setupRealtime())
    rt.ws.last.serverClose(1006)
    await rt.advance(500)
    expect(rt.ws.sockets).toHaveLength(2)
    rt.ws.last.serverClose(1006)
    await settle()
    expect(rt.net.streams.map((r) => [r.url, r.at, r.headers.get('accept')])).toEqual([['https://rt.test/live?token=secret', 500, 'text/event-stream']])
    // Remembered once SSE works, not before.
    expect(rt.storage.items.size).toBe(0)
    rt.net.streams[0]!.stream().hello()
    await settle()
    expect(rt.storage.items).toEqual(new Map([[KEY, 'sse']]))
    expect(rt.log).toEqual(['status:connecting', 'status:reconnecting', 'error:network', 'opened:sse', 'status:open'])
    expect(rt.transport.kind).toBe('sse')
    expect(rt.timers.now).toBeLessThanOrEqual(3000)
  })

  it('a socket whose handshake hangs for connectTimeout (2500) moves to SSE at once, not after a second timeout', async () => {
    const rt = await connected(setupRealtime())
    await rt.advance(2499)
    expect(rt.log).toEqual(['status:connecting'])
    expect(rt.net.streams).toEqual([])
    await rt.advance(1)
    expect(rt.ws.sockets[0]!.closeCalls).toHaveLength(1)
    expect(rt.net.streams.map((r) => r.at)).toEqual([2500])
    expect(rt.ws.sockets).toHaveLength(1)
    rt.net.streams[0]!.stream().hello()
    await settle()
    expect(rt.storage.items).toEqual(new Map([[KEY, 'sse']]))
    expect(rt.log).toEqual(['status:connecting', 'opened:sse', 'status:open'])
  })

  it('a throwing WebSocket constructor counts as a failure before open, not a crash', async () => {
    class Refused {
      constructor() {
        throw new Error('blocked by policy: wss://rt.test/live?token=secret')
      }
    }
    const rt = await connected(setupRealtime({ WebSocket: Refused as unknown as typeof WebSocket }))
    await settle()
    await rt.advance(500)
    expect(rt.net.streams.map((r) => r.at)).toEqual([500])
    expect(rt.errors.map((e) => [e.kind, e.message])).toEqual([['protocol', 'the WebSocket constructor refused the url']])
    expect(rt.log).toEqual(['status:connecting', 'status:reconnecting', 'error:protocol'])
  })

  it('fallback.after 1: the first failure goes to SSE within the attempt, the engine never sees it', async () => {
    const rt = await connected(setupRealtime({ fallback: { after: 1 } }))
    rt.ws.last.onerror?.({ type: 'error' } as Event)
    await settle()
    rt.net.streams[0]!.stream().hello()
    await settle()
    expect(rt.log).toEqual(['status:connecting', 'opened:sse', 'status:open'])
    expect(rt.ws.last.closeCalls).toHaveLength(1)
  })

  it('a socket that opened resets the count: failures must come in a row', async () => {
    const rt = await connected(setupRealtime())
    rt.ws.last.serverClose(1006) // 1 before open
    await rt.advance(10_000)
    rt.ws.last.open() // the count starts again
    rt.ws.last.serverClose(1006) // after open: not counted
    await rt.advance(10_000)
    rt.ws.last.serverClose(1006) // 1 before open
    await rt.advance(10_000)
    expect(rt.ws.sockets).toHaveLength(4)
    expect(rt.net.requests).toEqual([])
    rt.ws.last.serverClose(1006) // 2 in a row
    await settle()
    expect(rt.net.streams).toHaveLength(1)
  })

  it('a remembered SSE goes straight to SSE; another url is not affected', async () => {
    const storage = memoryStorage({ [KEY]: 'sse' })
    const rt = await connected(setupRealtime({ storage }))
    expect(rt.ws.sockets).toEqual([])
    expect(rt.net.streams).toHaveLength(1)
    const other = await connected(setupRealtime({ storage }, 'https://rt.test/other'))
    expect(other.ws.sockets).toHaveLength(1)
    expect(other.net.requests).toEqual([])
  })

  it("transport 'websocket' never falls back: failures go to the engine, a refused constructor is final", async () => {
    const rt = await connected(setupRealtime({ transport: 'websocket' }))
    for (let i = 0; i < 4; i++) {
      rt.ws.last.serverClose(1006)
      await rt.advance(10_000)
    }
    expect(rt.ws.sockets).toHaveLength(5)
    expect(rt.net.requests).toEqual([])
    expect(rt.storage.items.size).toBe(0)
    class Refused {
      constructor() {
        throw new TypeError('bad url')
      }
    }
    const refused = await connected(setupRealtime({ transport: 'websocket', WebSocket: Refused as unknown as typeof WebSocket }))
    expect(refused.log).toEqual(['status:connecting', 'status:closed', 'error:protocol'])
  })
})
