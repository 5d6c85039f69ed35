import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RealtimeError } from '../../src/core/errors'
import { createEventSource, type EventSourceOptions } from '../../src/core/event-source'

const url = 'https://example.test/s'

describe('createEventSource misuse', () => {
  it('throws at once, naming the API and the fix', () => {
    expect(() => createEventSource('')).toThrow(/\[tabwire\] createEventSource: expected a url/)
    expect(() => createEventSource(url, { events: ['ok', ''] })).toThrow(/events/)
    expect(() => createEventSource(url, { events: 'quote' as never })).toThrow(/events/)
    expect(() => createEventSource(url, { transport: 'eventsource', headers: { a: 'b' } })).toThrow(/use 'fetch'/)
    expect(() =>
      createEventSource(url, { transport: 'eventsource', method: 'POST', EventSource: class {} as never }),
    ).toThrow(/use 'fetch'/)
    expect(() => createEventSource(url, { schema: {} as never })).toThrow(/Standard Schema/)
  })

  it('throws for a malformed url instead of retrying it forever as a network error', () => {
    expect(() => createEventSource('http://exa mple.com')).toThrow(/\[tabwire\] createEventSource: the url does not parse/)
  })

  it('needs EventSource for the native transport (Node has none), unless one is given', () => {
    expect(() => createEventSource(url, { transport: 'eventsource' })).toThrow(
      /\[tabwire\] createEventSource: transport 'eventsource' needs EventSource, which this runtime lacks/,
    )
    expect(() => createEventSource(url, { transport: 'eventsource', EventSource: class {} as never }).close()).not.toThrow()
  })

  it('needs a page to resolve a relative url against (none in Node), and takes it where there is one', async () => {
    expect(() => createEventSource('/s')).toThrow(/\[tabwire\] createEventSource: a relative url \(\/s\) needs a page/)
    vi.stubGlobal('location', { href: 'https://page.test/app/' })
    let requested = ''
    const source = createEventSource('s?x=1', {
      fetch: (async (u: string) => ((requested = u), new Response(null, { status: 204 }))) as never,
      environment: quiet,
    })
    source.connect()
    await settle()
    // fetch resolves it against the page, as a browser does.
    expect(requested).toBe('s?x=1')
    expect(source.getSnapshot().status).toBe('closed')
  })

  it('creates nothing and touches no network until connect()', () => {
    let fetched = 0
    const source = createEventSource(url, {
      fetch: (async () => {
        fetched++
        return new Response(null, { status: 204 })
      }) as typeof fetch,
    })
    expect(source.getSnapshot().status).toBe('idle')
    expect(fetched).toBe(0)
    source.close()
  })
})

describe('createEventSource defaults', () => {
  it('leaves idle detection off for the native EventSource, which cannot see comment heartbeats', () => {
    vi.useFakeTimers()
    try {
      const made: { onopen: (() => void) | null }[] = []
      class FakeSource {
        onopen: (() => void) | null = null
        onerror: (() => void) | null = null
        constructor() {
          made.push(this)
        }
        addEventListener() {}
        removeEventListener() {}
        close() {}
      }
      const native = createEventSource(url, { transport: 'eventsource', EventSource: FakeSource as never, environment: quiet })
      native.connect()
      made[0]!.onopen!()
      vi.advanceTimersByTime(10 * 60_000)
      expect(native.getSnapshot()).toMatchObject({ status: 'open', error: null })
      expect(made).toHaveLength(1)
      native.close()
      // ...while it stays on for fetch, where every byte counts.
      const fetched = createEventSource(url, {
        fetch: (() => new Promise<Response>(() => {})) as typeof fetch,
        environment: quiet,
      })
      fetched.connect()
      vi.advanceTimersByTime(45_000)
      expect(fetched.getSnapshot().error?.kind).toBe('timeout')
      fetched.close()
    } finally {
      vi.useRealTimers()
    }
  })
})

const quiet = { current: () => [], subscribe: () => () => {} }

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

/** A fetch whose every response is a stream the test writes to; counts requests. */
function streamingFetch() {
  const writers: ((text: string) => void)[] = []
  const fetch = vi.fn(async () => {
    const body = new ReadableStream<Uint8Array>({
      start: (c) => void writers.push((text) => c.enqueue(new TextEncoder().encode(text))),
    })
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
  })
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls: () => fetch.mock.calls.length, write: (text: string) => writers.at(-1)!(text) }
}

/** One macrotask turn: every promise the fake fetch and stream chain has settled. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

/** Frames flush in a microtask: snapshots are current after an await, without a clock. */
const base: EventSourceOptions = { environment: quiet, scheduleFrame: (flush) => (queueMicrotask(flush), () => {}) }

describe('createEventSource: what the server says', () => {
  it('HTTP 204 closes with kind ended: not a failure, never retried; reconnect() starts again', async () => {
    vi.useFakeTimers()
    const fetch = vi.fn(async () => new Response(null, { status: 204 }))
    const source = createEventSource(url, { ...base, fetch: fetch as never })
    const statuses: string[] = []
    source.subscribe(() => statuses.push(source.getSnapshot().status))
    source.connect()
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    expect(statuses).toEqual(['connecting', 'closed'])
    expect(source.getSnapshot().error).toMatchObject({ kind: 'ended', status: 204 })
    expect(fetch).toHaveBeenCalledTimes(1)
    source.reconnect()
    await vi.advanceTimersByTimeAsync(0)
    expect(fetch).toHaveBeenCalledTimes(2)
    source.close()
  })

  it('an event past maxMessageSize is skipped: the next one arrives, the last event id moves past it, no reconnect', async () => {
    const server = streamingFetch()
    const source = createEventSource(url, { ...base, fetch: server.fetch, maxMessageSize: 100 })
    const messages: unknown[] = []
    const errors: RealtimeError[] = []
    source.onMessage((m) => messages.push(m.data))
    source.onError((e) => errors.push(e))
    source.connect()
    await settle()
    expect(source.getSnapshot().status).toBe('open')
    server.write(`id: 5\ndata: ${'x'.repeat(300)}\n\n`)
    await settle()
    expect(source.getSnapshot().lastEventId).toBe('5')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ kind: 'protocol', id: '5' })
    server.write('id: 6\ndata: next\n\n')
    await settle()
    expect(messages).toEqual(['next'])
    expect(source.getSnapshot()).toMatchObject({ status: 'open', lastEventId: '6', data: 'next' })
    expect(server.calls()).toBe(1)
    source.close()
  })
})
