/**
 * The browser-like lock manager the hook tests run on (browser-like-locks.ts), tested on
 * its own: grants arrive in a later task, and Node's semantics are otherwise kept. Orders
 * are compared with `node:timers` timeouts of 0 ms, which Node runs in the order they were
 * set: a precise order, not a race.
 */
import { setTimeout as nodeSetTimeout } from 'node:timers'
import { locks as nodeLocks } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { browserLikeLocks } from './browser-like-locks'

let counter = 0
const uniqueName = (label: string) => `${label}-${++counter}`

/** Resolves in a later macrotask, after every 0 ms timeout set before it. */
const nextTask = () => new Promise<void>((resolve) => nodeSetTimeout(resolve, 0))

/** Runs every microtask queued so far (and the ones they queue, many levels deep). */
async function drainMicrotasks() {
  for (let i = 0; i < 50; i++) await Promise.resolve()
}

/** The names of the locks `locks` lists as held, and as pending. */
const heldNames = async (locks: LockManager) => ((await locks.query()).held ?? []).map((l) => l.name)
const pendingNames = async (locks: LockManager) => ((await locks.query()).pending ?? []).map((l) => l.name)

/** A callback that holds its lock until `release()`; `running` resolves when it is called. */
function holder() {
  let release!: () => void
  let called!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  const running = new Promise<void>((resolve) => (called = resolve))
  const granted: (Lock | null)[] = []
  return { release, granted, running, callback: (lock: Lock | null) => (granted.push(lock), called(), released) }
}

describe('Node’s own lock manager (why the wrapper exists)', () => {
  it('runs the callback of a free lock synchronously inside request()', async () => {
    const order: string[] = []
    const done = nodeLocks.request(uniqueName('node-sync'), () => void order.push('granted'))
    order.push('request returned')
    await done
    expect(order).toEqual(['granted', 'request returned'])
  })
})

describe('browserLikeLocks: grants arrive in a later task', () => {
  it('a free lock: the callback runs after request() returned, after every microtask, after a 0 ms timeout set before the request and before one set after it', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const order: string[] = []
    nodeSetTimeout(() => order.push('timeout set before'), 0)
    const done = locks.request(uniqueName('free'), () => {
      order.push('granted')
      return 'result'
    })
    order.push('request returned')
    nodeSetTimeout(() => order.push('timeout set after'), 0)
    await drainMicrotasks()
    order.push('microtasks drained')
    await expect(done).resolves.toBe('result')
    await nextTask()
    expect(order).toEqual(['request returned', 'microtasks drained', 'timeout set before', 'granted', 'timeout set after'])
  })

  it('the lock is held from the grant on: while the callback waits for its task, the lock shows as held and another request waits', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const name = uniqueName('held-early')
    const first = holder()
    void locks.request(name, first.callback)
    const second = holder()
    const secondDone = locks.request(name, second.callback)
    expect(first.granted).toEqual([])
    expect(await heldNames(locks)).toEqual([name])
    expect(await pendingNames(locks)).toEqual([name])
    await nextTask()
    expect(first.granted).toHaveLength(1)
    expect(second.granted).toEqual([])
    first.release()
    second.release()
    await secondDone
    expect(second.granted).toHaveLength(1)
  })

  it('a waiting request gets the lock after the holder lets go, in a later task than the release', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const name = uniqueName('queued')
    const first = holder()
    const firstDone = locks.request(name, first.callback)
    await nextTask()
    const order: string[] = []
    const secondDone = locks.request(name, () => void order.push('second granted'))
    await nextTask()
    expect(order).toEqual([])

    first.release()
    await firstDone
    await drainMicrotasks()
    order.push('release settled, microtasks drained')
    await secondDone
    expect(order).toEqual(['release settled, microtasks drained', 'second granted'])
  })

  it('hands the callback a lock with the name as requested and the mode', async () => {
    const locks = browserLikeLocks(nodeLocks, { scope: 'some-scope' })
    const name = uniqueName('lock-object')
    const lock = await locks.request(name, { mode: 'shared' }, (l) => l)
    expect(lock).toEqual({ name, mode: 'shared' })
  })

  it('a callback that throws rejects the request and frees the lock', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const name = uniqueName('throws')
    await expect(
      locks.request(name, () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    await expect(locks.request(name, { ifAvailable: true }, (l) => l !== null)).resolves.toBe(true)
  })
})

describe('browserLikeLocks: Node’s semantics otherwise', () => {
  it('ifAvailable on a held lock: the callback gets null, in a later task', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const name = uniqueName('if-available')
    const first = holder()
    void locks.request(name, first.callback)
    const order: string[] = []
    const done = locks.request(name, { ifAvailable: true }, (lock) => void order.push(`got ${lock === null ? 'null' : 'a lock'}`))
    order.push('request returned')
    await done
    expect(order).toEqual(['request returned', 'got null'])
    first.release()
  })

  it('steal: the robbed request rejects with an AbortError; the thief’s callback runs in a later task', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const name = uniqueName('steal')
    const victim = holder()
    const victimDone = locks.request(name, victim.callback)
    await nextTask()
    expect(victim.granted).toHaveLength(1)

    const thief = holder()
    const thiefDone = locks.request(name, { steal: true }, thief.callback)
    expect(thief.granted).toEqual([])
    await expect(victimDone).rejects.toMatchObject({ name: 'AbortError' })
    await nextTask()
    expect(thief.granted).toEqual([{ name, mode: 'exclusive' }])
    expect(await heldNames(locks)).toEqual([name])
    thief.release()
    victim.release()
    await thiefDone
  })

  it('signal: a waiting request that is aborted rejects with the reason and its callback never runs', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const name = uniqueName('abort-waiting')
    const first = holder()
    void locks.request(name, first.callback)
    const controller = new AbortController()
    const calls: unknown[] = []
    const done = locks.request(name, { signal: controller.signal }, (lock) => void calls.push(lock))
    controller.abort()
    await expect(done).rejects.toMatchObject({ name: 'AbortError' })
    first.release()
    await nextTask()
    await nextTask()
    expect(calls).toEqual([])
    expect(await locks.query()).toEqual({ held: [], pending: [] })
  })

  it('signal: an already aborted signal rejects at once, without queueing', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const calls: unknown[] = []
    const done = locks.request(uniqueName('abort-before'), { signal: AbortSignal.abort() }, (lock) => void calls.push(lock))
    await expect(done).rejects.toMatchObject({ name: 'AbortError' })
    expect(calls).toEqual([])
  })

  it('signal: aborted after the grant but before the callback’s task, the request rejects, the callback never runs and the lock goes back', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const name = uniqueName('abort-in-flight')
    const controller = new AbortController()
    const calls: unknown[] = []
    const done = locks.request(name, { signal: controller.signal }, (lock) => void calls.push(lock))
    await drainMicrotasks()
    // Node has granted it by now (a request with a signal is granted in a microtask).
    expect(await heldNames(locks)).toEqual([name])
    controller.abort()
    await expect(done).rejects.toMatchObject({ name: 'AbortError' })
    expect(calls).toEqual([])
    expect(await locks.query()).toEqual({ held: [], pending: [] })
  })

  it('signal: aborted once the callback runs, nothing changes: the lock is held until the callback settles', async () => {
    const locks = browserLikeLocks(nodeLocks)
    const name = uniqueName('abort-after-callback')
    const controller = new AbortController()
    const lockHolder = holder()
    const done = locks.request(name, { signal: controller.signal }, lockHolder.callback)
    await lockHolder.running
    controller.abort()
    await nextTask()
    expect(await heldNames(locks)).toEqual([name])
    lockHolder.release()
    await expect(done).resolves.toBeUndefined()
  })

  it('refuses what Node refuses (steal with ifAvailable)', async () => {
    const locks = browserLikeLocks(nodeLocks)
    await expect(locks.request(uniqueName('bad'), { steal: true, ifAvailable: true }, () => {})).rejects.toThrow()
  })

  it('query() lists held and pending locks of its scope only, by the names requested', async () => {
    const a = browserLikeLocks(nodeLocks, { scope: uniqueName('scope') })
    const b = browserLikeLocks(nodeLocks, { scope: uniqueName('scope') })
    const name = uniqueName('same-name')
    const first = holder()
    void a.request(name, first.callback)
    const second = holder()
    void a.request(name, second.callback)
    const other = holder()
    void b.request(name, other.callback)
    await nextTask()
    // The same name in another scope is another lock: granted while `a`'s is held.
    expect(other.granted).toHaveLength(1)
    expect((await a.query()).held?.map(({ name: n, mode }) => ({ name: n, mode }))).toEqual([{ name, mode: 'exclusive' }])
    expect(await pendingNames(a)).toEqual([name])
    expect(await heldNames(b)).toEqual([name])
    for (const h of [first, second, other]) h.release()
  })
})

describe('the jsdom environment of the hook tests (test/setup/browser-tabs.ts)', () => {
  it('has a navigator.locks that grants in a later task', async () => {
    expect(typeof navigator.locks?.request).toBe('function')
    const order: string[] = []
    const done = navigator.locks.request(uniqueName('installed'), () => void order.push('granted'))
    order.push('request returned')
    await done
    expect(order).toEqual(['request returned', 'granted'])
  })

  it('has a BroadcastChannel: another instance of the name gets e.data; the sender and other names do not', async () => {
    const name = uniqueName('channel')
    const [a, b, other] = [new BroadcastChannel(name), new BroadcastChannel(name), new BroadcastChannel(uniqueName('channel'))]
    try {
      expect(b.name).toBe(name)
      const got: Record<string, unknown[]> = { a: [], b: [], other: [] }
      a.onmessage = (e) => void got.a!.push(e.data)
      other.onmessage = (e) => void got.other!.push(e.data)
      const received = new Promise<void>((resolve) => {
        b.onmessage = (e) => {
          got.b!.push(e.data)
          resolve()
        }
      })
      a.postMessage({ hello: [1, 2] })
      await received
      await nextTask()
      expect(got).toEqual({ a: [], b: [{ hello: [1, 2] }], other: [] })
    } finally {
      for (const c of [a, b, other]) c.close()
    }
  })
})
