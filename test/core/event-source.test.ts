import { describe, expect, it, vi } from 'vitest'
import { createEventSource, eventSourceKey } from '../../src/core/event-source'

describe('eventSourceKey', () => {
  it('ignores object identity, key order and functions', () => {
    const a = eventSourceKey('/s', { json: true, headers: { a: '1', b: '2' }, onAuthError: () => true, events: ['b', 'a'] })
    const b = eventSourceKey('/s', { events: ['a', 'b'], headers: { b: '2', a: '1' }, json: true, parse: (x) => x })
    expect(a).toBe(b)
  })

  it('changes with what affects the wire or the data', () => {
    const base = eventSourceKey('/s')
    expect(eventSourceKey('/s', { events: ['message'] })).toBe(base)
    const different = [
      eventSourceKey('/t'),
      eventSourceKey('/s', { events: ['quote'] }),
      eventSourceKey('/s', { method: 'POST' }),
      eventSourceKey('/s', { body: 'x' }),
      eventSourceKey('/s', { headers: { authorization: 'a' } }),
      eventSourceKey('/s', { json: true }),
      eventSourceKey('/s', { transport: 'eventsource' }),
      eventSourceKey('/s', { key: 'other' }),
    ]
    expect(new Set([base, ...different]).size).toBe(different.length + 1)
  })

  it('leaves out lastEventId, which only seeds the first connection (saving it in state must not reconnect)', () => {
    expect(eventSourceKey('/s', { lastEventId: '41' })).toBe(eventSourceKey('/s', { lastEventId: '42' }))
  })

  it('leaves out a schema, which may be large or cyclic', () => {
    const schema = { '~standard': { version: 1 as const, vendor: 'x', validate: (v: unknown) => ({ value: v }) } }
    const cyclic: Record<string, unknown> = { ...schema }
    cyclic.self = cyclic
    expect(eventSourceKey('/s', { schema: cyclic as never })).toBe(eventSourceKey('/s'))
  })
})

describe('createEventSource misuse', () => {
  it('throws at once, naming the API and the fix', () => {
    expect(() => createEventSource('')).toThrow(/\[tabwire\] createEventSource: expected a url/)
    expect(() => createEventSource('/s', { events: ['ok', ''] })).toThrow(/events/)
    expect(() => createEventSource('/s', { events: 'quote' as never })).toThrow(/events/)
    expect(() => createEventSource('/s', { transport: 'eventsource', headers: { a: 'b' } })).toThrow(/use 'fetch'/)
    expect(() =>
      createEventSource('/s', { transport: 'eventsource', method: 'POST', EventSource: class {} as never }),
    ).toThrow(/use 'fetch'/)
    // Node has no EventSource: the native transport must say so instead of failing later.
    expect(() => createEventSource('/s', { transport: 'eventsource' })).toThrow(/needs EventSource/)
    expect(() => createEventSource('/s', { schema: {} as never })).toThrow(/Standard Schema/)
  })

  it('creates nothing and touches no network until connect()', () => {
    let fetched = 0
    const source = createEventSource('/s', {
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
      const native = createEventSource('/s', { transport: 'eventsource', EventSource: FakeSource as never, environment: quiet })
      native.connect()
      made[0]!.onopen!()
      vi.advanceTimersByTime(10 * 60_000)
      expect(native.getSnapshot()).toMatchObject({ status: 'open', error: null })
      expect(made).toHaveLength(1)
      native.close()
      // ...while it stays on for fetch, where every byte counts.
      const fetched = createEventSource('/s', {
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
