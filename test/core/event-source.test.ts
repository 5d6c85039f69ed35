import { describe, expect, it } from 'vitest'
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
