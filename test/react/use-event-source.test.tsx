import { act, waitFor } from '@testing-library/react'
import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import type { RealtimeMessage } from '../../src/core/connection'
import type { StandardSchema } from '../../src/core/decode'
import type { Environment, EnvironmentSignal } from '../../src/core/environment'
import type { RealtimeError } from '../../src/core/errors'
import {
  manualTimers,
  onClientAbort,
  renderEventSource,
  requests,
  server,
  setupHarness,
  SHARE_MODES,
  type Share,
  sseStream,
  steadyEnvironment,
  testFetch,
  testRegistry,
  uniqueUrl,
} from './harness'

setupHarness()

/**
 * Engine options for a test that controls time: hand-cranked timers, a fixed jitter draw
 * (0.5) and a 100 ms base delay, so the first retry waits exactly 50 ms and the second 100.
 */
function controlled(share: Share) {
  const timers = manualTimers()
  const fetch = vi.fn<typeof globalThis.fetch>(testFetch)
  return {
    timers,
    fetch,
    options: {
      registry: testRegistry(),
      share,
      environment: steadyEnvironment,
      timers,
      fetch,
      random: () => 0.5,
      initialDelay: 100,
    },
  }
}

/** Records what onMessage got, as `[event, data, id]` triples. */
function messageLog<T = string>() {
  const log: [string, T, string | undefined][] = []
  const onMessage = (m: RealtimeMessage<T>) => void log.push([m.event, m.data, m.id])
  return { log, onMessage, ids: () => log.map(([, , id]) => id) }
}

/** A hand-made Standard Schema: `{ symbol: string, price: number }`, price rounded to cents. */
interface Quote {
  symbol: string
  price: number
}
const quoteSchema: StandardSchema<Quote> = {
  '~standard': {
    version: 1,
    vendor: 'tabwire-test',
    validate(value) {
      const v = value as Partial<Quote> | null
      if (typeof v !== 'object' || v === null) return { issues: [{ message: 'expected an object' }] }
      const issues = []
      if (typeof v.symbol !== 'string') issues.push({ message: 'symbol: expected a string' })
      if (typeof v.price !== 'number') issues.push({ message: 'price: expected a number' })
      if (issues.length > 0) return { issues }
      return { value: { symbol: v.symbol!, price: Math.round(v.price! * 100) / 100 } }
    },
  },
}

describe.each(SHARE_MODES)('useEventSource: a normal stream ($label)', ({ share }) => {
  it('renders idle → connecting → open and the latest message, with the default timers and frame scheduler', async () => {
    const url = uniqueUrl('normal')
    const stream = sseStream(url, ({ client }) => {
      client.send({ id: '1', data: 'first' })
      client.send({ id: '2', data: 'second' })
    })
    const { result, statuses } = renderEventSource(url, { registry: testRegistry(), share, fetch: testFetch })

    expect(result.current.status).toBe('connecting')
    await waitFor(() => expect(result.current.data).toBe('second'))
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
    expect(result.current).toMatchObject({ status: 'open', data: 'second', lastEventId: '2', error: null, attempt: 0 })

    expect(requests).toHaveLength(1)
    const { request } = stream.connection(0)
    expect(request.method).toBe('GET')
    expect(request.headers.get('accept')).toBe('text/event-stream')
    expect(request.headers.get('last-event-id')).toBeNull()
  })

  it('delivers only the named event types it asks for, in order', async () => {
    const url = uniqueUrl('named')
    sseStream<{ message: string; quote: string; trade: string; status: string }>(url, ({ client }) => {
      client.send({ data: 'plain message' })
      client.send({ event: 'quote', id: 'q1', data: 'ACME 101' })
      client.send({ event: 'trade', id: 't1', data: 'ACME sold' })
      client.send({ event: 'quote', id: 'q2', data: 'ACME 102' })
      client.send({ event: 'status', id: 's1', data: 'ignored' })
      client.send({ event: 'quote', id: 'q3', data: 'ACME 103' })
    })
    const messages = messageLog()
    const { result } = renderEventSource(url, { ...controlled(share).options, events: ['quote'], onMessage: messages.onMessage })

    await waitFor(() => expect(result.current.data).toBe('ACME 103'))
    expect(messages.log).toEqual([
      ['quote', 'ACME 101', 'q1'],
      ['quote', 'ACME 102', 'q2'],
      ['quote', 'ACME 103', 'q3'],
    ])
    expect(result.current.lastEventId).toBe('q3')
  })

  it('listens to several event types at once', async () => {
    const url = uniqueUrl('several')
    sseStream<{ message: string; quote: string; trade: string }>(url, ({ client }) => {
      client.send({ event: 'trade', id: '1', data: 't1' })
      client.send({ data: 'm', id: '2' })
      client.send({ event: 'quote', id: '3', data: 'q1' })
    })
    const messages = messageLog()
    const { result } = renderEventSource(url, { ...controlled(share).options, events: ['quote', 'trade'], onMessage: messages.onMessage })

    await waitFor(() => expect(result.current.data).toBe('q1'))
    expect(messages.log).toEqual([
      ['trade', 't1', '1'],
      ['quote', 'q1', '3'],
    ])
  })

  it('decodes JSON payloads with json: true', async () => {
    const url = uniqueUrl('json')
    sseStream<{ message: Quote }>(url, ({ client }) => {
      client.send({ data: { symbol: 'ACME', price: 1.5 } })
      client.send({ data: { symbol: 'ACME', price: 2.25 } })
    })
    const messages = messageLog<Quote>()
    const { result } = renderEventSource<Quote>(url, { ...controlled(share).options, json: true, onMessage: messages.onMessage })

    await waitFor(() => expect(result.current.data).toEqual({ symbol: 'ACME', price: 2.25 }))
    expect(messages.log.map(([, data]) => data)).toEqual([
      { symbol: 'ACME', price: 1.5 },
      { symbol: 'ACME', price: 2.25 },
    ])
  })

  it('runs parse after json', async () => {
    const url = uniqueUrl('parse')
    sseStream<{ message: Quote }>(url, ({ client }) => client.send({ data: { symbol: 'ACME', price: 3 } }))
    const { result } = renderEventSource<string>(url, {
      ...controlled(share).options,
      json: true,
      parse: (value) => `${(value as Quote).symbol}@${(value as Quote).price}`,
    })
    await waitFor(() => expect(result.current.data).toBe('ACME@3'))
  })
})

describe.each(SHARE_MODES)('useEventSource: bad messages ($label)', ({ share }) => {
  it('invalid JSON is a parse error carrying the raw text; the stream stays open and the next good message clears it', async () => {
    const url = uniqueUrl('bad-json')
    const stream = sseStream(url, ({ client }) => client.send({ id: '1', data: '{"n":1}' }))
    const messages = messageLog<{ n: number }>()
    const onError = vi.fn<(error: RealtimeError) => void>()
    const { result, statuses } = renderEventSource<{ n: number }>(url, {
      ...controlled(share).options,
      json: true,
      onMessage: messages.onMessage,
      onError,
    })
    await waitFor(() => expect(result.current.data).toEqual({ n: 1 }))

    stream.connection(0).client.send({ id: '2', data: '{oops' })
    await waitFor(() => expect(result.current.error?.kind).toBe('parse'))
    expect(result.current.error?.raw).toBe('{oops')
    expect(result.current.status).toBe('open')
    expect(result.current.data).toEqual({ n: 1 })
    expect(onError).toHaveBeenCalledTimes(1)
    expect(onError.mock.calls[0]![0]).toBe(result.current.error)

    stream.connection(0).client.send({ id: '3', data: '{"n":3}' })
    await waitFor(() => expect(result.current.data).toEqual({ n: 3 }))
    expect(result.current.error).toBeNull()

    expect(messages.log).toEqual([
      ['message', { n: 1 }, '1'],
      ['message', { n: 3 }, '3'],
    ])
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
    expect(requests).toHaveLength(1)
  })

  it('a schema failure is a parse error too; what the schema returns becomes data', async () => {
    const url = uniqueUrl('schema')
    const stream = sseStream<{ message: unknown }>(url, ({ client }) => client.send({ data: { symbol: 'ACME', price: 1.234 } }))
    const messages = messageLog<Quote>()
    const { result, statuses } = renderEventSource<Quote>(url, {
      ...controlled(share).options,
      json: true,
      schema: quoteSchema,
      onMessage: messages.onMessage,
    })
    await waitFor(() => expect(result.current.data).toEqual({ symbol: 'ACME', price: 1.23 }))

    const bad = JSON.stringify({ symbol: 'ACME', price: 'free' })
    stream.connection(0).client.send({ data: bad })
    await waitFor(() => expect(result.current.error?.kind).toBe('parse'))
    expect(result.current.error?.raw).toBe(bad)
    expect(result.current.error?.message).toContain('price: expected a number')
    expect(result.current.status).toBe('open')

    stream.connection(0).client.send({ data: { symbol: 'ACME', price: 2.5 } })
    await waitFor(() => expect(result.current.data).toEqual({ symbol: 'ACME', price: 2.5 }))
    expect(result.current.error).toBeNull()
    expect(messages.log.map(([, data]) => data)).toEqual([
      { symbol: 'ACME', price: 1.23 },
      { symbol: 'ACME', price: 2.5 },
    ])
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
  })
})

describe.each(SHARE_MODES)('useEventSource: reconnection and resume ($label)', ({ share }) => {
  /** A server with a log of five events that replays everything after Last-Event-ID. */
  function replayingServer(url: string) {
    const log = ['1', '2', '3', '4', '5'].map((id) => ({ id, data: `event ${id}` }))
    let limit = 3
    const stream = sseStream(url, ({ client, lastEventId }) => {
      const from = lastEventId === null ? 0 : log.findIndex((e) => e.id === lastEventId) + 1
      for (const e of log.slice(from, limit)) client.send(e)
    })
    return {
      stream,
      /** Lets the next connection get the whole log. */
      publishRest: () => void (limit = log.length),
    }
  }

  it('when the server closes the stream, reconnects after the backoff with Last-Event-ID and loses or repeats nothing', async () => {
    const url = uniqueUrl('resume-close')
    const { stream, publishRest } = replayingServer(url)
    const { timers, options } = controlled(share)
    const messages = messageLog()
    const { result, statuses } = renderEventSource(url, { ...options, onMessage: messages.onMessage })
    await waitFor(() => expect(messages.ids()).toEqual(['1', '2', '3']))

    publishRest()
    stream.connection(0).client.close()
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    expect(result.current.error?.kind).toBe('network')
    expect(result.current.attempt).toBe(1)
    expect(stream.connections).toHaveLength(1)
    expect(timers.delays()).toContain(50)

    act(() => void timers.run(50))
    await waitFor(() => expect(result.current.data).toBe('event 5'))
    expect(stream.connection(0).lastEventId).toBeNull()
    expect(stream.connection(1).lastEventId).toBe('3')
    expect(messages.ids()).toEqual(['1', '2', '3', '4', '5'])
    expect(result.current).toMatchObject({ status: 'open', lastEventId: '5', error: null })
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open'])
  })

  it('when the stream fails mid-way (client.error()), resumes the same way', async () => {
    const url = uniqueUrl('resume-error')
    const { stream, publishRest } = replayingServer(url)
    const { timers, options } = controlled(share)
    const messages = messageLog()
    const { result, statuses } = renderEventSource(url, { ...options, onMessage: messages.onMessage })
    await waitFor(() => expect(messages.ids()).toEqual(['1', '2', '3']))

    publishRest()
    stream.connection(0).client.error()
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    expect(result.current.error?.kind).toBe('network')

    act(() => void timers.run(50))
    await waitFor(() => expect(messages.ids()).toEqual(['1', '2', '3', '4', '5']))
    expect(stream.connection(1).lastEventId).toBe('3')
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open'])
  })

  it('a 500 then a 200: reconnecting with an http error until the backoff delay is over, then open', async () => {
    const url = uniqueUrl('500')
    const stream = sseStream(url, ({ client }) => client.send({ data: 'back' }))
    server.use(http.get(url, () => new HttpResponse('down', { status: 500 }), { once: true }))
    const { timers, fetch, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, options)

    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    expect(result.current.error).toMatchObject({ kind: 'http', status: 500 })
    expect(result.current.attempt).toBe(1)
    expect(timers.delays()).toContain(50)
    expect(fetch).toHaveBeenCalledTimes(1)

    act(() => void timers.run(50))
    await waitFor(() => expect(result.current.data).toBe('back'))
    expect(result.current.status).toBe('open')
    expect(result.current.error).toBeNull()
    expect(statuses()).toEqual(['idle', 'connecting', 'reconnecting', 'open'])
    expect(requests).toHaveLength(2)
    expect(stream.connections).toHaveLength(1)
  })

  it('backs off exponentially: two 503s wait 50 then 100 ms (random 0.5, initialDelay 100)', async () => {
    const url = uniqueUrl('503x2')
    sseStream(url, ({ client }) => client.send({ data: 'up' }))
    server.use(http.get(url, () => new HttpResponse(null, { status: 503 }), { once: true }))
    server.use(http.get(url, () => new HttpResponse(null, { status: 503 }), { once: true }))
    const { timers, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, options)

    await waitFor(() => expect(result.current.attempt).toBe(1))
    expect(timers.delays()).toContain(50)
    act(() => void timers.run(50))
    await waitFor(() => expect(result.current.attempt).toBe(2))
    expect(timers.delays()).toContain(100)
    expect(timers.delays()).not.toContain(50)
    act(() => void timers.run(100))
    await waitFor(() => expect(result.current.data).toBe('up'))
    expect(statuses()).toEqual(['idle', 'connecting', 'reconnecting', 'open'])
    expect(requests).toHaveLength(3)
  })

  it('honours Retry-After on a 503: the retry waits at least that long (a floor, with the jitter above it)', async () => {
    const url = uniqueUrl('retry-after')
    sseStream(url, ({ client }) => client.send({ data: 'later' }))
    server.use(http.get(url, () => new HttpResponse(null, { status: 503, headers: { 'retry-after': '2' } }), { once: true }))
    const { timers, options } = controlled(share)
    const { result } = renderEventSource(url, options)

    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    // The soonest timer is the retry: 2 s, plus at most the first attempt's jitter range.
    const retry = Math.min(...timers.delays())
    expect(retry).toBeGreaterThanOrEqual(2000)
    expect(retry).toBeLessThanOrEqual(2000 + 100)
    act(() => void timers.run(retry))
    await waitFor(() => expect(result.current.data).toBe('later'))
  })
})

describe.each(SHARE_MODES)('useEventSource: final answers ($label)', ({ share }) => {
  it.each([401, 403])('%i closes with an auth error and sends nothing more, even when every timer fires; reconnect() tries again', async (status) => {
    const url = uniqueUrl(`auth-${status}`)
    const stream = sseStream(url, ({ client }) => client.send({ data: 'welcome' }))
    server.use(http.get(url, () => new HttpResponse(null, { status }), { once: true }))
    const { timers, fetch, options } = controlled(share)
    const onError = vi.fn<(error: RealtimeError) => void>()
    const { result, statuses } = renderEventSource(url, { ...options, onError })

    await waitFor(() => expect(result.current.status).toBe('closed'))
    expect(result.current.error).toMatchObject({ kind: 'auth', status })
    expect(onError).toHaveBeenCalledTimes(1)

    act(() => void timers.runAll())
    expect(result.current.status).toBe('closed')
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(requests).toHaveLength(1)

    act(() => result.current.reconnect())
    await waitFor(() => expect(result.current.data).toBe('welcome'))
    expect(result.current.error).toBeNull()
    expect(statuses()).toEqual(['idle', 'connecting', 'closed', 'connecting', 'open'])
    expect(stream.connections).toHaveLength(1)
  })

  it('onAuthError returning true retries exactly once, then stays closed', async () => {
    const url = uniqueUrl('auth-hook')
    server.use(http.get(url, () => new HttpResponse(null, { status: 401 })))
    const { timers, fetch, options } = controlled(share)
    const onAuthError = vi.fn(async (_error: RealtimeError) => true)
    const { result, statuses } = renderEventSource(url, { ...options, onAuthError })

    await waitFor(() => expect(result.current.status).toBe('closed'))
    expect(result.current.error).toMatchObject({ kind: 'auth', status: 401 })
    expect(onAuthError).toHaveBeenCalledTimes(1)
    expect(onAuthError.mock.calls[0]![0]).toMatchObject({ kind: 'auth', status: 401 })
    expect(requests).toHaveLength(2)

    act(() => void timers.runAll())
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(statuses()).toEqual(['idle', 'connecting', 'reconnecting', 'closed'])
  })

  it('onAuthError can refresh the token: the retry carries the new headers and opens', async () => {
    const url = uniqueUrl('auth-refresh')
    let token = 'stale'
    sseStream(url, ({ client }) => client.send({ data: 'authorized' }))
    server.use(
      http.get(url, ({ request }) =>
        request.headers.get('authorization') === 'Bearer fresh' ? undefined : new HttpResponse(null, { status: 401 }),
      ),
    )
    const onAuthError = vi.fn(async () => {
      token = 'fresh'
      return true
    })
    const { result, statuses } = renderEventSource(url, {
      ...controlled(share).options,
      headers: async () => ({ authorization: `Bearer ${token}` }),
      onAuthError,
    })

    await waitFor(() => expect(result.current.data).toBe('authorized'))
    expect(requests.map((r) => r.headers.get('authorization'))).toEqual(['Bearer stale', 'Bearer fresh'])
    expect(onAuthError).toHaveBeenCalledTimes(1)
    expect(statuses()).toEqual(['idle', 'connecting', 'reconnecting', 'open'])
  })

  it('204 closes for good: no retry, even when every timer fires', async () => {
    const url = uniqueUrl('204')
    server.use(http.get(url, () => new HttpResponse(null, { status: 204 })))
    const { timers, fetch, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, options)

    await waitFor(() => expect(result.current.status).toBe('closed'))
    // The server said "stop": an `ended` error, which an app can tell from a failure.
    expect(result.current.error).toMatchObject({ kind: 'ended', status: 204 })
    act(() => void timers.runAll())
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(requests).toHaveLength(1)
    expect(statuses()).toEqual(['idle', 'connecting', 'closed'])
  })

  it.each([400, 404, 410])('%i closes with an http error and no retry', async (status) => {
    const url = uniqueUrl(`http-${status}`)
    server.use(http.get(url, () => new HttpResponse('nope', { status })))
    const { timers, fetch, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, options)

    await waitFor(() => expect(result.current.status).toBe('closed'))
    expect(result.current.error).toMatchObject({ kind: 'http', status })
    act(() => void timers.runAll())
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(statuses()).toEqual(['idle', 'connecting', 'closed'])
  })

  it('a 200 that is not text/event-stream closes with a protocol error and no retry', async () => {
    const url = uniqueUrl('protocol')
    server.use(http.get(url, () => HttpResponse.json({ not: 'a stream' })))
    const { timers, fetch, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, options)

    await waitFor(() => expect(result.current.status).toBe('closed'))
    expect(result.current.error?.kind).toBe('protocol')
    act(() => void timers.runAll())
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(requests).toHaveLength(1)
    expect(statuses()).toEqual(['idle', 'connecting', 'closed'])
  })
})

describe.each(SHARE_MODES)('useEventSource: the request ($label)', ({ share }) => {
  it('calls an async headers function on every connect, so a refreshed token goes out on reconnect', async () => {
    const url = uniqueUrl('headers-fn')
    const stream = sseStream(url, ({ client }) => client.send({ data: 'hi' }))
    let issued = 0
    const headers = vi.fn(async () => ({ authorization: `Bearer token-${++issued}` }))
    const { timers, options } = controlled(share)
    const { result } = renderEventSource(url, { ...options, headers })
    await waitFor(() => expect(result.current.status).toBe('open'))

    stream.connection(0).client.close()
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    act(() => void timers.run(50))
    await waitFor(() => expect(stream.connections).toHaveLength(2))
    await waitFor(() => expect(result.current.status).toBe('open'))

    expect(headers).toHaveBeenCalledTimes(2)
    expect(stream.connections.map((c) => c.request.headers.get('authorization'))).toEqual(['Bearer token-1', 'Bearer token-2'])
  })

  it('sends a static headers object, method and body', async () => {
    const url = uniqueUrl('post')
    const seen: { method: string; body: string; header: string | null; accept: string | null }[] = []
    server.use(
      http.post(url, async ({ request }) => {
        seen.push({
          method: request.method,
          body: await request.text(),
          header: request.headers.get('x-room'),
          accept: request.headers.get('accept'),
        })
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('data: posted\n\n'))
            onClientAbort(request, () => controller.close())
          },
        })
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8' } })
      }),
    )
    const { result } = renderEventSource(url, {
      ...controlled(share).options,
      method: 'POST',
      body: JSON.stringify({ room: 7 }),
      headers: { 'x-room': '7' },
    })
    await waitFor(() => expect(result.current.data).toBe('posted'))
    expect(seen).toEqual([{ method: 'POST', body: '{"room":7}', header: '7', accept: 'text/event-stream' }])
  })
})

describe.each(SHARE_MODES)('useEventSource: no connection ($label)', ({ share }) => {
  it('a null url stays idle and sends nothing', async () => {
    const { fetch, options } = controlled(share)
    const { result, statuses } = renderEventSource(null, options)
    await act(async () => {})
    expect(result.current).toMatchObject({ status: 'idle', data: undefined, error: null, attempt: 0 })
    expect(statuses()).toEqual(['idle'])
    expect(fetch).not.toHaveBeenCalled()
    expect(requests).toHaveLength(0)
  })

  it('enabled: false stays idle and sends nothing; enabling it connects', async () => {
    const url = uniqueUrl('enabled')
    sseStream(url, ({ client }) => client.send({ data: 'now' }))
    const { fetch, options } = controlled(share)
    const { result, statuses, rerender } = renderEventSource(url, { ...options, enabled: false })
    await act(async () => {})
    expect(result.current.status).toBe('idle')
    expect(fetch).not.toHaveBeenCalled()
    expect(requests).toHaveLength(0)

    rerender({ url, options: { ...options, enabled: true } })
    await waitFor(() => expect(result.current.data).toBe('now'))
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
    expect(requests).toHaveLength(1)
  })
})

describe.each(SHARE_MODES)('useEventSource: controls ($label)', ({ share }) => {
  it('close() closes for good; reconnect() starts again from the last event id', async () => {
    const url = uniqueUrl('controls')
    const stream = sseStream(url, ({ client }, n) => client.send({ id: `${n + 1}`, data: `connection ${n + 1}` }))
    const { timers, fetch, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, options)
    await waitFor(() => expect(result.current.data).toBe('connection 1'))

    act(() => result.current.close())
    expect(result.current).toMatchObject({ status: 'closed', error: null })
    expect(stream.connection(0).clientAborted).toBe(true)
    act(() => void timers.runAll())
    expect(fetch).toHaveBeenCalledTimes(1)

    act(() => result.current.reconnect())
    await waitFor(() => expect(result.current.data).toBe('connection 2'))
    expect(stream.connection(1).lastEventId).toBe('1')
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'closed', 'connecting', 'open'])
  })
})

describe.each(SHARE_MODES)('useEventSource: engine options through the hook ($label)', ({ share }) => {
  it('maxRetries: gives up with a max-retries error after that many retries; reconnect() starts again', async () => {
    const url = uniqueUrl('max-retries')
    server.use(http.get(url, () => new HttpResponse(null, { status: 503 })))
    const { timers, fetch, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, { ...options, maxRetries: 2 })

    await waitFor(() => expect(result.current.attempt).toBe(1))
    act(() => void timers.run(50))
    await waitFor(() => expect(result.current.attempt).toBe(2))
    act(() => void timers.run(100))
    await waitFor(() => expect(result.current.status).toBe('closed'))
    expect(result.current.error?.kind).toBe('max-retries')
    expect(requests).toHaveLength(3)
    act(() => void timers.runAll())
    expect(fetch).toHaveBeenCalledTimes(3)

    act(() => result.current.reconnect())
    expect(result.current).toMatchObject({ status: 'connecting', attempt: 0, error: null })
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    expect(requests).toHaveLength(4)
    expect(statuses()).toEqual(['idle', 'connecting', 'reconnecting', 'closed', 'connecting', 'reconnecting'])
  })

  it('minUptime: a server that accepts and drops at once still backs off; the count resets only after minUptime', async () => {
    const url = uniqueUrl('min-uptime')
    const stream = sseStream(url, ({ client }, n) => client.send({ id: `${n + 1}`, data: `hello ${n + 1}` }))
    const { timers, options } = controlled(share)
    const { result } = renderEventSource(url, { ...options, minUptime: 3000 })
    await waitFor(() => expect(result.current.data).toBe('hello 1'))

    // Dropped twice before minUptime: 50 ms, then 100 ms.
    for (const [n, delay] of [[0, 50], [1, 100]] as const) {
      stream.connection(n).client.close()
      await waitFor(() => expect(result.current.status).toBe('reconnecting'))
      expect(result.current.attempt).toBe(n + 1)
      expect(timers.delays()).toContain(delay)
      act(() => void timers.run(delay))
      await waitFor(() => expect(result.current.data).toBe(`hello ${n + 2}`))
    }
    expect(result.current.attempt).toBe(2)

    // Up for minUptime: the count starts over, and the next drop waits 50 ms again.
    act(() => void timers.run(3000))
    expect(result.current.attempt).toBe(0)
    stream.connection(2).client.close()
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    expect(result.current.attempt).toBe(1)
    expect(timers.delays()).toContain(50)
    expect(stream.connections.map((c) => c.lastEventId)).toEqual([null, '1', '2'])
  })

  it('idleTimeout: a silent stream is dropped with a timeout error and resumed; any message counts as liveness', async () => {
    const url = uniqueUrl('idle')
    const stream = sseStream(url)
    const clock = { now: 0 }
    const { timers, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, { ...options, idleTimeout: 1000, now: () => clock.now })
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(timers.delays()).toContain(1000)

    clock.now = 600
    stream.connection(0).client.send({ id: '1', data: 'alive' })
    await waitFor(() => expect(result.current.data).toBe('alive'))
    clock.now = 1000
    act(() => void timers.run(1000))
    expect(result.current.status).toBe('open')
    expect(timers.delays()).toContain(600)

    clock.now = 1600
    act(() => void timers.run(600))
    expect(result.current.status).toBe('reconnecting')
    expect(result.current.error?.kind).toBe('timeout')
    expect(stream.connection(0).clientAborted).toBe(true)

    act(() => void timers.run(50))
    await waitFor(() => expect(stream.connections).toHaveLength(2))
    expect(stream.connection(1).lastEventId).toBe('1')
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open'])
  })

  it('environment: going offline pauses at once; coming back online reconnects at once, without a backoff', async () => {
    const url = uniqueUrl('offline')
    const stream = sseStream(url, ({ client }, n) => client.send({ id: `${n + 1}`, data: `hello ${n + 1}` }))
    const listeners = new Set<(signal: EnvironmentSignal) => void>()
    let offline = false
    const environment: Environment = {
      current: () => (offline ? ['offline'] : []),
      subscribe: (listener) => {
        listeners.add(listener)
        return () => void listeners.delete(listener)
      },
    }
    const signal = (next: 'offline' | 'online') => {
      offline = next === 'offline'
      for (const listener of [...listeners]) listener(next)
    }
    const { timers, fetch, options } = controlled(share)
    const { result, statuses } = renderEventSource(url, { ...options, environment })
    await waitFor(() => expect(result.current.data).toBe('hello 1'))

    act(() => signal('offline'))
    expect(result.current.status).toBe('paused')
    expect(stream.connection(0).clientAborted).toBe(true)
    act(() => void timers.runAll())
    expect(fetch).toHaveBeenCalledTimes(1)

    act(() => signal('online'))
    expect(result.current.status).toBe('connecting')
    await waitFor(() => expect(result.current.data).toBe('hello 2'))
    expect(stream.connection(1).lastEventId).toBe('1')
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'paused', 'connecting', 'open'])
  })
})

describe.each(SHARE_MODES)('useEventSource: listener errors ($label)', ({ share }) => {
  it('a throwing onMessage is reported and breaks neither delivery to other subscribers nor later messages', async () => {
    const url = uniqueUrl('throwing')
    const stream = sseStream(url, ({ client }) => client.send({ id: '1', data: 'm1' }))
    const { options } = controlled(share)
    const thrower: string[] = []
    const other: string[] = []
    const reported: unknown[] = []
    const onWindowError = (event: ErrorEvent) => {
      reported.push(event.error)
      event.preventDefault() // handled: keeps jsdom from printing "Uncaught"
    }
    window.addEventListener('error', onWindowError)
    const reportError = vi.spyOn(globalThis, 'reportError')
    try {
      const throwing = renderEventSource(url, {
        ...options,
        onMessage: (m) => {
          thrower.push(m.data)
          throw new Error(`boom on ${m.data}`)
        },
      })
      const calm = renderEventSource(url, { ...options, onMessage: (m) => void other.push(m.data) })
      await waitFor(() => expect(calm.result.current.status).toBe('open'))

      stream.connection(0).client.send({ id: '2', data: 'm2' })
      stream.connection(0).client.send({ id: '3', data: 'm3' })
      await waitFor(() => expect(other).toEqual(['m1', 'm2', 'm3']))
      expect(thrower).toEqual(['m1', 'm2', 'm3'])
      await waitFor(() => expect(throwing.result.current.data).toBe('m3'))
      expect(calm.result.current.data).toBe('m3')
      expect(throwing.statuses()).toEqual(['idle', 'connecting', 'open'])
      expect(requests).toHaveLength(1)

      const messagesOf = (errors: unknown[]) => errors.map((e) => (e as Error).message)
      expect(messagesOf(reportError.mock.calls.map(([e]) => e))).toEqual(['boom on m1', 'boom on m2', 'boom on m3'])
      expect(messagesOf(reported)).toEqual(['boom on m1', 'boom on m2', 'boom on m3'])
    } finally {
      reportError.mockRestore()
      window.removeEventListener('error', onWindowError)
    }
  })
})
