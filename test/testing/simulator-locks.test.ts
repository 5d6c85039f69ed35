/**
 * The simulator's in-memory Web Locks manager against the Web Locks spec
 * (https://w3c.github.io/web-locks/) and what Chromium does: grants reach the page in a
 * later task, held from the grant on; exclusive and shared modes; ifAvailable, steal,
 * signal; query with each tab's clientId; a closed or crashed tab's locks go, a frozen
 * tab's grant waits until it resumes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createTabs, type SimulatedTabs } from '../../src/testing/simulator'

let tabs: SimulatedTabs
afterEach(() => tabs?.closeAll())

/** A lock request whose callback holds the lock until `release()`; `calls` says whether it ran and with what. */
function hold(tab: SimulatedTabs[number], name: string, options: LockOptions = {}) {
  const calls: (string | null)[] = []
  let release!: (value?: unknown) => void
  const released = new Promise((resolve) => (release = resolve))
  const outcome: { value?: unknown; error?: unknown; settled: boolean } = { settled: false }
  const done = tab.locks
    .request(name, options, (lock) => (calls.push(lock && lock.mode), released))
    .then(
      (value) => Object.assign(outcome, { value, settled: true }),
      (error: unknown) => Object.assign(outcome, { error, settled: true }),
    )
  return { calls, release, outcome, done }
}

const names = async (tab: SimulatedTabs[number]) => {
  const { held = [], pending = [] } = await tab.locks.query()
  return { held: held.map((l) => `${l.name} ${l.mode} ${l.clientId}`), pending: pending.map((l) => `${l.name} ${l.mode} ${l.clientId}`) }
}

describe('grants', () => {
  it('a grant reaches the page in a later task, and the lock is held from the grant on', async () => {
    tabs = createTabs(2)
    const a = hold(tabs[0]!, 'L')
    await Promise.resolve()
    await Promise.resolve()
    expect(a.calls).toEqual([])
    expect(await names(tabs[1]!)).toEqual({ held: ['L exclusive tab-1'], pending: [] })
    await tabs.settle()
    expect(a.calls).toEqual(['exclusive'])
  })

  it('exclusive requests are granted in order; the callback’s result settles the request and releases the lock', async () => {
    tabs = createTabs(3)
    const [a, b, c] = tabs.map((tab) => hold(tab, 'L'))
    await tabs.settle()
    expect([a, b, c].map((r) => r!.calls.length)).toEqual([1, 0, 0])
    expect(await names(tabs[0]!)).toEqual({ held: ['L exclusive tab-1'], pending: ['L exclusive tab-2', 'L exclusive tab-3'] })
    a!.release('done by a')
    await a!.done
    expect(a!.outcome).toEqual({ value: 'done by a', settled: true })
    await tabs.settle()
    expect([a, b, c].map((r) => r!.calls.length)).toEqual([1, 1, 0])
    b!.release()
    await tabs.settle()
    expect(c!.calls).toEqual(['exclusive'])
  })

  it('a throwing callback rejects the request and releases the lock', async () => {
    tabs = createTabs(2)
    const thrown = tabs[0]!.locks.request('L', () => {
      throw new Error('boom')
    })
    const b = hold(tabs[1]!, 'L')
    await expect(thrown).rejects.toThrow('boom')
    await tabs.settle()
    expect(b.calls).toEqual(['exclusive'])
  })

  it('shared locks are held together; an exclusive request waits for them, and a shared one behind it waits too', async () => {
    tabs = createTabs(4)
    const s1 = hold(tabs[0]!, 'L', { mode: 'shared' })
    const s2 = hold(tabs[1]!, 'L', { mode: 'shared' })
    const x = hold(tabs[2]!, 'L')
    const s3 = hold(tabs[3]!, 'L', { mode: 'shared' })
    await tabs.settle()
    expect([s1, s2, x, s3].map((r) => r.calls)).toEqual([['shared'], ['shared'], [], []])
    s1.release()
    s2.release()
    await tabs.settle()
    expect([x, s3].map((r) => r.calls)).toEqual([['exclusive'], []])
    x.release()
    await tabs.settle()
    expect(s3.calls).toEqual(['shared'])
  })
})

describe('options', () => {
  it('ifAvailable: the callback gets null (in a later task) when the lock is not free, the lock when it is', async () => {
    tabs = createTabs(2)
    const a = hold(tabs[0]!, 'L')
    const b = hold(tabs[1]!, 'L', { ifAvailable: true })
    await Promise.resolve()
    expect(b.calls).toEqual([])
    await tabs.settle()
    expect(b.calls).toEqual([null])
    b.release('without')
    await b.done
    expect(b.outcome.value).toBe('without')
    expect(await names(tabs[0]!)).toEqual({ held: ['L exclusive tab-1'], pending: [] })
    a.release()
    await tabs.settle()
    const c = hold(tabs[1]!, 'L', { ifAvailable: true })
    await tabs.settle()
    expect(c.calls).toEqual(['exclusive'])
  })

  it('steal: the stealer holds at once, the robbed request rejects with an AbortError, waiting requests keep their place', async () => {
    tabs = createTabs(3)
    const a = hold(tabs[0]!, 'L')
    const b = hold(tabs[1]!, 'L')
    await tabs.settle()
    const thief = hold(tabs[2]!, 'L', { steal: true })
    expect(await names(tabs[0]!)).toEqual({ held: ['L exclusive tab-3'], pending: ['L exclusive tab-2'] })
    await a.done
    expect((a.outcome.error as DOMException).name).toBe('AbortError')
    await tabs.settle()
    expect(thief.calls).toEqual(['exclusive'])
    // The robbed callback's end releases nothing: the thief still holds.
    a.release()
    await tabs.settle()
    expect(b.calls).toEqual([])
    thief.release()
    await tabs.settle()
    expect(b.calls).toEqual(['exclusive'])
  })

  it('a lock stolen between its grant and its callback: the callback still runs, then the request rejects', async () => {
    tabs = createTabs(2)
    const a = hold(tabs[0]!, 'L')
    hold(tabs[1]!, 'L', { steal: true })
    await tabs.settle()
    expect(a.calls).toEqual(['exclusive'])
    expect((a.outcome.error as DOMException).name).toBe('AbortError')
  })

  it('signal: aborting a waiting request rejects it with the reason and takes it out of the queue', async () => {
    tabs = createTabs(2)
    const a = hold(tabs[0]!, 'L')
    const controller = new AbortController()
    const b = hold(tabs[1]!, 'L', { signal: controller.signal })
    await tabs.settle()
    controller.abort(new Error('gave up'))
    await b.done
    expect(b.outcome.error).toEqual(new Error('gave up'))
    expect(await names(tabs[0]!)).toEqual({ held: ['L exclusive tab-1'], pending: [] })
    a.release()
    await tabs.settle()
    expect(b.calls).toEqual([])
  })

  it('signal aborted after the grant but before the callback ran: rejects, the callback never runs, the lock goes on (as Chromium)', async () => {
    tabs = createTabs(2)
    const controller = new AbortController()
    const a = hold(tabs[0]!, 'L', { signal: controller.signal })
    const b = hold(tabs[1]!, 'L')
    controller.abort()
    await tabs.settle()
    expect(a.calls).toEqual([])
    expect((a.outcome.error as DOMException).name).toBe('AbortError')
    expect(b.calls).toEqual(['exclusive'])
  })

  it('refuses what the spec refuses', async () => {
    tabs = createTabs(1)
    const { locks } = tabs[0]!
    const error = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as Error).name
    expect(await error(locks.request('-reserved', () => {}))).toBe('NotSupportedError')
    expect(await error(locks.request('L', { steal: true, ifAvailable: true }, () => {}))).toBe('NotSupportedError')
    expect(await error(locks.request('L', { steal: true, mode: 'shared' }, () => {}))).toBe('NotSupportedError')
    expect(await error(locks.request('L', { steal: true, signal: new AbortController().signal }, () => {}))).toBe('NotSupportedError')
    expect(await error(locks.request('L', { signal: AbortSignal.abort() }, () => {}))).toBe('AbortError')
    expect(await error((locks.request as (name: string) => Promise<unknown>)('L'))).toBe('TypeError')
  })
})

describe('tabs that go', () => {
  it.each(['close', 'crash'] as const)('%s: the tab’s held locks go to the next in line, its waiting requests are dropped, and it never hears again', async (how) => {
    tabs = createTabs(3)
    const a = hold(tabs[0]!, 'L')
    const b = hold(tabs[1]!, 'L')
    hold(tabs[1]!, 'M')
    const c = hold(tabs[2]!, 'M')
    await tabs.settle()
    tabs[1]![how]()
    a.release()
    await tabs.settle()
    expect(await names(tabs[2]!)).toEqual({ held: ['M exclusive tab-3'], pending: [] })
    expect(c.calls).toEqual(['exclusive'])
    expect(b.calls).toEqual([])
    expect(b.outcome.settled).toBe(false)
    const late = hold(tabs[1]!, 'N')
    await tabs.settle()
    expect([late.calls, late.outcome.settled]).toEqual([[], false])
  })

  it('a frozen tab keeps its lock; a grant for it waits until it resumes (held meanwhile)', async () => {
    tabs = createTabs(2)
    const a = hold(tabs[0]!, 'L')
    await tabs.settle()
    tabs[1]!.freeze()
    const b = hold(tabs[1]!, 'L')
    a.release()
    await tabs.settle()
    expect(b.calls).toEqual([])
    expect(await names(tabs[0]!)).toEqual({ held: ['L exclusive tab-2'], pending: [] })
    tabs[1]!.resume()
    await tabs.settle()
    expect(b.calls).toEqual(['exclusive'])
  })
})
