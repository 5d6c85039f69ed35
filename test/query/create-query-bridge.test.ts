/**
 * createQueryBridge without React: the sources it attaches to (a channel's resets, a
 * connection's `gap` errors), the `window` on injected timers, what a discontinuity
 * invalidates by default, dispose, and the invalidate frame reader.
 */
import { QueryClient, QueryObserver } from '@tanstack/react-query'
import { describe, expect, it, vi } from 'vitest'
import type { RealtimeMessage } from '../../src/core/connection-types'
import { RealtimeError } from '../../src/core/errors'
import type { ChannelReset } from '../../src/core/realtime/client-types'
import type { Timers } from '../../src/core/runtime'
import { createQueryBridge, invalidateFrameKeys } from '../../src/query/index'
import { manualFrames } from './harness'

const message = <T>(data: T, id?: string): RealtimeMessage<T> => ({ data, event: 'message', id, raw: JSON.stringify(data) })

function listeners<A>() {
  const set = new Set<(a: A) => void>()
  return { add: (l: (a: A) => void) => (set.add(l), () => void set.delete(l)), emit: (a: A) => set.forEach((l) => l(a)), get size() { return set.size } }
}

function setup() {
  const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } })
  const invalidated = vi.spyOn(queryClient, 'invalidateQueries').mockResolvedValue(undefined)
  const keys = () => invalidated.mock.calls.map(([filters]) => filters?.queryKey)
  return { queryClient, invalidated, keys, frames: manualFrames() }
}

/** Timers that run when the test says; `pending` lists their delays. */
function manualTimers() {
  const pending = new Map<object, { callback: () => void; ms: number }>()
  const timers: Timers = {
    setTimeout: (callback, ms) => {
      const handle = {}
      pending.set(handle, { callback, ms })
      return handle
    },
    clearTimeout: (handle) => void pending.delete(handle as object),
  }
  return { timers, delays: () => [...pending.values()].map((p) => p.ms), runAll: () => [...pending.entries()].forEach(([h, p]) => (pending.delete(h), p.callback())) }
}

describe('createQueryBridge', () => {
  it("a connection's gap error invalidates the stream's keys once; its other errors nothing", () => {
    const t = setup()
    const bridge = createQueryBridge<{ id: number }>(t.queryClient, { invalidate: (m) => [['todo', m.data.id]], scheduleFrame: t.frames.schedule, share: false })
    const source = { messages: listeners<RealtimeMessage<{ id: number }>>(), errors: listeners<RealtimeError>() }
    const off = bridge.attach({ onMessage: source.messages.add, onError: source.errors.add })

    source.messages.emit(message({ id: 1 }))
    source.messages.emit(message({ id: 2 }))
    t.frames.settle()
    expect(t.keys()).toEqual([['todo', 1], ['todo', 2]])

    source.errors.emit(new RealtimeError('network', 'dropped'))
    source.errors.emit(new RealtimeError('timeout', 'silent'))
    expect(t.frames.pending).toBe(0)
    source.errors.emit(new RealtimeError('gap', 'missed'))
    t.frames.settle()
    // By default, a discontinuity invalidates every key the bridge has seen.
    expect(t.keys().slice(2)).toEqual([['todo', 1], ['todo', 2]])

    off()
    expect([source.messages.size, source.errors.size]).toEqual([0, 0])
  })

  it("a channel's reset invalidates `keys`, once per reset; its errors are not listened to", () => {
    const t = setup()
    const bridge = createQueryBridge(t.queryClient, { keys: [['feed']], scheduleFrame: t.frames.schedule, share: false })
    const resets = listeners<ChannelReset>()
    const errors = listeners<RealtimeError>()
    bridge.attach({ onMessage: () => () => {}, onReset: resets.add, onError: errors.add } as never)
    expect(errors.size).toBe(0)
    resets.emit({ channel: 'feed', reason: 'gap', epoch: '' })
    t.frames.settle()
    resets.emit({ channel: 'feed', reason: 'expired', epoch: 'e2' })
    t.frames.settle()
    expect(t.keys()).toEqual([['feed'], ['feed']])
  })

  it('without `window`, a key goes out after a frame with no change for it: a burst over many frames refetches once, at its end', () => {
    const t = setup()
    const bridge = createQueryBridge<string>(t.queryClient, { invalidate: (m) => [[m.data]], scheduleFrame: t.frames.schedule, share: false })
    bridge.message(message('a'))
    bridge.message(message('b'))
    t.frames.run()
    expect(t.keys()).toEqual([])
    for (let frame = 0; frame < 5; frame++) {
      bridge.message(message('a'))
      t.frames.run()
    }
    // 'b' went quiet after the first frame; 'a' changed in every frame since.
    expect(t.keys()).toEqual([['b']])
    expect(t.frames.settle()).toBe(1)
    expect(t.keys()).toEqual([['b'], ['a']])
  })

  it('a key that never goes quiet goes out `maxWait` after its first change, then gathers again', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const t = setup()
      const bridge = createQueryBridge(t.queryClient, { invalidate: () => [['hot']], maxWait: 100, scheduleFrame: t.frames.schedule, share: false })
      const sentAt: number[] = []
      for (let ms = 0; ms <= 300; ms += 20) {
        vi.setSystemTime(ms)
        bridge.message(message(ms))
        const before = t.keys().length
        t.frames.run()
        if (t.keys().length > before) sentAt.push(ms)
      }
      expect(sentAt).toEqual([100, 220])
    } finally {
      vi.useRealTimers()
    }
  })

  it("tabwire/server's SSE `reset` event is a discontinuity (once), not a message for `invalidate`; another 'reset' is a message", () => {
    const t = setup()
    const invalidate = vi.fn((m: RealtimeMessage<unknown>) => [['todo', (m.data as { id?: number }).id ?? 'none']])
    const bridge = createQueryBridge<unknown>(t.queryClient, { invalidate, scheduleFrame: t.frames.schedule, share: false })
    bridge.message(message({ id: 1 }, '1'))
    t.frames.settle()
    const reset = (data: unknown, id: string): RealtimeMessage<unknown> => ({ ...message(data, id), event: 'reset' })
    bridge.message(reset('{"epoch":"e2","reason":"gap"}', 'e2.0'))
    bridge.message(reset({ epoch: 'e2', reason: 'epoch' }, 'e2.0'))
    t.frames.settle()
    expect(invalidate).toHaveBeenCalledTimes(1)
    expect(t.keys()).toEqual([['todo', 1], ['todo', 1]])
    // An app's own event named 'reset', not shaped like the server's: an ordinary message.
    bridge.message(reset({ id: 2 }, '7'))
    t.frames.settle()
    expect(invalidate).toHaveBeenCalledTimes(2)
    expect(t.keys().slice(2)).toEqual([['todo', 2]])
  })

  it('with `window`, a key goes out after a window with no change for it, on the given timers', () => {
    const t = setup()
    const clock = manualTimers()
    const bridge = createQueryBridge<string[]>(t.queryClient, { window: 50, share: false, timers: clock.timers, invalidate: (m) => m.data.map((k) => [k]) })
    bridge.message(message(['a', 'b']))
    bridge.message(message(['a']))
    expect(clock.delays()).toEqual([50])
    clock.runAll()
    expect(t.keys()).toEqual([])
    bridge.message(message(['a']))
    expect(clock.delays()).toEqual([50])
    clock.runAll()
    expect(t.keys()).toEqual([['b']])
    clock.runAll()
    expect(t.keys()).toEqual([['b'], ['a']])
    expect(clock.delays()).toEqual([])
    expect(t.invalidated.mock.calls[0]![1]).toEqual({ cancelRefetch: false })
  })

  it('options may be a getter, read at each use; dispose sends what is gathered at once', () => {
    const t = setup()
    let key = 'first'
    const bridge = createQueryBridge(t.queryClient, () => ({ invalidate: () => [[key]], scheduleFrame: t.frames.schedule, share: false }))
    bridge.message(message(1))
    key = 'second'
    bridge.message(message(2))
    bridge.dispose()
    expect(t.frames.pending).toBe(0)
    expect(t.keys()).toEqual([['first'], ['second']])
    // Usable again after dispose (a StrictMode remount).
    bridge.message(message(3))
    t.frames.settle()
    expect(t.keys()).toHaveLength(3)
  })

  it('an invalidate that returns no array, or keys that are not arrays of JSON values, is a parse error; the good keys still go', () => {
    const t = setup()
    const errors: RealtimeError[] = []
    const bridge = createQueryBridge<unknown>(t.queryClient, {
      invalidate: (m) => m.data as never,
      onError: (e) => errors.push(e),
      scheduleFrame: t.frames.schedule, share: false,
    })
    bridge.message(message('todos', '1'))
    const cyclic: unknown[] = ['cycle']
    cyclic.push(cyclic)
    bridge.message({ ...message(null, '2'), data: [['ok'], 7, null, [1n], cyclic] })
    bridge.message(message(undefined, '3'))
    t.frames.settle()
    expect(errors.map((e) => [e.kind, e.message, e.id])).toEqual([
      ['parse', 'invalidate must return an array of query keys', '1'],
      ['parse', 'a query key must be an array of JSON values, got 7', '2'],
      ['parse', 'a query key must be an array of JSON values, got null', '2'],
      ['parse', 'a query key must be an array of JSON values, got an array that is not JSON', '2'],
      ['parse', 'a query key must be an array of JSON values, got an array that is not JSON', '2'],
    ])
    expect(t.keys()).toEqual([['ok']])
  })

  it('an onError that throws is reported, and the bridge goes on', () => {
    const t = setup()
    const reported = vi.fn()
    vi.stubGlobal('reportError', reported)
    try {
      const bridge = createQueryBridge(t.queryClient, {
        invalidate: () => [7 as never, ['fine']],
        onError: () => {
          throw new Error('handler broke')
        },
        scheduleFrame: t.frames.schedule, share: false,
      })
      bridge.message(message(1))
      t.frames.settle()
      expect(reported.mock.calls.map(([e]) => String(e))).toEqual(['Error: handler broke'])
      expect(t.keys()).toEqual([['fine']])
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('(why) TanStack alone: an invalidation during a first fetch joins that fetch and is lost (TanStack/query#8530)', async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } })
    const answers: ((v: number) => void)[] = []
    const observer = new QueryObserver(queryClient, { queryKey: ['n'], queryFn: () => new Promise<number>((resolve) => answers.push(resolve)) })
    const off = observer.subscribe(() => {})
    try {
      void queryClient.invalidateQueries({ queryKey: ['n'] })
      answers[0]!(1)
      await vi.waitFor(() => expect(queryClient.getQueryState(['n'])).toMatchObject({ data: 1, fetchStatus: 'idle', isInvalidated: false }))
      expect(answers).toHaveLength(1)
    } finally {
      off()
      queryClient.clear()
    }
  })

  it('a query fetching when invalidated is invalidated again when that fetch settles, exactly once', async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } })
    const frames = manualFrames()
    const answers: ((v: number) => void)[] = []
    const observer = new QueryObserver(queryClient, { queryKey: ['n'], queryFn: () => new Promise<number>((resolve) => answers.push(resolve)) })
    const off = observer.subscribe(() => {})
    try {
      const bridge = createQueryBridge(queryClient, { invalidate: () => [['n']], scheduleFrame: frames.schedule, share: false })
      expect(answers).toHaveLength(1)
      bridge.message(message(1))
      frames.settle()
      bridge.message(message(2))
      frames.settle()
      expect(answers).toHaveLength(1)
      answers[0]!(1)
      await vi.waitFor(() => expect(answers).toHaveLength(2))
      answers[1]!(2)
      await vi.waitFor(() => expect(queryClient.getQueryData(['n'])).toBe(2))
      expect(answers).toHaveLength(2)
      expect(queryClient.isFetching()).toBe(0)
    } finally {
      off()
      queryClient.clear()
    }
  })
})

describe('invalidateFrameKeys', () => {
  it('reads { type: "invalidate", queryKey | queryKeys }, as data or as JSON text', () => {
    expect(invalidateFrameKeys(message({ type: 'invalidate', queryKey: ['todos', 1] }))).toEqual([['todos', 1]])
    expect(invalidateFrameKeys(message({ type: 'invalidate', queryKeys: [['a'], ['b']] }))).toEqual([['a'], ['b']])
    expect(invalidateFrameKeys(message('{"type":"invalidate","queryKey":["x"]}'))).toEqual([['x']])
  })

  it.each([
    ['not JSON', '{'],
    ['not an object', 42],
    ['null', null],
    ['another type', { type: 'update', queryKey: ['x'] }],
    ['no key', { type: 'invalidate' }],
    ['a string key', { type: 'invalidate', queryKey: 'x' }],
    ['an empty queryKeys', { type: 'invalidate', queryKeys: [] }],
    ['a queryKeys entry that is no array', { type: 'invalidate', queryKeys: [['a'], 'b'] }],
  ])('throws a protocol RealtimeError on %s', (_, data) => {
    let thrown: unknown
    try {
      invalidateFrameKeys(message(data, '9'))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(RealtimeError)
    expect(thrown).toMatchObject({ kind: 'protocol', id: '9' })
  })
})
