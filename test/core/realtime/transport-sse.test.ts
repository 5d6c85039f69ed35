import { describe, expect, it } from 'vitest'
import { settle, setupRealtime } from './transport-fakes'

// The realtime transport over SSE with POST (transport: 'sse'), driven through the real
// engine: the stream's request and hello, the answers that fail it, and the POST queue.

/** A forced-SSE setup, connected, with its stream answered and (unless `hello` is false) said hello on. */
async function onSse(options: Parameters<typeof setupRealtime>[0] = {}, hello = true) {
  const rt = setupRealtime({ transport: 'sse', ...options })
  rt.connection.connect()
  await settle()
  const stream = rt.net.streams[0]!.stream()
  if (hello) stream.hello('s1')
  await settle()
  return { ...rt, stream }
}

const post = (rt: ReturnType<typeof setupRealtime>, i: number) => rt.net.posts[i]!

describe('realtimeTransport: the SSE stream', () => {
  it('asks for an event stream with the headers and credentials; opens on hello, and its events reach the host', async () => {
    let token = 0
    const rt = await onSse({ headers: async () => ({ Authorization: `Bearer t${++token}`, Accept: 'text/plain' }), credentials: 'include' }, false)
    const request = rt.net.streams[0]!
    expect([request.url, request.headers.get('accept'), request.headers.get('authorization'), request.credentials]).toEqual([
      'https://rt.test/live?token=secret',
      'text/event-stream',
      'Bearer t1',
      'include',
    ])
    expect(rt.log).toEqual(['status:connecting'])
    rt.stream.write(': hi\n\n')
    rt.stream.hello('s1')
    rt.stream.frame({ type: 'subscribed', channel: 'a', head: '0' })
    rt.stream.write('event: ignored\nid: 9\ndata: {"type":"event","channel":"a","id":"1","data":2}\n\n')
    rt.stream.frame({ type: 'hello', session: 's2', protocol: 1 })
    rt.stream.write('data: nope\n\n')
    await settle()
    expect(rt.log).toEqual(['status:connecting', 'opened:sse', 'status:open', 'receive:subscribed', 'receive:event', 'message:1', 'error:protocol'])
    expect(rt.ws.sockets).toEqual([])
  })

  it.each([
    ['a hello of another protocol', { type: 'hello', session: 's1', protocol: 2 }, 'not a realtime stream (protocol 2, not 1)'],
    ['another frame first', { type: 'subscribed', channel: 'a', head: null }, 'not a realtime stream (no hello first)'],
  ])('%s is a final protocol error', async (_name, first, message) => {
    const rt = await onSse({}, false)
    rt.stream.frame(first)
    await settle()
    expect(rt.log).toEqual(['status:connecting', 'status:closed', 'error:protocol'])
    expect(rt.errors[0]!.message).toBe(message)
    expect(rt.stream.cancelled).toBe(true)
  })

  it.each([
    [401, {}, 'auth', 'closed'],
    [403, {}, 'auth', 'closed'],
    [404, {}, 'http', 'closed'],
    [503, {}, 'http', 'reconnecting'],
    [429, { 'retry-after': '7' }, 'http', 'reconnecting'],
  ])('HTTP %i: %s, %s', async (status, headers, kind, next) => {
    const rt = setupRealtime({ transport: 'sse' })
    rt.connection.connect()
    await settle()
    rt.net.streams[0]!.respond(new Response('no', { status, headers }))
    await settle()
    expect(rt.log).toEqual(['status:connecting', `status:${next}`, `error:${kind}`])
    expect(rt.errors[0]).toMatchObject({ kind, status, message: `HTTP ${status}` })
  })

  it('waits out Retry-After before the next request', async () => {
    const rt = setupRealtime({ transport: 'sse' })
    rt.connection.connect()
    await settle()
    rt.net.streams[0]!.respond(new Response('busy', { status: 503, headers: { 'retry-after': '7' } }))
    await settle()
    // The floor (7000) plus half the first jitter range (1000), with random 0.5.
    await rt.advance(7499)
    expect(rt.net.streams).toHaveLength(1)
    await rt.advance(1)
    expect(rt.net.streams.map((r) => r.at)).toEqual([0, 7500])
  })

  it('a wrong content type is a final protocol error; a stream that ends is retried', async () => {
    const rt = setupRealtime({ transport: 'sse' })
    rt.connection.connect()
    await settle()
    rt.net.streams[0]!.respond(new Response('<html>', { status: 200, headers: { 'content-type': 'text/html' } }))
    await settle()
    expect(rt.log).toEqual(['status:connecting', 'status:closed', 'error:protocol'])
    expect(rt.errors[0]!.message).toBe("not an event stream: 'text/html'")
    const ends = await onSse()
    ends.stream.end()
    await settle()
    expect(ends.log).toEqual(['status:connecting', 'opened:sse', 'status:open', 'closed', 'status:reconnecting', 'error:network'])
  })

  it('a fetch that throws, or rejects with the url in its text, is a retried network failure with the url in cause only', async () => {
    const rt = setupRealtime({
      transport: 'sse',
      fetch: () => {
        throw new TypeError('fetch failed: https://rt.test/live?token=secret')
      },
    })
    rt.connection.connect()
    await settle()
    expect(rt.log).toEqual(['status:connecting', 'status:reconnecting', 'error:network'])
    expect(rt.errors[0]!.message).toBe('the request failed')
    expect(String(rt.errors[0]!.cause)).toContain('secret')
  })

  it('comments keep the engine from declaring the stream dead; silence does not', async () => {
    const rt = setupRealtime({ transport: 'sse' }, undefined, { idleTimeout: 1000 })
    rt.connection.connect()
    await settle()
    const stream = rt.net.streams[0]!.stream()
    stream.hello()
    for (let i = 0; i < 5; i++) {
      await rt.advance(800)
      stream.write(':\n')
      await settle()
    }
    expect(rt.snap().status).toBe('open')
    await rt.advance(1000)
    expect(rt.log).toEqual(['status:connecting', 'opened:sse', 'status:open', 'closed', 'status:reconnecting', 'error:timeout'])
    expect(stream.cancelled).toBe(true)
  })
})

describe('realtimeTransport: POSTs', () => {
  it('POSTs { session, frames } as JSON with the headers, one at a time, in order; frames sent meanwhile go in the next', async () => {
    const rt = await onSse({ headers: { authorization: 'Bearer t' }, credentials: 'include' })
    const link = rt.links[0]!
    link.send([{ type: 'subscribe', channel: 'a' }])
    await settle()
    link.send([{ type: 'subscribe', channel: 'b', since: '4' }])
    link.send([{ type: 'publish', channel: 'b', data: 1, pid: 'p' }, { type: 'unsubscribe', channel: 'a' }])
    await settle()
    expect(rt.net.posts).toHaveLength(1)
    const first = post(rt, 0)
    expect([first.url, first.headers.get('content-type'), first.headers.get('authorization'), first.credentials]).toEqual([
      'https://rt.test/live?token=secret',
      'application/json',
      'Bearer t',
      'include',
    ])
    expect(JSON.parse(first.body!)).toEqual({ session: 's1', frames: [{ type: 'subscribe', channel: 'a' }] })
    first.respond(new Response(null, { status: 204 }))
    await settle()
    expect(rt.net.postedFrames()).toEqual([
      [{ type: 'subscribe', channel: 'a' }],
      [
        { type: 'subscribe', channel: 'b', since: '4' },
        { type: 'publish', channel: 'b', data: 1, pid: 'p' },
        { type: 'unsubscribe', channel: 'a' },
      ],
    ])
    post(rt, 1).respond(new Response(null, { status: 204 }))
    await settle()
    link.send([{ type: 'unsubscribe', channel: 'b' }])
    await settle()
    expect(rt.net.posts).toHaveLength(3)
    expect(rt.log).toEqual(['status:connecting', 'opened:sse', 'status:open'])
  })

  it.each([
    ['a network failure', (r: { reject(e: unknown): void }) => r.reject(new TypeError('fetch failed')), 'network'],
    ['404 (the server forgot the session)', (r: { respond(x: Response): void }) => r.respond(new Response('', { status: 404 })), 'http'],
    ['503', (r: { respond(x: Response): void }) => r.respond(new Response('', { status: 503 })), 'http'],
  ])('%s fails the attempt: the stream and the queue are dropped, the engine reconnects', async (_name, answer, kind) => {
    const rt = await onSse()
    rt.links[0]!.send([{ type: 'subscribe', channel: 'a' }])
    await settle()
    rt.links[0]!.send([{ type: 'subscribe', channel: 'b' }])
    answer(post(rt, 0) as never)
    await settle()
    expect(rt.log).toEqual(['status:connecting', 'opened:sse', 'status:open', 'closed', 'status:reconnecting', `error:${kind}`])
    expect(rt.stream.cancelled).toBe(true)
    expect(rt.net.streams[0]!.signal.aborted).toBe(true)
    expect(rt.net.posts).toHaveLength(1)
    // The next attempt starts a new stream; the old link sends nothing.
    rt.links[0]!.send([{ type: 'subscribe', channel: 'c' }])
    await rt.advance(500)
    expect(rt.net.streams).toHaveLength(2)
    expect(rt.net.posts).toHaveLength(1)
  })

  it('another refused POST (400, 413, 401) is reported and the queue goes on', async () => {
    const rt = await onSse()
    const link = rt.links[0]!
    link.send([{ type: 'subscribe', channel: 'a' }])
    await settle()
    link.send([{ type: 'subscribe', channel: 'b' }])
    post(rt, 0).respond(new Response('bad', { status: 400 }))
    await settle()
    link.send([{ type: 'subscribe', channel: 'c' }])
    post(rt, 1).respond(new Response('big', { status: 413 }))
    await settle()
    post(rt, 2).respond(new Response('who', { status: 401 }))
    await settle()
    expect(rt.net.postedFrames()).toEqual([[{ type: 'subscribe', channel: 'a' }], [{ type: 'subscribe', channel: 'b' }], [{ type: 'subscribe', channel: 'c' }]])
    expect(rt.log).toEqual(['status:connecting', 'opened:sse', 'status:open', 'error:protocol', 'error:protocol', 'error:protocol'])
    expect(rt.errors.map((e) => e.status)).toEqual([400, 413, 401])
    expect(rt.snap().status).toBe('open')
  })

  it('a frame JSON cannot carry is reported and left out; the others go', async () => {
    const rt = await onSse()
    rt.links[0]!.send([
      { type: 'publish', channel: 'a', data: 1n },
      { type: 'publish', channel: 'a', data: 2 },
    ])
    await settle()
    expect(rt.net.postedFrames()).toEqual([[{ type: 'publish', channel: 'a', data: 2 }]])
    expect(rt.log.slice(3)).toEqual(['error:protocol'])
  })

  it('close() aborts the stream and the POST in flight, and nothing reaches the sink or the host after', async () => {
    const rt = await onSse()
    rt.links[0]!.send([{ type: 'subscribe', channel: 'a' }])
    await settle()
    rt.links[0]!.send([{ type: 'subscribe', channel: 'b' }])
    rt.connection.close()
    expect([rt.net.streams[0]!.signal.aborted, post(rt, 0).signal.aborted, rt.stream.cancelled]).toEqual([true, true, true])
    rt.links[0]!.send([{ type: 'subscribe', channel: 'c' }])
    await settle()
    expect(rt.net.posts).toHaveLength(1)
    expect(rt.log).toEqual(['status:connecting', 'opened:sse', 'status:open', 'closed', 'status:closed'])
    expect(rt.timers.count).toBe(0)
  })

  it.each(['sse', 'websocket', 'auto'] as const)('close() before the url is resolved (%s) makes no request and opens no socket', async (transport) => {
    const rt = setupRealtime({ transport })
    rt.connection.connect()
    rt.connection.close()
    await settle()
    expect([rt.net.requests.length, rt.ws.sockets.length]).toEqual([0, 0])
    expect(rt.log).toEqual(['status:connecting', 'status:closed'])
  })
})
