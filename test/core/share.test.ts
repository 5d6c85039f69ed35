// core/share: the hooks' `share` option, as registry slots and started connections.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { hashKey } from '../../src/core/key'
import { PROTOCOL } from '../../src/core/tabs/frames'
import { shareSlot, startShared } from '../../src/core/share'
import { IDLE } from '../../src/core/store'

const fakeConnection = () => ({
  connect: vi.fn(),
  close: vi.fn(),
  reconnect: vi.fn(),
  report: vi.fn(),
  subscribe: () => () => {},
  onMessage: () => () => {},
  onError: () => () => {},
  onWire: () => () => {},
  getSnapshot: () => IDLE,
})

afterEach(() => vi.unstubAllGlobals())

describe('shareSlot', () => {
  it("one slot per stream for 'tabs' (the default) and 'tab', apart from each other", () => {
    expect(shareSlot('k', undefined, 'a')).toBe(shareSlot('k', 'tabs', 'b'))
    expect(shareSlot('k', 'tab', 'a')).toBe(shareSlot('k', 'tab', 'b'))
    expect(shareSlot('k', 'tab', 'a')).not.toBe(shareSlot('k', 'tabs', 'a'))
    expect(shareSlot('k', 'tabs', 'a')).not.toBe(shareSlot('k2', 'tabs', 'a'))
  })

  it('false: a slot per user; options: a slot per set of options, whatever their order', () => {
    expect(shareSlot('k', false, 'a')).not.toBe(shareSlot('k', false, 'b'))
    expect(shareSlot('k', { namespace: 'n', heartbeat: 5 }, 'a')).toBe(shareSlot('k', { heartbeat: 5, namespace: 'n' }, 'b'))
    expect(shareSlot('k', { namespace: 'n' }, 'a')).not.toBe(shareSlot('k', { namespace: 'm' }, 'a'))
    expect(shareSlot('k', { namespace: 'n' }, 'a')).not.toBe(shareSlot('k', 'tabs', 'a'))
  })

  it.each([true, 'tabz', null, 0, 1])('share: %j is misuse', (share) => {
    expect(() => shareSlot('k', share as never, 'a')).toThrow(new TypeError("[tabwire] share: must be 'tabs', 'tab', false or options"))
  })
})

describe('startShared', () => {
  it("'tab' and false: the connection itself, started, made with no resume, not shared", () => {
    for (const share of ['tab', false] as const) {
      const connection = fakeConnection()
      const create = vi.fn(() => connection)
      expect(startShared('k', share, create)).toBe(connection)
      expect(create.mock.calls).toEqual([[undefined, false]])
      expect(connection.connect).toHaveBeenCalledTimes(1)
    }
  })

  it("'tabs' where Web Locks are missing: one connection per tab, never a broken shared mode", () => {
    vi.stubGlobal('navigator', {})
    const connection = fakeConnection()
    const create = vi.fn(() => connection)
    expect(startShared('k', 'tabs', create)).toBe(connection)
    expect(create.mock.calls).toEqual([[undefined, false]])
    expect(connection.connect).toHaveBeenCalledTimes(1)
  })

  it("'tabs' (and options) with Web Locks: a shared connection, led under the namespace's lock", async () => {
    const namespace = `share-test-${process.pid}-${Date.now()}`
    const connection = fakeConnection()
    const create = vi.fn(() => connection)
    const shared = startShared('k', { namespace }, create)
    try {
      expect(shared).not.toBe(connection)
      await expect.poll(() => connection.connect.mock.calls.length).toBe(1)
      expect(create.mock.calls).toEqual([[undefined, true]])
      const { held = [] } = await navigator.locks.query()
      expect(held.map((l) => l.name)).toContain(`${namespace}:v${PROTOCOL}:${hashKey('k')}`)
    } finally {
      shared.close()
    }
    expect(connection.close).toHaveBeenCalledTimes(1)
  })
})

describe('hashKey', () => {
  it('is stable, short, and does not reveal the key', () => {
    const key = 'sse{"headers":{"authorization":"Bearer abc"},"url":"/s?token=xyz"}'
    expect(hashKey(key)).toBe(hashKey(key))
    expect(hashKey(key)).toMatch(/^[0-9a-z]{2,9}$/)
    expect(hashKey(key)).not.toContain('xyz')
  })

  it('tells 10,000 similar keys apart', () => {
    const hashes = new Set(Array.from({ length: 10_000 }, (_, i) => hashKey(`sse{"url":"/stream/${i}"}`)))
    expect(hashes.size).toBe(10_000)
  })
})
