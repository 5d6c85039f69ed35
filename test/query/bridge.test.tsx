/**
 * The query bridge with a real QueryClient: useQuery against an MSW `http` endpoint (every
 * request counted), fed by useRealtime over a real createRealtime client on MSW's `ws.link`
 * (test/react/realtime-server.ts). Flushes run on frames the test runs by hand.
 */
import { focusManager, onlineManager, QueryClientProvider, useQuery } from '@tanstack/react-query'
import { render, waitFor } from '@testing-library/react'
import { createElement, type ReactNode } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { RealtimeError } from '../../src/core/errors'
import type { RealtimeClient } from '../../src/core/realtime/client-types'
import { useRealtime } from '../../src/react/use-realtime'
import { RealtimeQueryBridge, useQueryBridge, type UseQueryBridgeOptions } from '../../src/query/index'
import { realtimeServer, testClient } from '../react/realtime-server'
import { endpoint, manualFrames, setupQueryHarness, testQueryClient } from './harness'

setupQueryHarness()

type Change = { id: number; bad?: boolean }

/** useQuery(['todos']) kept fresh by useQueryBridge over useRealtime('todos'); records what it sees. */
function mount(client: RealtimeClient, ep: ReturnType<typeof endpoint>, options: UseQueryBridgeOptions<Change>) {
  const queryClient = testQueryClient()
  const frames = manualFrames()
  const seen = { messages: 0, data: undefined as unknown, status: '' }
  function Todos(): ReactNode {
    const query = useQuery({ queryKey: ['todos'], queryFn: ep.queryFn })
    const bridge = useQueryBridge<Change>({ scheduleFrame: frames.schedule, ...options })
    const channel = useRealtime<Change>('todos', {
      client,
      ...bridge,
      onMessage: (m) => {
        seen.messages++
        bridge.onMessage(m)
      },
    })
    seen.data = query.data
    seen.status = channel.status
    return null
  }
  const view = render(createElement(QueryClientProvider, { client: queryClient }, createElement(Todos)))
  const invalidations = vi.spyOn(queryClient, 'invalidateQueries')
  return { queryClient, frames, seen, view, invalidations }
}

/** Everything settled: no frame pending, no fetch running, no request held. */
const settled = (t: ReturnType<typeof mount>, ep: ReturnType<typeof endpoint>) => {
  expect(t.frames.pending).toBe(0)
  expect(t.queryClient.isFetching()).toBe(0)
  expect(ep.state.settled).toBe(ep.state.calls)
}

describe('useQueryBridge over useRealtime', () => {
  it('a burst of 1,000 changes on one key is one invalidateQueries and one refetch', async () => {
    const srv = realtimeServer('burst')
    const ep = endpoint('todos')
    const { client } = testClient(srv, undefined)
    const t = mount(client, ep, { invalidate: (m) => [['todos'], ['todo', m.data.id]] })
    await waitFor(() => expect(t.seen).toMatchObject({ data: { v: 1 }, status: 'open' }))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))

    for (let i = 1; i <= 1000; i++) srv.emit('todos', { id: i % 3 })
    await waitFor(() => expect(t.seen.messages).toBe(1000))
    expect(ep.state.requests).toBe(1)
    t.frames.settle()
    await waitFor(() => expect(t.seen.data).toEqual({ v: 2 }))

    settled(t, ep)
    expect(ep.state).toEqual({ requests: 2, aborted: 0, calls: 2, settled: 2 })
    // One call per distinct key: ['todos'], and ['todo', 0..2] (no query: nothing fetched).
    expect(t.invalidations.mock.calls.map(([filters]) => filters?.queryKey)).toEqual([['todos'], ['todo', 1], ['todo', 2], ['todo', 0]])
  })

  it('changes that keep coming after a refetch went out: one fetch in flight, one after it, none cancelled', async () => {
    const srv = realtimeServer('frames')
    const ep = endpoint('todos')
    const { client } = testClient(srv, undefined)
    const t = mount(client, ep, { invalidate: () => [['todos']] })
    await waitFor(() => expect(t.seen.data).toEqual({ v: 1 }))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))

    ep.hold()
    for (let change = 1; change <= 5; change++) {
      srv.emit('todos', { id: change })
      await waitFor(() => expect(t.seen.messages).toBe(change))
      t.frames.settle()
      await waitFor(() => expect(ep.held).toBe(1))
    }
    ep.release()
    await waitFor(() => expect(t.seen.data).toEqual({ v: 3 }))

    settled(t, ep)
    expect(ep.state).toEqual({ requests: 3, aborted: 0, calls: 3, settled: 3 })
  })

  it('an invalidation during the first fetch is not lost: that fetch may predate the change, so one more follows', async () => {
    const srv = realtimeServer('first')
    const ep = endpoint('todos')
    ep.hold()
    const { client } = testClient(srv, undefined)
    const t = mount(client, ep, { invalidate: () => [['todos']] })
    await waitFor(() => expect(ep.held).toBe(1))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))

    srv.emit('todos', { id: 1 })
    await waitFor(() => expect(t.seen.messages).toBe(1))
    t.frames.settle()
    ep.release()
    await waitFor(() => expect(t.seen.data).toEqual({ v: 2 }))

    settled(t, ep)
    expect(ep.state).toEqual({ requests: 2, aborted: 0, calls: 2, settled: 2 })
  })

  it('a reset of the channel invalidates its keys once; a resume that worked refetches nothing', async () => {
    const srv = realtimeServer('reset')
    const ep = endpoint('todos')
    const { client } = testClient(srv, undefined, { random: () => 0 })
    const t = mount(client, ep, { keys: [['todos']] })
    await waitFor(() => expect(t.seen.data).toEqual({ v: 1 }))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))
    srv.emit('todos', { id: 1 })
    await waitFor(() => expect(t.seen.messages).toBe(1))

    // The connection drops and comes back; the channel resumes from its id: no refetch.
    srv.connections[0]!.client.close()
    await waitFor(() => expect(srv.frames.filter((f) => f.type === 'subscribe')).toHaveLength(2))
    expect(srv.frames.at(-1)).toMatchObject({ type: 'subscribe', channel: 'todos', since: 'todos#1' })
    await waitFor(() => expect(t.seen.status).toBe('open'))
    expect(t.frames.pending).toBe(0)
    expect(ep.state.requests).toBe(1)

    // The server could not resume: one refetch.
    srv.send({ type: 'reset', channel: 'todos', epoch: 'e2', reason: 'epoch', head: '' })
    await waitFor(() => expect(t.frames.pending).toBe(1))
    t.frames.settle()
    await waitFor(() => expect(t.seen.data).toEqual({ v: 2 }))
    settled(t, ep)
    expect(ep.state.requests).toBe(2)
  })

  it('a gap (told as the gap error, then a gap reset on the channel) is one refetch', async () => {
    const srv = realtimeServer('gap')
    const ep = endpoint('todos')
    const { client } = testClient(srv, undefined)
    const handlers: { current?: ReturnType<typeof useQueryBridge<Change>> } = {}
    const queryClient = testQueryClient()
    const frames = manualFrames()
    const data: unknown[] = []
    function Todos(): ReactNode {
      data.push(useQuery({ queryKey: ['todos'], queryFn: ep.queryFn }).data)
      handlers.current = useQueryBridge<Change>({ scheduleFrame: frames.schedule, keys: [['todos']] })
      useRealtime('todos', { client, ...handlers.current })
      return null
    }
    render(createElement(QueryClientProvider, { client: queryClient }, createElement(Todos)))
    await waitFor(() => expect(data.at(-1)).toEqual({ v: 1 }))

    handlers.current!.onError(new RealtimeError('gap', 'missed messages'))
    handlers.current!.onReset({ channel: 'todos', reason: 'gap', epoch: '' })
    handlers.current!.onError(new RealtimeError('network', 'dropped'))
    expect(frames.pending).toBe(1)
    frames.settle()
    await waitFor(() => expect(data.at(-1)).toEqual({ v: 2 }))
    expect(ep.state.requests).toBe(2)
    expect(queryClient.isFetching()).toBe(0)
  })

  it('update: an older refetch in flight is cancelled, so it never overwrites the update', async () => {
    const srv = realtimeServer('update')
    const ep = endpoint('todos')
    const { client } = testClient(srv, undefined)
    const t = mount(client, ep, { update: (m, qc) => qc.setQueryData(['todos'], { v: `live ${m.data.id}` }) })
    await waitFor(() => expect(t.seen.data).toEqual({ v: 1 }))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))

    ep.hold()
    void t.queryClient.refetchQueries({ queryKey: ['todos'] })
    await waitFor(() => expect(ep.held).toBe(1))
    srv.emit('todos', { id: 7 })
    await waitFor(() => expect(t.seen.data).toEqual({ v: 'live 7' }))
    ep.release()
    await waitFor(() => expect(ep.state.settled).toBe(2))

    expect(t.queryClient.getQueryData(['todos'])).toEqual({ v: 'live 7' })
    expect(t.queryClient.getQueryState(['todos'])).toMatchObject({ fetchStatus: 'idle', status: 'success', isInvalidated: false })
    expect(ep.state).toEqual({ requests: 2, aborted: 1, calls: 2, settled: 2 })
    settled(t, ep)
  })

  it('update during the first fetch wins over that fetch', async () => {
    const srv = realtimeServer('update-first')
    const ep = endpoint('todos')
    ep.hold()
    const { client } = testClient(srv, undefined)
    const t = mount(client, ep, { update: (m, qc) => qc.setQueryData(['todos'], { v: `live ${m.data.id}` }) })
    await waitFor(() => expect(ep.held).toBe(1))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))

    srv.emit('todos', { id: 3 })
    await waitFor(() => expect(t.seen.data).toEqual({ v: 'live 3' }))
    ep.release()
    await waitFor(() => expect(ep.state.settled).toBe(1))
    expect(t.queryClient.getQueryData(['todos'])).toEqual({ v: 'live 3' })
    settled(t, ep)
  })

  it('throwing callbacks and keys that are not arrays are typed errors; the stream and the cache go on', async () => {
    const srv = realtimeServer('throws')
    const ep = endpoint('todos')
    const { client } = testClient(srv, undefined)
    const errors: RealtimeError[] = []
    const t = mount(client, ep, {
      onError: (e) => errors.push(e),
      update: (m) => {
        if (m.data.bad) throw new Error('update broke')
      },
      invalidate: (m) => {
        if (m.data.id === 1) throw new Error('invalidate broke')
        if (m.data.id === 2) return ['todos'] as never
        return [['todos']]
      },
    })
    await waitFor(() => expect(t.seen.data).toEqual({ v: 1 }))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))

    srv.emit('todos', { id: 1 })
    srv.emit('todos', { id: 2 })
    srv.emit('todos', { id: 3, bad: true })
    await waitFor(() => expect(t.seen.messages).toBe(3))
    expect(errors.map((e) => [e.kind, e.message, e.id])).toEqual([
      ['parse', "invalidate threw on a 'message' message: Error: invalidate broke", 'todos#1'],
      ['parse', 'a query key must be an array of JSON values, got "todos"', 'todos#2'],
      ['parse', "update threw on a 'message' message: Error: update broke", 'todos#3'],
    ])
    expect(errors.every((e) => e instanceof RealtimeError)).toBe(true)
    // The third message still invalidated (its update threw, its invalidate did not).
    t.frames.settle()
    await waitFor(() => expect(t.seen.data).toEqual({ v: 2 }))
    expect(t.seen.status).toBe('open')
    settled(t, ep)
  })

  it("never calls onlineManager's or focusManager's setEventListener (the app's singletons)", async () => {
    const srv = realtimeServer('managers')
    const ep = endpoint('todos')
    const { client } = testClient(srv, undefined)
    const t = mount(client, ep, { invalidate: () => [['todos']] })
    await waitFor(() => expect(t.seen.data).toEqual({ v: 1 }))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))
    // From here: the QueryClient itself subscribed to them on mount (which sets TanStack's
    // own listener); everything after is the bridge's.
    const online = vi.spyOn(onlineManager, 'setEventListener')
    const focus = vi.spyOn(focusManager, 'setEventListener')
    try {
      srv.emit('todos', { id: 1 })
      await waitFor(() => expect(t.seen.messages).toBe(1))
      t.frames.settle()
      await waitFor(() => expect(t.seen.data).toEqual({ v: 2 }))
      expect(online).not.toHaveBeenCalled()
      expect(focus).not.toHaveBeenCalled()
    } finally {
      online.mockRestore()
      focus.mockRestore()
    }
  })
})

describe('<RealtimeQueryBridge>', () => {
  function mountComponent(client: RealtimeClient, keys?: readonly (readonly unknown[])[]) {
    const queryClient = testQueryClient()
    const frames = manualFrames()
    const errors: RealtimeError[] = []
    const ep = { todos: endpoint('todos'), users: endpoint('users') }
    const data: Record<string, unknown> = {}
    function Lists(): ReactNode {
      data.todos = useQuery({ queryKey: ['todos'], queryFn: ep.todos.queryFn }).data
      data.users = useQuery({ queryKey: ['users', 1], queryFn: ep.users.queryFn }).data
      return null
    }
    render(
      createElement(
        QueryClientProvider,
        { client: queryClient },
        createElement(RealtimeQueryBridge, { client, channel: 'cache', scheduleFrame: frames.schedule, onError: (e) => errors.push(e), keys }),
        createElement(Lists),
      ),
    )
    return { queryClient, frames, errors, ep, data }
  }

  it('{ type: "invalidate", queryKey } frames refetch those queries; malformed frames are protocol errors', async () => {
    const srv = realtimeServer('cache')
    const { client } = testClient(srv, undefined)
    const t = mountComponent(client)
    await waitFor(() => expect(t.data).toEqual({ todos: { v: 1 }, users: { v: 1 } }))
    await waitFor(() => expect(srv.subscribed()).toEqual(['cache']))

    srv.emit('cache', { type: 'invalidate' })
    srv.emit('cache', { type: 'invalidate', queryKey: 'users' })
    srv.emit('cache', 'hello')
    for (let i = 0; i < 100; i++) srv.emit('cache', { type: 'invalidate', queryKey: ['users'] })
    await waitFor(() => expect(t.frames.pending).toBe(1))
    await waitFor(() => expect(t.errors).toHaveLength(3))
    t.frames.settle()
    await waitFor(() => expect(t.data.users).toEqual({ v: 2 }))

    expect(t.errors.map((e) => [e.kind, e.id])).toEqual([
      ['protocol', 'cache#1'],
      ['protocol', 'cache#2'],
      ['protocol', 'cache#3'],
    ])
    expect(t.ep.users.state.requests).toBe(2)
    expect(t.ep.todos.state.requests).toBe(1)
    expect(t.queryClient.isFetching()).toBe(0)
  })

  it('a reset of the channel refetches every query once (missed frames could have named any)', async () => {
    const srv = realtimeServer('cache-reset')
    const { client } = testClient(srv, undefined)
    const t = mountComponent(client)
    await waitFor(() => expect(t.data).toEqual({ todos: { v: 1 }, users: { v: 1 } }))
    await waitFor(() => expect(srv.subscribed()).toEqual(['cache']))

    srv.send({ type: 'reset', channel: 'cache', epoch: 'e2', reason: 'expired', head: '' })
    await waitFor(() => expect(t.frames.pending).toBe(1))
    t.frames.settle()
    await waitFor(() => expect(t.data).toEqual({ todos: { v: 2 }, users: { v: 2 } }))
    expect(t.errors).toEqual([])
    expect(t.queryClient.isFetching()).toBe(0)
  })
})
