import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RealtimeError } from '../../src/core/errors'
import { fetchTransport, type FetchTransportOptions } from '../../src/core/sse-fetch'
import type { TransportSink, WireMessage } from '../../src/core/transport'

/** A streaming response whose body the test writes to. */
function streamResponse(init: ResponseInit = {}) {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) })
  const response = new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8' },
    ...init,
  })
  const encoder = new TextEncoder()
  return {
    response,
    write: (text: string | Uint8Array) => controller.enqueue(typeof text === 'string' ? encoder.encode(text) : text),
    end: () => controller.close(),
    error: (e: Error) => controller.error(e),
  }
}

interface Recorded {
  events: string[]
  messages: WireMessage[]
  reports: RealtimeError[]
  failure: { error: RealtimeError; retryable: boolean; retryAfter: number | undefined } | undefined
}

function run(response: Response | Promise<Response>, options: FetchTransportOptions = {}, lastEventId?: string) {
  const requests: { url: string; init: RequestInit; headers: Headers }[] = []
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(url), init: init!, headers: new Headers(init!.headers) })
    return response
  }) as unknown as typeof globalThis.fetch
  const recorded: Recorded = { events: [], messages: [], reports: [], failure: undefined }
  const sink: TransportSink = {
    open: () => void recorded.events.push('open'),
    message: (m) => void recorded.messages.push(m),
    activity: () => void recorded.events.push('activity'),
    lastEventId: (id) => void recorded.events.push(`id:${id}`),
    retryHint: (ms) => void recorded.events.push(`retry:${ms}`),
    report: (error) => {
      recorded.events.push(`report:${error.kind}`)
      recorded.reports.push(error)
    },
    fail: (error, retryable, retryAfter) => {
      recorded.events.push(`fail:${error.kind}`)
      recorded.failure = { error, retryable, retryAfter }
    },
  }
  const transport = fetchTransport('https://example.test/stream', { ...options, fetch })({
    sink,
    lastEventId,
    attempt: 0,
  })
  return { transport, recorded, requests }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('fetchTransport: the request', () => {
  it('asks for text/event-stream, sends Last-Event-ID only when it is not empty', async () => {
    const first = run(streamResponse().response, {}, '42')
    await settle()
    expect(first.requests[0]!.headers.get('accept')).toBe('text/event-stream')
    expect(first.requests[0]!.headers.get('last-event-id')).toBe('42')
    expect(first.requests[0]!.init.cache).toBe('no-store')
    const empty = run(streamResponse().response, {}, '')
    await settle()
    expect(empty.requests[0]!.headers.has('last-event-id')).toBe(false)
  })

  it.each([
    ['ASCII', 'abc-42', 'abc-42'],
    ['é (U+00E9, which Headers would send as one Latin-1 byte)', 'é', '\u00c3\u00a9'],
    ['€ (U+20AC, which Headers.set would throw on)', '€', '\u00e2\u0082\u00ac'],
    ['an emoji (a surrogate pair)', 'id-🎉', 'id-\u00f0\u009f\u008e\u0089'],
  ])('sends Last-Event-ID as its UTF-8 bytes: %s', async (_name, id, byteString) => {
    const { requests, recorded } = run(streamResponse().response, {}, id)
    await settle()
    expect(recorded.events).toEqual(['open'])
    expect(requests[0]!.headers.get('last-event-id')).toBe(byteString)
  })

  it('a real HTTP server receives the Last-Event-ID bytes, which decode as UTF-8 to the id', async () => {
    const received: Buffer[] = []
    const server = createServer((request: IncomingMessage, response) => {
      // Node reads header bytes one char per byte ('latin1'): turn them back into bytes.
      received.push(Buffer.from(String(request.headers['last-event-id']), 'latin1'))
      response.writeHead(204).end()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`
      const ids = ['abc-42', 'é', '€', 'id-🎉', 'ÿ€𝄞 mixed']
      for (const id of ids) {
        const failed = new Promise<RealtimeError>((resolve) => {
          const sink = { open() {}, message() {}, activity() {}, lastEventId() {}, retryHint() {}, report() {}, fail: resolve }
          fetchTransport(url)({ sink, lastEventId: id, attempt: 1 })
        })
        expect((await failed).kind).toBe('ended')
      }
      expect(received.map((bytes) => bytes.toString('utf8'))).toEqual(ids)
      expect(received.map((bytes) => bytes.toString('hex'))).toEqual(ids.map((id) => Buffer.from(id, 'utf8').toString('hex')))
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('sends method, body, credentials and headers; a headers function is awaited on every connect', async () => {
    let token = 0
    const headers = vi.fn(async () => ({ Authorization: `Bearer t${++token}`, Accept: 'text/plain' }))
    const options: FetchTransportOptions = { method: 'POST', body: '{"q":1}', credentials: 'include', headers }
    const a = run(streamResponse().response, options)
    await settle()
    const b = run(streamResponse().response, options)
    await settle()
    expect(headers).toHaveBeenCalledTimes(2)
    expect(a.requests[0]!.headers.get('authorization')).toBe('Bearer t1')
    expect(b.requests[0]!.headers.get('authorization')).toBe('Bearer t2')
    // The stream's own accept wins over a user header of any case.
    expect(a.requests[0]!.headers.get('accept')).toBe('text/event-stream')
    expect(a.requests[0]!.init).toMatchObject({ method: 'POST', body: '{"q":1}', credentials: 'include' })
  })
})

describe('fetchTransport: the HTTP policy', () => {
  const cases: [string, ResponseInit, string, boolean][] = [
    ['204 closes on purpose, not as a failure', { status: 204 }, 'ended', false],
    ['401 is an auth error', { status: 401 }, 'auth', false],
    ['403 is an auth error', { status: 403 }, 'auth', false],
    ['404 is final', { status: 404 }, 'http', false],
    ['400 is final', { status: 400 }, 'http', false],
    ['500 is retried', { status: 500 }, 'http', true],
    ['503 is retried', { status: 503 }, 'http', true],
    ['429 is retried', { status: 429 }, 'http', true],
    ['a wrong content type is a protocol error', { status: 200, headers: { 'content-type': 'application/json' } }, 'protocol', false],
    ['text/event-streamed is not text/event-stream', { status: 200, headers: { 'content-type': 'text/event-streamed' } }, 'protocol', false],
  ]
  it.each(cases)('%s', async (_name, init, kind, retryable) => {
    const status = init.status === 204 ? 204 : init.status
    const response = new Response(status === 204 ? null : 'nope', init)
    const { recorded } = run(response)
    await settle()
    expect(recorded.events).toEqual([`fail:${kind}`])
    expect(recorded.failure!.retryable).toBe(retryable)
    expect(recorded.failure!.error.status).toBe(status)
  })

  it('honours Retry-After in seconds and as a date', async () => {
    const seconds = run(new Response('busy', { status: 503, headers: { 'retry-after': '7' } }))
    await settle()
    expect(seconds.recorded.failure!.retryAfter).toBe(7000)
    const at = new Date(Date.now() + 60_000).toUTCString()
    const date = run(new Response('busy', { status: 429, headers: { 'retry-after': at } }))
    await settle()
    expect(date.recorded.failure!.retryAfter).toBeGreaterThan(55_000)
    expect(date.recorded.failure!.retryAfter).toBeLessThanOrEqual(60_000)
  })

  it('accepts the content type in any case and with parameters', async () => {
    const s = streamResponse({ headers: { 'content-type': 'Text/Event-Stream ; charset=UTF-8' } })
    const { recorded } = run(s.response)
    await settle()
    expect(recorded.events).toEqual(['open'])
  })

  it('reports a network error as retryable', async () => {
    const { recorded } = run(Promise.reject(new TypeError('fetch failed')))
    await settle()
    expect(recorded.events).toEqual(['fail:network'])
    expect(recorded.failure!.retryable).toBe(true)
    // The thrown text may quote the URL (and a token in it): it stays in `cause` only.
    expect(recorded.failure!.error.message).toBe('the request failed')
    expect(String(recorded.failure!.error.cause)).toBe('TypeError: fetch failed')
  })
})

describe('fetchTransport: the stream', () => {
  it('opens, delivers events with ids and types, reports retry and activity', async () => {
    const s = streamResponse()
    const { recorded } = run(s.response)
    await settle()
    s.write('retry: 2500\n\n: hi\n\nid: 1\nevent: quote\ndata: {"p":1}\n\n')
    s.write('data: plain\n\n')
    await settle()
    expect(recorded.events.filter((e) => e !== 'activity')).toEqual(['open', 'retry:2500', 'id:1'])
    expect(recorded.events[1]).toBe('activity')
    expect(recorded.messages).toEqual([
      { data: '{"p":1}', event: 'quote', id: '1' },
      { data: 'plain', event: 'message', id: '1' },
    ])
  })

  it('treats the end of the stream as a retryable network failure, and drops an unterminated event', async () => {
    const s = streamResponse()
    const { recorded } = run(s.response)
    await settle()
    s.write('data: whole\n\ndata: half')
    s.end()
    await settle()
    expect(recorded.messages.map((m) => m.data)).toEqual(['whole'])
    expect(recorded.events.at(-1)).toBe('fail:network')
    expect(recorded.failure!.retryable).toBe(true)
  })

  it('treats a broken body as a retryable network failure', async () => {
    const s = streamResponse()
    const { recorded } = run(s.response)
    await settle()
    s.error(new Error('socket hang up'))
    await settle()
    expect(recorded.events).toEqual(['open', 'fail:network'])
  })

  it('joins UTF-8 characters split across chunks and strips one BOM', async () => {
    const s = streamResponse()
    const { recorded } = run(s.response)
    await settle()
    const bytes = new TextEncoder().encode('\uFEFFdata: ü€🎉\n\n')
    for (const b of bytes) s.write(new Uint8Array([b]))
    await settle()
    expect(recorded.messages.map((m) => m.data)).toEqual(['ü€🎉'])
  })

  it('skips an event past maxMessageSize: reports it with its id, moves the last event id past it, goes on', async () => {
    const s = streamResponse()
    const { recorded, requests, transport } = run(s.response, { maxMessageSize: 1000 }, '4')
    await settle()
    s.write('id: 5\ndata: ' + 'x'.repeat(600) + '\n')
    s.write('data: ' + 'x'.repeat(600) + '\n')
    s.write('\nid: 6\ndata: next\n\n')
    await settle()
    expect(recorded.messages).toEqual([{ data: 'next', event: 'message', id: '6' }])
    expect(recorded.events.filter((e) => e !== 'activity')).toEqual(['open', 'id:5', 'report:protocol', 'id:6'])
    expect(recorded.reports[0]).toMatchObject({
      kind: 'protocol',
      id: '5',
      message: 'an event passed maxMessageSize (1000) and was skipped',
    })
    // The stream stays: no failure, no second request.
    expect(recorded.failure).toBeUndefined()
    expect(requests).toHaveLength(1)
    transport.close()
  })

  it('stops all I/O on close: no sink calls afterwards, the body is cancelled', async () => {
    const s = streamResponse()
    const { recorded, transport, requests } = run(s.response)
    await settle()
    transport.close()
    expect(requests[0]!.init.signal!.aborted).toBe(true)
    expect(() => s.write('data: late\n\n')).toThrow()
    await settle()
    expect(recorded.events).toEqual(['open'])
    expect(recorded.messages).toEqual([])
  })

  it('closing before the response arrives makes no sink call at all', async () => {
    let resolve!: (r: Response) => void
    const { recorded, transport } = run(new Promise<Response>((r) => (resolve = r)))
    await settle()
    transport.close()
    resolve(streamResponse().response)
    await settle()
    expect(recorded.events).toEqual([])
  })
})

afterEach(() => vi.restoreAllMocks())
