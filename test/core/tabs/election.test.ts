// The election machine over a browser-like lock manager: grants reach the page in a later
// task (the test runs the tasks), a signal abort rejects a waiting request, a steal rejects
// the holder's request with an AbortError, and a sandboxed frame's manager refuses.
import { describe, expect, it } from 'vitest'
import { createElection, type Election } from '../../../src/core/tabs/election'
import { abortError, type FakeLocks, fakeLocks, settle } from './fakes'

const NAME = 'tabwire:v3:stream'

/** An election with its events recorded: 'lead', 'stolen', 'refused <name>'. */
function tab(locks: Pick<LockManager, 'request'>, name = NAME) {
  const events: string[] = []
  const releases: (() => void)[] = []
  const election: Election = createElection(locks, name, {
    _lead: (release) => void (events.push('lead'), releases.push(release)),
    _stolen: () => void events.push('stolen'),
    _refused: (error) => void events.push(`refused ${(error as Error)?.name}`),
  })
  return { election, events, releases, state: () => election._state() }
}

/** A tab that leads: joined, and its grant delivered. */
async function leading(locks: FakeLocks) {
  const a = tab(locks)
  a.election._join()
  await locks.tasks.run()
  expect(a.state()).toBe('leading')
  return a
}

const heldBy = async (locks: FakeLocks) => (await locks.query()).held!.map((l) => l.clientId)

describe('election', () => {
  it('join: queued until the grant arrives in a later task, then leading (lead called once)', async () => {
    const locks = fakeLocks()
    const a = tab(locks)
    a.election._join()
    expect(a.state()).toBe('queued')
    await settle()
    expect(a.events).toEqual([]) // granted, not yet delivered: nothing before the task
    await locks.tasks.run()
    expect(a.events).toEqual(['lead'])
    expect(a.state()).toBe('leading')
    expect(locks.log).toEqual([{ name: NAME, steal: false, signal: true }])
  })

  it('join is idempotent: queued or leading, no second request', async () => {
    const locks = fakeLocks()
    const a = tab(locks)
    a.election._join()
    a.election._join()
    await locks.tasks.run()
    a.election._join()
    await locks.tasks.run()
    expect(locks.log).toHaveLength(1)
    expect(a.events).toEqual(['lead'])
  })

  it('a second tab waits; when the leader leaves, it leads, and the lock is free once it leaves too', async () => {
    const locks = fakeLocks()
    const a = await leading(locks)
    const b = tab(locks)
    b.election._join()
    await locks.tasks.run()
    expect([a.state(), b.state()]).toEqual(['leading', 'queued'])
    a.election._leave()
    expect(a.state()).toBe('idle')
    await locks.tasks.run()
    expect(b.events).toEqual(['lead'])
    expect(a.events).toEqual(['lead'])
    b.election._leave('closed')
    await locks.tasks.run()
    expect(await locks.query()).toEqual({ held: [], pending: [] })
  })

  it('leave() while queued gives the request up: it leaves the queue, and the next in line is served', async () => {
    const locks = fakeLocks()
    const a = await leading(locks)
    const b = tab(locks)
    const c = tab(locks)
    b.election._join()
    c.election._join()
    b.election._leave()
    await locks.tasks.run()
    expect(locks.waiting(NAME)).toEqual([3])
    a.election._leave()
    await locks.tasks.run()
    expect([b.events, c.events]).toEqual([[], ['lead']])
  })

  it('close (leave("closed")) while a steal\'s grant is in flight: the late grant is released at once, lead is never called (item 8)', async () => {
    const locks = fakeLocks()
    const a = await leading(locks)
    const b = tab(locks)
    b.election._join()
    await locks.tasks.run()
    b.election._steal()
    expect(b.state()).toBe('stealing')
    b.election._leave('closed') // before the stolen lock's callback runs
    expect(b.state()).toBe('closed')
    await locks.tasks.run()
    expect(b.events).toEqual([])
    expect(b.state()).toBe('closed')
    // The robbed leader was told, lined up again, and got the lock back from the released grant.
    expect(a.events).toEqual(['lead', 'stolen', 'lead'])
    expect(a.state()).toBe('leading')
    expect(await heldBy(locks)).toEqual([`request-${locks.log.length}`])
    expect(locks.log.map((r) => [r.steal, r.signal])).toEqual([
      [false, true], // a joins
      [false, true], // b joins
      [true, false], // b steals
      [false, true], // a, robbed, lines up again
    ])
  })

  it('a grant that arrives after leave() is released at once, even where an abort after the grant is ignored', async () => {
    const locks = fakeLocks({ abortAfterGrant: 'ignored' })
    const a = await leading(locks)
    const b = tab(locks)
    b.election._join()
    await locks.tasks.run()
    a.election._leave() // the lock goes to b; its callback runs in a later task
    await settle()
    expect(locks.holder(NAME)).toBe(2)
    b.election._leave() // too late for the abort: the callback still runs
    await locks.tasks.run()
    expect(b.events).toEqual([])
    expect(await locks.query()).toEqual({ held: [], pending: [] })
  })

  it('leave() then join() at once: the first grant is released, the second request leads, once', async () => {
    const locks = fakeLocks({ abortAfterGrant: 'ignored' })
    const a = tab(locks)
    a.election._join()
    await settle() // granted, not delivered
    a.election._leave()
    a.election._join()
    await locks.tasks.run()
    expect(a.events).toEqual(['lead'])
    expect(a.state()).toBe('leading')
    expect(await heldBy(locks)).toEqual(['request-2'])
  })

  it('the release given to lead() lets the lock go; leave() while leading releases it too', async () => {
    const locks = fakeLocks()
    const a = await leading(locks)
    a.releases[0]!()
    await settle()
    expect(await heldBy(locks)).toEqual([])
    const b = await leading(locks)
    b.election._leave('closed')
    await settle()
    expect(await heldBy(locks)).toEqual([])
  })

  describe('steal', () => {
    it('from the queue: the waiting request is aborted, the lock taken with { steal: true }', async () => {
      const locks = fakeLocks()
      const a = await leading(locks)
      const b = tab(locks)
      b.election._join()
      await settle()
      b.election._steal()
      await locks.tasks.run()
      expect(b.events).toEqual(['lead'])
      expect(b.state()).toBe('leading')
      expect(a.state()).toBe('queued')
      // b's queued request is gone; only a waits (again).
      expect(locks.waiting(NAME)).toEqual([4])
      expect(locks.log.map((r) => r.steal)).toEqual([false, false, true, false])
    })

    it('the robbed leader is told (stolen), lines up again once, and leads when the thief leaves', async () => {
      const locks = fakeLocks()
      const a = await leading(locks)
      const b = tab(locks)
      b.election._steal()
      await locks.tasks.run()
      expect(a.events).toEqual(['lead', 'stolen'])
      expect(a.state()).toBe('queued')
      b.election._leave()
      await locks.tasks.run()
      expect(a.events).toEqual(['lead', 'stolen', 'lead'])
      expect(locks.log).toHaveLength(3)
    })

    it('steal() is ignored while stealing or leading', async () => {
      const locks = fakeLocks()
      const a = tab(locks)
      a.election._steal()
      a.election._steal()
      await locks.tasks.run()
      a.election._steal()
      await locks.tasks.run()
      expect(locks.log).toHaveLength(1)
      expect(a.events).toEqual(['lead'])
    })

    it('a grant robbed before it reached the page (another tab stole in between): the robbed tab never leads beside the thief', async () => {
      // The lock manager grants a (its callback is a task away), then b steals: a's request
      // rejects with an AbortError, and a's callback still runs afterwards.
      const locks = fakeLocks()
      const holder = await leading(locks)
      const a = tab(locks)
      a.election._join()
      await locks.tasks.run()
      holder.election._leave('closed')
      await settle()
      expect(locks.holder(NAME)).toBe(2) // granted to a, not delivered
      const b = tab(locks)
      b.election._steal()
      await locks.tasks.run()
      expect(b.events).toEqual(['lead'])
      expect(a.events).toEqual([]) // never two leaders
      expect(a.state()).toBe('queued')
      // a is still in line: when b leaves, a leads.
      b.election._leave()
      await locks.tasks.run()
      expect(a.events).toEqual(['lead'])
    })
  })

  describe('a lock manager that refuses (item 9)', () => {
    it('SecurityError: refused once, state refused, no further request', async () => {
      const locks = fakeLocks({ refuse: () => new DOMException('sandboxed', 'SecurityError') })
      const a = tab(locks)
      a.election._join()
      await locks.tasks.run()
      expect(a.events).toEqual(['refused SecurityError'])
      expect(a.state()).toBe('refused')
      a.election._join()
      a.election._steal()
      a.election._leave('closed')
      a.election._join()
      await locks.tasks.run()
      expect(a.state()).toBe('refused')
      expect(locks.log).toHaveLength(1)
      expect(a.events).toEqual(['refused SecurityError'])
    })

    it('a request() that throws synchronously is refused the same way', async () => {
      const error = new TypeError('not allowed')
      const a = tab({
        request: () => {
          throw error
        },
      })
      expect(() => a.election._join()).not.toThrow()
      await settle()
      expect(a.events).toEqual(['refused TypeError'])
      expect(a.state()).toBe('refused')
    })

    it('a steal that is refused is refused too', async () => {
      let n = 0
      const inner = fakeLocks()
      const a = tab({ request: (...args: unknown[]) => (++n === 2 ? Promise.reject(new DOMException('no', 'SecurityError')) : (inner.request as (...a: unknown[]) => Promise<unknown>)(...args)) } as Pick<LockManager, 'request'>)
      const holder = await leading(inner)
      a.election._join()
      a.election._steal()
      await inner.tasks.run()
      expect(a.events).toEqual(['refused SecurityError'])
      expect(holder.events).toEqual(['lead'])
    })

    it('no request loop: a manager that rejects every request with an AbortError gets one request', async () => {
      let requests = 0
      const a = tab({ request: () => (requests++, Promise.reject(abortError())) } as unknown as Pick<LockManager, 'request'>)
      a.election._join()
      for (let i = 0; i < 20; i++) await settle()
      expect(requests).toBe(1)
      expect(a.events).toEqual([])
    })
  })

  it('a request given up that rejects late (with any error) changes nothing', async () => {
    const rejects: ((error: unknown) => void)[] = []
    const manual = { request: () => new Promise((_, reject) => void rejects.push(reject)) } as unknown as Pick<LockManager, 'request'>
    const a = tab(manual)
    a.election._join()
    a.election._leave()
    a.election._join()
    rejects[0]!(new DOMException('gone', 'InvalidStateError'))
    await settle()
    expect(a.state()).toBe('queued')
    expect(a.events).toEqual([])
    expect(rejects).toHaveLength(2)
  })

  it('no request loop over a long run: every request has a cause', async () => {
    const locks = fakeLocks()
    const a = tab(locks)
    const b = tab(locks)
    a.election._join() // 1
    b.election._join() // 2
    await locks.tasks.run()
    for (let i = 0; i < 5; i++) {
      // the follower steals (1 request), the robbed leader lines up again (1 request)
      const [thief] = [a, b].filter((t) => t.state() === 'queued')
      thief!.election._steal()
      await locks.tasks.run()
    }
    for (let i = 0; i < 50; i++) await settle()
    expect(locks.log).toHaveLength(2 + 5 * 2)
    expect([a, b].filter((t) => t.state() === 'leading')).toHaveLength(1)
    expect(a.events.filter((e) => e === 'lead').length + b.events.filter((e) => e === 'lead').length).toBe(6)
  })
})
