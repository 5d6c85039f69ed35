/**
 * One refetch per browser: two QueryClients in one jsdom are two tabs. They meet only
 * through the lock manager (grants in a later task, as a browser's) and BroadcastChannel of
 * test/setup/browser-tabs.ts, as real tabs do. Queries are active (a QueryObserver each) and
 * fetch an MSW endpoint that counts requests.
 */
import { hashKey, QueryClient, QueryClientProvider, QueryObserver, useQuery } from '@tanstack/react-query'
import { render, waitFor } from '@testing-library/react'
import { createElement, type ReactNode } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import type { RealtimeMessage } from '../../src/core/connection-types'
import type { Timers } from '../../src/core/runtime'
import type { TabChannel } from '../../src/core/tabs/types'
import { useRealtime } from '../../src/react/use-realtime'
import { createQueryBridge, type QueryBridgeOptions, useQueryBridge } from '../../src/query/index'
import { realtimeServer, testClient } from '../react/realtime-server'
import { QUERY_TABS_PROTOCOL } from '../../src/query/tabs'
import { endpoint, manualFrames, setupQueryHarness } from './harness'

setupQueryHarness()

const message = (id: string): RealtimeMessage<null> => ({ data: null, event: 'message', id, raw: 'null' })
const offs: (() => void)[] = []
afterEach(() => {
  for (const off of offs.splice(0)) off()
})

let namespaces = 0

/** A tab: its QueryClient with ['todos'] active, and a bridge sharing refetches with the others. */
function tab(ep: ReturnType<typeof endpoint>, share: QueryBridgeOptions<null>['share'], timers?: Timers) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, gcTime: Infinity, retry: false } } })
  const observer = new QueryObserver(queryClient, { queryKey: ['todos'], queryFn: ep.queryFn })
  const data: unknown[] = []
  const frames = manualFrames()
  const unsubscribe = observer.subscribe((result) => data.push(result.data))
  const bridge = createQueryBridge<null>(queryClient, { invalidate: () => [['todos']], scheduleFrame: frames.schedule, share, ...(timers && { timers }) })
  offs.push(() => {
    unsubscribe()
    bridge.dispose()
    queryClient.clear()
  })
  return { queryClient, bridge, frames, latest: () => queryClient.getQueryData(['todos']) }
}

/** Timers the test fires by hand: `fire(below)` runs those armed for less than `below` ms. */
function manualTimers() {
  const armed = new Map<number, { callback: () => void; ms: number }>()
  let handles = 0
  const timers: Timers = {
    setTimeout: (callback, ms) => (armed.set(++handles, { callback, ms }), handles),
    clearTimeout: (handle) => void armed.delete(handle as number),
  }
  const fire = (below: number) => {
    for (const [handle, { callback, ms }] of [...armed]) if (ms < below) armed.delete(handle), callback()
  }
  return { timers, fire }
}

/** A tab's channel whose deliveries wait until `deliver()`: another tab's post on its way, slower than the locks. */
function slowChannel() {
  let holding = true
  const queued: (() => void)[] = []
  const open = (name: string): TabChannel => {
    const inner = new BroadcastChannel(name)
    let handler: ((event: MessageEvent) => void) | null = null
    inner.onmessage = (event) => void (holding ? queued.push(() => handler?.(event)) : handler?.(event))
    return {
      postMessage: (m) => inner.postMessage(m),
      close: () => inner.close(),
      set onmessage(next: ((event: MessageEvent) => void) | null) {
        handler = next
      },
      get onmessage() {
        return handler
      },
    }
  }
  return {
    open,
    get queued() {
      return queued.length
    },
    deliver() {
      holding = false
      for (const delivery of queued.splice(0)) delivery()
    },
  }
}

const heldLocks = async () => ((await navigator.locks.query()).held ?? []).map((l) => l.name!)
/**
 * b hears of change e1 first (its channel opens); a hears of it, fetches ({ v: 3 }), posts
 * and lets go of the key's lock `key`, keeping only the mark of its post.
 */
async function postedAhead(a: ReturnType<typeof tab>, b: ReturnType<typeof tab>, key: string) {
  b.bridge.message(message('e1'))
  hear(a, 'e1')
  await waitFor(() => expect(a.latest()).toEqual({ v: 3 }))
  await waitFor(async () => expect(await heldLocks()).toEqual([expect.stringContaining(`${key}:posted:`)]))
}

/** A test's endpoint, a namespace of its own, and the name of the key's lock in it. */
function setting() {
  const namespace = `ns${++namespaces}`
  return { ep: endpoint('todos'), namespace, key: keyLock(namespace) }
}

/** A page lifecycle the test drives: `lifecycle('leave')`, `lifecycle('return')`. */
function testPage() {
  let listener: ((event: 'leave' | 'return' | 'visibility') => void) | undefined
  const page = { visible: () => true, subscribe: (next: typeof listener & {}) => ((listener = next), () => void (listener = undefined)) }
  return { page, lifecycle: (event: 'leave' | 'return') => listener?.(event) }
}

/** The name of the key's lock in `namespace`. */
const keyLock = (namespace: string) => `${namespace}:query:${QUERY_TABS_PROTOCOL}:${hashKey(['todos'])}`
/** The tab hears of change `id` and its frame runs: the bridge sends the key out. */
const hear = (t: { bridge: { message(m: RealtimeMessage<null>): void }; frames: { settle(): void } }, id: string) => {
  t.bridge.message(message(id))
  t.frames.settle()
}

describe("share: 'tabs' (one refetch per browser)", () => {
  it('two tabs told of one change: one request, both get its data', async () => {
    const ep = endpoint('todos')
    const share = { namespace: `ns${++namespaces}` }
    const [a, b] = [tab(ep, share), tab(ep, share)]
    await waitFor(() => expect([a.latest(), b.latest()]).toEqual([{ v: 1 }, { v: 2 }]))
    expect(ep.state.requests).toBe(2)

    a.bridge.message(message('e1'))
    b.bridge.message(message('e1'))
    a.frames.settle()
    b.frames.settle()
    await waitFor(() => expect([a.latest(), b.latest()]).toEqual([{ v: 3 }, { v: 3 }]))
    await waitFor(() => expect(a.queryClient.isFetching() + b.queryClient.isFetching()).toBe(0))
    expect(ep.state.requests).toBe(3)
  })

  it('a tab that flushes after the fetching tab finished takes its result from memory: still one request', async () => {
    const { ep, namespace } = setting()
    const posts = { received: 0 }
    // b's channel, counting what reaches it.
    const counted = (name: string): TabChannel => {
      const inner = new BroadcastChannel(name)
      return {
        postMessage: (m) => inner.postMessage(m),
        close: () => inner.close(),
        set onmessage(handler: ((event: MessageEvent) => void) | null) {
          inner.onmessage = handler && ((event) => (posts.received++, handler(event)))
        },
        get onmessage() {
          return inner.onmessage
        },
      }
    }
    const [a, b] = [tab(ep, { namespace }), tab(ep, { namespace, channel: counted })]
    await waitFor(() => expect(ep.state.settled).toBe(2))
    a.bridge.message(message('e1'))
    b.bridge.message(message('e1'))
    a.frames.settle()
    await waitFor(() => expect(a.latest()).toEqual({ v: 3 }))
    // a's result reached b (its fetch started after b heard of the change).
    await waitFor(() => expect(posts.received).toBe(1))
    b.frames.settle()
    await waitFor(() => expect(b.latest()).toEqual({ v: 3 }))
    expect(ep.state.requests).toBe(3)
    expect(b.queryClient.isFetching()).toBe(0)
  })

  it('a result whose fetch started before this tab heard of the change is not taken: it fetches itself', async () => {
    const ep = endpoint('todos')
    const share = { namespace: `ns${++namespaces}` }
    const [a, b] = [tab(ep, share), tab(ep, share)]
    await waitFor(() => expect(ep.state.settled).toBe(2))
    hear(a, 'e1')
    await waitFor(() => expect(a.latest()).toEqual({ v: 3 }))
    hear(b, 'e2')
    await waitFor(() => expect(b.latest()).toEqual({ v: 4 }))
    expect(ep.state.requests).toBe(4)
  })

  it('a tab that hears the change after the fetching tab started its fetch (a follower hears it later) takes its result: one request', async () => {
    const ep = endpoint('todos')
    const share = { namespace: `ns${++namespaces}` }
    const [a, b] = [tab(ep, share), tab(ep, share)]
    await waitFor(() => expect(ep.state.settled).toBe(2))
    ep.hold()
    hear(a, 'e1')
    await waitFor(() => expect(ep.held).toBe(1))
    // The fetch started before b heard of e1: the fetching tab had heard of it, so it covers it.
    hear(b, 'e1')
    ep.release()
    await waitFor(() => expect([a.latest(), b.latest()]).toEqual([{ v: 3 }, { v: 3 }]))
    await waitFor(() => expect(a.queryClient.isFetching() + b.queryClient.isFetching()).toBe(0))
    expect(ep.state.requests).toBe(3)
  })

  it('a result that names the change but started long before this tab heard of it is not taken (two streams may share ids)', async () => {
    const ep = endpoint('todos')
    let clock = 0
    const share = { namespace: `ns${++namespaces}`, now: () => clock }
    const [a, b] = [tab(ep, share), tab(ep, share)]
    await waitFor(() => expect(ep.state.settled).toBe(2))
    hear(a, 'e1')
    await waitFor(() => expect(a.latest()).toEqual({ v: 3 }))
    clock = 5000
    hear(b, 'e1')
    await waitFor(() => expect(b.latest()).toEqual({ v: 4 }))
    expect(ep.state.requests).toBe(4)
  })

  it("the fetching tab's post reaches a tab after the lock does: that tab sees its mark and waits for it, still one request", async () => {
    const { ep, namespace, key } = setting()
    const slow = slowChannel()
    const b = tab(ep, { namespace, channel: slow.open })
    const a = tab(ep, { namespace })
    await waitFor(() => expect(ep.state.settled).toBe(2))
    await postedAhead(a, b, key)
    expect(slow.queued).toBe(1)
    // b is granted the free lock with a's post still on its way.
    b.frames.settle()
    await waitFor(async () => expect(await heldLocks()).toContain(key))
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(b.queryClient.isFetching()).toBe(0)
    slow.deliver()
    await waitFor(() => expect(b.latest()).toEqual({ v: 3 }))
    await waitFor(async () => expect(await heldLocks()).not.toContain(key))
    expect(ep.state.requests).toBe(3)
  })

  it("the fetching tab's post comes in while the lock manager answers which posts are marked: it is taken, still one request", async () => {
    const { ep, namespace } = setting()
    const slow = slowChannel()
    // b's lock manager: the post reaches b while its query() is on its way (found in Chromium under load).
    const locks = { request: navigator.locks.request.bind(navigator.locks), query: async () => (slow.deliver(), navigator.locks.query()) }
    const b = tab(ep, { namespace, channel: slow.open, locks })
    const a = tab(ep, { namespace })
    await waitFor(() => expect(ep.state.settled).toBe(2))
    await postedAhead(a, b, keyLock(namespace))
    expect(slow.queued).toBe(1)
    b.frames.settle()
    await waitFor(() => expect(b.latest()).toEqual({ v: 3 }))
    await waitFor(async () => expect(await heldLocks()).not.toContain(keyLock(namespace)))
    expect(ep.state.requests).toBe(3)
  })

  it('a tab queued behind the fetching tab waits for its marked post however long it takes (short of `timeout`): one request', async () => {
    const { ep, namespace, key } = setting()
    const slow = slowChannel()
    const clock = manualTimers()
    const a = tab(ep, { namespace })
    const b = tab(ep, { namespace, channel: slow.open, timeout: 10_000 }, clock.timers)
    await waitFor(() => expect(ep.state.settled).toBe(2))
    ep.hold()
    hear(a, 'e1')
    await waitFor(() => expect(ep.held).toBe(1))
    hear(b, 'e1')
    await waitFor(async () => expect((await navigator.locks.query()).pending?.map((l) => l.name)).toEqual([key]))
    ep.release()
    // a posted (on its way to b) and let go; b holds the lock, waiting for the post.
    await waitFor(() => expect(slow.queued).toBe(1))
    await waitFor(async () => expect((await navigator.locks.query()).pending).toEqual([]))
    await waitFor(async () => expect(await heldLocks()).toContain(key))
    clock.fire(10_000)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(b.queryClient.isFetching()).toBe(0)
    slow.deliver()
    await waitFor(() => expect(b.latest()).toEqual({ v: 3 }))
    expect(ep.state.requests).toBe(3)
  })

  it('a mark of a post made before this tab opened is not waited for (that post never reaches it): it fetches at once', async () => {
    const { ep, namespace } = setting()
    const a = tab(ep, { namespace })
    await waitFor(() => expect(ep.state.settled).toBe(1))
    hear(a, 'e1')
    await waitFor(() => expect(a.latest()).toEqual({ v: 2 }))
    await waitFor(async () => expect((await heldLocks()).some((name) => name.includes(':posted:'))).toBe(true))
    // c opens now, and hears of the same change (a replay, say): no timer will ever fire for it.
    const c = tab(ep, { namespace }, manualTimers().timers)
    await waitFor(() => expect(c.latest()).toEqual({ v: 3 }))
    hear(c, 'e1')
    await waitFor(() => expect(c.latest()).toEqual({ v: 4 }))
    expect(ep.state.requests).toBe(4)
  })

  it('the page leaves (frozen, or into the back/forward cache): it lets go of its marks, its channel and its place in the queue; back, it asks again', async () => {
    const { ep, namespace, key } = setting()
    const { page, lifecycle } = testPage()
    const channels = { open: 0, closed: 0 }
    const counted = (name: string): TabChannel => {
      const inner = new BroadcastChannel(name)
      channels.open++
      return Object.assign(inner, { close: () => (channels.closed++, BroadcastChannel.prototype.close.call(inner)) })
    }
    const b = tab(ep, { namespace, page, channel: counted })
    const a = tab(ep, { namespace })
    await waitFor(() => expect(ep.state.settled).toBe(2))
    hear(b, 'e1')
    await waitFor(() => expect(b.latest()).toEqual({ v: 3 }))
    await waitFor(async () => expect(await heldLocks()).toEqual([expect.stringContaining(`${key}:posted:`)]))
    ep.hold()
    hear(a, 'e2')
    await waitFor(() => expect(ep.held).toBe(1))
    hear(b, 'e2')
    await waitFor(async () => expect((await navigator.locks.query()).pending?.map((l) => l.name)).toEqual([key]))

    // (Node's lock manager lists an aborted request as pending until the lock goes; a browser's does not.)
    lifecycle('leave')
    await waitFor(async () => expect(await heldLocks()).toEqual([key]))
    expect(channels).toEqual({ open: 1, closed: 1 })
    ep.release()
    await waitFor(() => expect(a.latest()).toEqual({ v: 4 }))
    // Only a's mark: b's request was given up (it never takes the lock), and its data waits.
    await waitFor(async () => expect(await heldLocks()).toEqual([expect.stringContaining(`${key}:posted:`)]))
    expect(b.latest()).toEqual({ v: 3 })
    expect(ep.state.requests).toBe(4)

    // Back: it missed a's post, so it fetches the change it was waiting for.
    lifecycle('return')
    expect(channels).toEqual({ open: 2, closed: 1 })
    await waitFor(() => expect(b.latest()).toEqual({ v: 5 }))
    expect(ep.state.requests).toBe(5)
  })

  it('the page leaves while this tab fetches under the key lock: the lock goes at once; back, its fetch still lands', async () => {
    const { ep, namespace, key } = setting()
    const { page, lifecycle } = testPage()
    const a = tab(ep, { namespace, page })
    await waitFor(() => expect(ep.state.settled).toBe(1))
    ep.hold()
    hear(a, 'e1')
    await waitFor(() => expect(ep.held).toBe(1))
    expect(await heldLocks()).toEqual([key])
    lifecycle('leave')
    await waitFor(async () => expect(await heldLocks()).toEqual([]))
    lifecycle('return')
    ep.release()
    await waitFor(() => expect(a.latest()).toEqual({ v: 2 }))
    expect(ep.state.requests).toBe(2)
  })

  it('the page leaves while this tab waits under the lock for a marked post: back, it asks for the lock again before it fetches', async () => {
    const { ep, namespace, key } = setting()
    const { page, lifecycle } = testPage()
    const slow = slowChannel()
    const clock = manualTimers()
    const b = tab(ep, { namespace, page, channel: slow.open, timeout: 10_000 }, clock.timers)
    const a = tab(ep, { namespace })
    await waitFor(() => expect(ep.state.settled).toBe(2))
    await postedAhead(a, b, key)
    b.frames.settle()
    await waitFor(async () => expect(await heldLocks()).toContain(key))
    lifecycle('leave')
    await waitFor(async () => expect(await heldLocks()).not.toContain(key))
    lifecycle('return')
    // The post it waited for went with its old channel; its wait ends, and it fetches under the lock.
    ep.hold()
    clock.fire(10_001)
    await waitFor(() => expect(ep.held).toBe(1))
    expect(await heldLocks()).toContain(key)
    ep.release()
    await waitFor(() => expect(b.latest()).toEqual({ v: 4 }))
  })

  it('a result the others would refuse (a key over 1,000 queries) is neither posted nor marked: the next tab fetches at once', async () => {
    const namespace = `ns${++namespaces}`
    const bigTab = (timers?: Timers) => {
      const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, gcTime: Infinity, retry: false } } })
      const fetched = { count: 0 }
      const offObservers = Array.from({ length: 1001 }, (_, i) =>
        new QueryObserver(queryClient, { queryKey: ['big', i], queryFn: () => ({ n: ++fetched.count }) }).subscribe(() => {}),
      )
      const frames = manualFrames()
      const bridge = createQueryBridge<null>(queryClient, { invalidate: () => [['big']], scheduleFrame: frames.schedule, share: { namespace }, ...(timers && { timers }) })
      offs.push(() => {
        for (const off of offObservers) off()
        bridge.dispose()
        queryClient.clear()
      })
      return { bridge, frames, fetched }
    }
    const a = bigTab()
    const b = bigTab(manualTimers().timers)
    await waitFor(() => expect([a.fetched.count, b.fetched.count]).toEqual([1001, 1001]))
    b.bridge.message(message('e1'))
    hear(a, 'e1')
    await waitFor(() => expect(a.fetched.count).toBe(2002))
    // b's waits never end by time (its timers never fire): a mark of a's post would hold it
    // up for good, whether b finds the lock free or queues behind a.
    b.frames.settle()
    await waitFor(() => expect(b.fetched.count).toBe(2002))
  })

  it("the fetching tab's query was already fetching when the change came: it posts the data of the fetch after, not of that one", async () => {
    const ep = endpoint('todos')
    const share = { namespace: `ns${++namespaces}` }
    const b = tab(ep, share)
    await waitFor(() => expect(b.latest()).toEqual({ v: 1 }))
    // a's first fetch (request 2) was made before the change, and answers after it.
    ep.hold()
    const a = tab(ep, share)
    await waitFor(() => expect(ep.held).toBe(1))
    b.bridge.message(message('e1'))
    hear(a, 'e1')
    b.frames.settle()
    await waitFor(async () => expect((await navigator.locks.query()).pending?.length).toBe(1))
    ep.release()
    await waitFor(() => expect([a.latest(), b.latest()]).toEqual([{ v: 3 }, { v: 3 }]))
    await waitFor(() => expect(a.queryClient.isFetching() + b.queryClient.isFetching()).toBe(0))
    expect(ep.state.requests).toBe(3)
  })

  it('the fetching tab dies (lets go of its lock with no result): the waiting tab fetches itself', async () => {
    const ep = endpoint('todos')
    const share = { namespace: `ns${++namespaces}` }
    const b = tab(ep, share)
    await waitFor(() => expect(b.latest()).toEqual({ v: 1 }))
    // A "tab" that took the key's lock and will die before it posts anything.
    let die!: () => void
    const held = new Promise<void>((resolve) => (die = resolve))
    const taken = new Promise<void>((granted) => {
      void navigator.locks.request(`${share.namespace}:query:${QUERY_TABS_PROTOCOL}:${hashKey(['todos'])}`, () => (granted(), held))
    })
    await taken
    hear(b, 'e1')
    // b waits for a result, not fetching meanwhile (a fetch here would start at once).
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(b.queryClient.isFetching()).toBe(0)
    die()
    await waitFor(() => expect(b.latest()).toEqual({ v: 2 }))
    expect(ep.state.requests).toBe(2)
  })

  it('after `timeout` without a result, a waiting tab takes the lock from the tab holding it and fetches', async () => {
    const ep = endpoint('todos')
    // The waits for a result (`timeout`); a fetching tab's hold of its mark is another timer.
    const pending: (() => void)[] = []
    const timers = { setTimeout: (callback: () => void, ms: number) => (ms === 1234 ? pending.push(callback) : 0), clearTimeout: () => {} }
    const share = { namespace: `ns${++namespaces}`, timeout: 1234 }
    const key = keyLock(share.namespace)
    const b = tab(ep, share)
    await waitFor(() => expect(b.latest()).toEqual({ v: 1 }))
    let release!: () => void
    let robbed = ''
    await new Promise<void>((granted) => {
      // The waiting tab takes this lock from us (steal): our request then rejects, as a robbed tab's does.
      navigator.locks
        .request(key, () => (granted(), new Promise<void>((r) => (release = r))))
        .catch((error: unknown) => void (robbed = (error as Error).name))
    })
    const bridge = createQueryBridge<null>(b.queryClient, { invalidate: () => [['todos']], scheduleFrame: b.frames.schedule, share, timers })
    offs.push(() => (release(), bridge.dispose()))
    bridge.message(message('e1'))
    b.frames.settle()
    await waitFor(() => expect(pending).toHaveLength(1))
    expect(ep.state.requests).toBe(1)
    pending[0]!()
    await waitFor(() => expect(b.latest()).toEqual({ v: 2 }))
    expect(ep.state.requests).toBe(2)
    // The holder (frozen, say) lost the lock to this tab: the next change waits on nobody.
    await waitFor(async () => expect((await navigator.locks.query()).held?.some((l) => l.name === key)).toBe(false))
    expect(robbed).toBe('AbortError')
    bridge.message(message('e2'))
    b.frames.settle()
    await waitFor(() => expect(b.latest()).toEqual({ v: 3 }))
    expect(pending).toHaveLength(2)
  })

  it('forged, garbled or other-version posts are ignored', async () => {
    const ep = endpoint('todos')
    const share = { namespace: `ns${++namespaces}` }
    const [a, b] = [tab(ep, share), tab(ep, share)]
    await waitFor(() => expect(ep.state.settled).toBe(2))
    // A first change opens both tabs' channels: the forged posts below reach them.
    a.bridge.message(message('e0'))
    b.bridge.message(message('e0'))
    a.frames.settle()
    b.frames.settle()
    await waitFor(() => expect([a.latest(), b.latest()]).toEqual([{ v: 3 }, { v: 3 }]))
    const hash = hashKey(['todos'])
    const name = `${share.namespace}:query:${QUERY_TABS_PROTOCOL}`
    const forger = new BroadcastChannel(name)
    const witness = new BroadcastChannel(name)
    let witnessed = 0
    witness.onmessage = () => void witnessed++
    offs.push(() => (forger.close(), witness.close()))
    const future = Date.now() + 60_000
    const posts = [
      null,
      'result',
      { v: QUERY_TABS_PROTOCOL + 1, type: 'result', hash, started: future, changes: [], entries: [[hash, ['todos'], { v: 'forged' }, future]] },
      { v: QUERY_TABS_PROTOCOL, type: 'result', hash, started: future, changes: [], entries: [[hash, 'todos', { v: 'forged' }, future]] },
      { v: QUERY_TABS_PROTOCOL, type: 'result', hash, started: future, changes: [], entries: [['["other"]', ['todos'], { v: 'forged' }, future]] },
      { v: QUERY_TABS_PROTOCOL, type: 'result', hash, started: future, changes: [], entries: [[hash, ['todos'], { v: 'forged' }]] },
      // Well formed but from the future: it would fit every change to come (and stop refetches).
      { v: QUERY_TABS_PROTOCOL, type: 'result', hash, started: future, changes: [], entries: [[hash, ['todos'], { v: 'forged' }, Date.now()]] },
      { v: QUERY_TABS_PROTOCOL, type: 'result', hash, started: Date.now(), changes: ['message\ne1'], entries: [[hash, ['todos'], { v: 'forged' }, future]] },
      // An id that is not a string of at most 64 characters (it names the result's mark).
      { v: QUERY_TABS_PROTOCOL, type: 'result', hash, id: 7, started: Date.now(), changes: ['message\ne1'], entries: [[hash, ['todos'], { v: 'forged' }, Date.now()]] },
      { v: QUERY_TABS_PROTOCOL, type: 'result', hash, id: 'x'.repeat(65), started: Date.now(), changes: ['message\ne1'], entries: [[hash, ['todos'], { v: 'forged' }, Date.now()]] },
      // Too many entries (a flood that every tab would check and keep).
      { v: QUERY_TABS_PROTOCOL, type: 'result', hash, started: Date.now(), changes: ['message\ne1'], entries: Array.from({ length: 1001 }, () => [hash, ['todos'], { v: 'forged' }, 0]) },
    ]
    for (const post of posts) forger.postMessage(post)
    await waitFor(() => expect(witnessed).toBe(posts.length))
    a.bridge.message(message('e1'))
    b.bridge.message(message('e1'))
    a.frames.settle()
    b.frames.settle()
    await waitFor(() => expect([a.latest(), b.latest()]).toEqual([{ v: 4 }, { v: 4 }]))
    expect(ep.state.requests).toBe(4)
  })

  it('is the default; `share: false` makes each tab refetch itself', async () => {
    const ep = endpoint('todos')
    const [a, b] = [tab(ep, undefined), tab(ep, undefined)]
    await waitFor(() => expect(ep.state.settled).toBe(2))
    a.bridge.message(message('e1'))
    b.bridge.message(message('e1'))
    a.frames.settle()
    b.frames.settle()
    await waitFor(() => expect([a.latest(), b.latest()]).toEqual([{ v: 3 }, { v: 3 }]))
    await waitFor(() => expect(a.queryClient.isFetching() + b.queryClient.isFetching()).toBe(0))
    expect(ep.state.requests).toBe(3)

    const [c, d] = [tab(ep, false), tab(ep, false)]
    await waitFor(() => expect(ep.state.settled).toBe(5))
    c.bridge.message(message('e2'))
    d.bridge.message(message('e2'))
    c.frames.settle()
    d.frames.settle()
    await waitFor(() => expect(ep.state.settled).toBe(7))
    expect(ep.state.requests).toBe(7)
  })

  it('without Web Locks, each tab refetches itself', async () => {
    const ep = endpoint('todos')
    const had = Object.getOwnPropertyDescriptor(navigator, 'locks')!
    Object.defineProperty(navigator, 'locks', { configurable: true, value: undefined })
    try {
      const share = 'tabs' as const
      const [a, b] = [tab(ep, share), tab(ep, share)]
      await waitFor(() => expect(ep.state.settled).toBe(2))
      a.bridge.message(message('e1'))
      b.bridge.message(message('e1'))
      a.frames.settle()
      b.frames.settle()
      await waitFor(() => expect(ep.state.settled).toBe(4))
      expect(ep.state.requests).toBe(4)
    } finally {
      Object.defineProperty(navigator, 'locks', had)
    }
  })
})

describe("useQueryBridge (default share: 'tabs') in two tabs on one realtime connection", () => {
  it('one event, heard by both tabs: one refetch in the browser, both tabs show its data', async () => {
    const srv = realtimeServer('two-tabs')
    const ep = endpoint('todos')
    const mountTab = () => {
      const { client } = testClient(srv, undefined)
      const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, gcTime: Infinity, retry: false } } })
      const frames = manualFrames()
      const seen = { data: undefined as unknown, messages: 0 }
      function Todos(): ReactNode {
        seen.data = useQuery({ queryKey: ['todos'], queryFn: ep.queryFn }).data
        const bridge = useQueryBridge<{ id: number }>({ invalidate: () => [['todos']], scheduleFrame: frames.schedule })
        useRealtime<{ id: number }>('todos', { client, ...bridge, onMessage: (m) => (seen.messages++, bridge.onMessage(m)) })
        return null
      }
      const view = render(createElement(QueryClientProvider, { client: queryClient }, createElement(Todos)))
      offs.push(() => (view.unmount(), queryClient.clear()))
      return { frames, seen, queryClient }
    }
    const [a, b] = [mountTab(), mountTab()]
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))
    await waitFor(() => expect([a.seen.data, b.seen.data]).toEqual([{ v: expect.any(Number) }, { v: expect.any(Number) }]))
    await waitFor(() => expect(a.queryClient.isFetching() + b.queryClient.isFetching()).toBe(0))
    // One connection for both tabs.
    expect(srv.connections.filter((c) => c.closedWith === null)).toHaveLength(1)
    const before = ep.state.requests

    srv.emit('todos', { id: 1 })
    await waitFor(() => expect([a.seen.messages, b.seen.messages]).toEqual([1, 1]))
    a.frames.settle()
    b.frames.settle()
    await waitFor(() => expect([a.seen.data, b.seen.data]).toEqual([{ v: before + 1 }, { v: before + 1 }]))
    await waitFor(() => expect(a.queryClient.isFetching() + b.queryClient.isFetching()).toBe(0))
    expect(ep.state.requests).toBe(before + 1)
  })
})
