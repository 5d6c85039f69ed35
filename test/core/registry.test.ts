import { afterEach, describe, expect, it, vi } from 'vitest'
import { createRegistry, defaultRegistry } from '../../src/core/registry'
import { manualTimers } from './fakes'

/** A closable value that records its own closes. */
function resource(name: string) {
  const value = { name, closes: 0, close: () => void value.closes++ }
  return value
}

function setup(linger?: number) {
  const timers = manualTimers()
  const registry = createRegistry(linger === undefined ? { timers } : { timers, linger })
  const created: string[] = []
  const make = (name: string) => () => {
    created.push(name)
    return resource(name)
  }
  return { timers, registry, created, make }
}

describe('createRegistry', () => {
  it('creates one value per key and shares it between holders', () => {
    const { registry, created, make } = setup()
    const a = registry.acquire('k', make('first'))
    const b = registry.acquire('k', make('second'))
    const c = registry.acquire('k', make('third'))
    expect(created).toEqual(['first'])
    expect(b.value).toBe(a.value)
    expect(c.value).toBe(a.value)
  })

  it('keeps different keys separate', () => {
    const { registry, created, make, timers } = setup(100)
    const a = registry.acquire('a', make('A'))
    const b = registry.acquire('b', make('B'))
    expect(created).toEqual(['A', 'B'])
    expect(a.value).not.toBe(b.value)
    a.release()
    timers.advance(100)
    expect([a.value.closes, b.value.closes]).toEqual([1, 0])
    expect(registry.peek('a')).toBeUndefined()
    expect(registry.peek('b')).toBe(b.value)
  })

  it('closes only when the last holder left and the linger passed', () => {
    const { registry, make, timers } = setup(1000)
    const a = registry.acquire('k', make('v'))
    const b = registry.acquire('k', make('unused'))
    a.release()
    timers.advance(60_000) // one holder left: never closes
    expect(a.value.closes).toBe(0)
    expect(timers.count).toBe(0)
    b.release()
    timers.advance(999)
    expect(a.value.closes).toBe(0)
    expect(registry.peek('k')).toBe(a.value) // still there while lingering
    timers.advance(1)
    expect(a.value.closes).toBe(1)
    expect(registry.peek('k')).toBeUndefined()
    timers.advance(60_000)
    expect(a.value.closes).toBe(1)
    expect(timers.count).toBe(0)
  })

  it('lingers 1000 ms by default', () => {
    const { registry, make, timers } = setup()
    const lease = registry.acquire('k', make('v'))
    lease.release()
    timers.advance(999)
    expect(lease.value.closes).toBe(0)
    timers.advance(1)
    expect(lease.value.closes).toBe(1)
  })

  it('has an idempotent release: a double release cannot steal another holder', () => {
    const { registry, make, timers } = setup(100)
    const a = registry.acquire('k', make('v'))
    const b = registry.acquire('k', make('unused'))
    a.release()
    a.release()
    a.release()
    timers.advance(10_000)
    expect(a.value.closes).toBe(0)
    expect(registry.peek('k')).toBe(a.value)
    b.release()
    b.release()
    timers.advance(100)
    expect(a.value.closes).toBe(1)
    expect(timers.count).toBe(0)
  })

  it('cancels the close when the key is acquired again during the linger, and reuses the value', () => {
    const { registry, created, make, timers } = setup(1000)
    const first = registry.acquire('k', make('v1'))
    first.release()
    timers.advance(900)
    const second = registry.acquire('k', make('v2')) // StrictMode remount / route change
    expect(created).toEqual(['v1'])
    expect(second.value).toBe(first.value)
    expect(timers.count).toBe(0)
    timers.advance(10_000)
    expect(first.value.closes).toBe(0)
    // the next linger is a full one, counted from the new release
    second.release()
    timers.advance(999)
    expect(first.value.closes).toBe(0)
    timers.advance(1)
    expect(first.value.closes).toBe(1)
  })

  it('creates a fresh value for a key acquired after its value was closed', () => {
    const { registry, created, make, timers } = setup(50)
    const old = registry.acquire('k', make('v1'))
    old.release()
    timers.advance(50)
    const fresh = registry.acquire('k', make('v2'))
    expect(created).toEqual(['v1', 'v2'])
    expect(fresh.value).not.toBe(old.value)
    expect(registry.peek('k')).toBe(fresh.value)
    old.release() // a stale lease is inert
    timers.advance(1000)
    expect(fresh.value.closes).toBe(0)
    expect(old.value.closes).toBe(1)
  })

  it('closes after the next tick with linger 0', () => {
    const { registry, make, timers } = setup(0)
    const lease = registry.acquire('k', make('v'))
    lease.release()
    expect(lease.value.closes).toBe(0)
    timers.advance(0)
    expect(lease.value.closes).toBe(1)
  })

  it('peek returns the value without taking a hold', () => {
    const { registry, make, timers } = setup(10)
    expect(registry.peek('k')).toBeUndefined()
    expect(registry.peek(null)).toBeUndefined()
    const lease = registry.acquire('k', make('v'))
    expect(registry.peek('k')).toBe(lease.value)
    expect(registry.peek('other')).toBeUndefined()
    lease.release()
    registry.peek('k')
    timers.advance(10)
    expect(lease.value.closes).toBe(1)
  })

  it('does not store a value whose create() threw', () => {
    const { registry, make } = setup()
    expect(() =>
      registry.acquire('k', () => {
        throw new Error('boom')
      }),
    ).toThrow('boom')
    expect(registry.peek('k')).toBeUndefined()
    const lease = registry.acquire('k', make('v'))
    expect(lease.value.name).toBe('v')
  })
})

describe('createRegistry with the global timers', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('uses the global timers, looked up when needed (fake timers installed later apply)', () => {
    const registry = createRegistry({ linger: 500 })
    vi.useFakeTimers()
    const lease = registry.acquire('k', () => resource('v'))
    lease.release()
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(499)
    expect(lease.value.closes).toBe(0)
    registry.acquire('k', () => resource('unused')).release()
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(500)
    expect(lease.value.closes).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('defaultRegistry', () => {
  it('is created once and shared', () => {
    expect(defaultRegistry()).toBe(defaultRegistry())
  })
})
