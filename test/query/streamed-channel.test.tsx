/**
 * streamedChannel: a realtime channel as a streamed query, with a real QueryClient and the
 * MSW realtime mock. Messages accumulate in order; unmount (the query's signal) lets go of
 * the channel; a reset restarts, continues or ends the stream as `onReset` says; a refused
 * channel fails the query with a typed error.
 */
import { QueryClientProvider, useQuery } from '@tanstack/react-query'
import { render, waitFor } from '@testing-library/react'
import { createElement, type ReactNode } from 'react'
import { describe, expect, it } from 'vitest'
import type { RealtimeClient } from '../../src/core/realtime/client-types'
import { streamedChannel, type StreamedChannelOptions } from '../../src/query/index'
import { realtimeServer, testClient } from '../react/realtime-server'
import { setupQueryHarness, testQueryClient } from './harness'

setupQueryHarness()

type Post = { n: number }

function mountFeed<D = Post[]>(client: RealtimeClient, options?: StreamedChannelOptions<Post, D>) {
  const queryClient = testQueryClient()
  const seen: { data?: D; status?: string; fetchStatus?: string; error?: unknown }[] = []
  function Feed(): ReactNode {
    const q = useQuery({ queryKey: ['feed'], queryFn: streamedChannel<Post, D>(client, 'feed', options) })
    seen.push({ data: q.data, status: q.status, fetchStatus: q.fetchStatus, error: q.error })
    return null
  }
  const view = render(createElement(QueryClientProvider, { client: queryClient }, createElement(Feed)))
  return { view, queryClient, last: () => seen.at(-1)! }
}

describe('streamedChannel', () => {
  it('messages accumulate in the query data in order; the query stays fetching while the channel streams', async () => {
    const srv = realtimeServer('stream-order')
    const { client } = testClient(srv, undefined)
    const feed = mountFeed(client)
    await waitFor(() => expect(srv.subscribed()).toEqual(['feed']))
    expect(feed.last()).toMatchObject({ status: 'pending', fetchStatus: 'fetching' })
    for (let n = 1; n <= 50; n++) srv.emit('feed', { n })
    await waitFor(() => expect(feed.last().data).toHaveLength(50))
    expect(feed.last().data).toEqual(Array.from({ length: 50 }, (_, i) => ({ n: i + 1 })))
    expect(feed.last()).toMatchObject({ status: 'success', fetchStatus: 'fetching' })
    srv.emit('feed', { n: 51 })
    await waitFor(() => expect(feed.last().data?.at(-1)).toEqual({ n: 51 }))
    feed.view.unmount()
  })

  it('a custom reducer folds messages (snapshot included) into its own shape', async () => {
    const srv = realtimeServer('stream-reducer')
    srv.snapshots.set('feed', { n: 100 })
    const { client } = testClient(srv, undefined)
    const feed = mountFeed<number>(client, { reducer: (sum, p, m) => sum + (m.snapshot ? 0 : p.n), initialValue: 0 })
    await waitFor(() => expect(srv.subscribed()).toEqual(['feed']))
    srv.emit('feed', { n: 2 })
    srv.emit('feed', { n: 3 })
    await waitFor(() => expect(feed.last().data).toBe(5))
    feed.view.unmount()
  })

  it('unmount aborts the query signal: the hold is let go and the mock sees unsubscribe after the grace', async () => {
    const srv = realtimeServer('stream-release')
    const { client, grace } = testClient(srv, undefined)
    const feed = mountFeed(client)
    await waitFor(() => expect(srv.subscribed()).toEqual(['feed']))
    srv.emit('feed', { n: 1 })
    await waitFor(() => expect(feed.last().data).toEqual([{ n: 1 }]))
    feed.view.unmount()
    await waitFor(() => expect(grace.pending).toBe(1))
    expect(srv.ops('unsubscribe')).toEqual([])
    grace.expire()
    await waitFor(() => expect(srv.ops('unsubscribe')).toEqual(['unsubscribe feed']))
    expect(srv.subscribed()).toEqual([])
    // Nothing fetches any more: the cancelled stream left the query idle.
    await waitFor(() => expect(feed.queryClient.isFetching()).toBe(0))
  })

  it("a reset restarts the data by default (onReset: 'restart'), in order with the messages after it", async () => {
    const srv = realtimeServer('stream-reset')
    const { client } = testClient(srv, undefined)
    const feed = mountFeed(client)
    await waitFor(() => expect(srv.subscribed()).toEqual(['feed']))
    srv.emit('feed', { n: 1 })
    srv.emit('feed', { n: 2 })
    await waitFor(() => expect(feed.last().data).toEqual([{ n: 1 }, { n: 2 }]))
    srv.send({ type: 'reset', channel: 'feed', reason: 'epoch', epoch: 'e2', head: 'feed#2' })
    srv.emit('feed', { n: 3 })
    await waitFor(() => expect(feed.last().data).toEqual([{ n: 3 }]))
    expect(feed.last().fetchStatus).toBe('fetching')
    feed.view.unmount()
  })

  it("onReset: 'continue' keeps the data; 'end' ends the stream, keeps the data and lets go of the channel", async () => {
    const srv = realtimeServer('stream-reset-modes')
    const { client, grace } = testClient(srv, undefined)
    const kept = mountFeed(client, { onReset: 'continue' })
    await waitFor(() => expect(srv.subscribed()).toEqual(['feed']))
    srv.emit('feed', { n: 1 })
    await waitFor(() => expect(kept.last().data).toEqual([{ n: 1 }]))
    srv.send({ type: 'reset', channel: 'feed', reason: 'expired', epoch: 'e2', head: 'feed#1' })
    srv.emit('feed', { n: 2 })
    await waitFor(() => expect(kept.last().data).toEqual([{ n: 1 }, { n: 2 }]))
    kept.view.unmount()
    grace.expire()
    await waitFor(() => expect(srv.subscribed()).toEqual([]))

    const ended = mountFeed(client, { onReset: 'end' })
    await waitFor(() => expect(srv.subscribed()).toEqual(['feed']))
    srv.emit('feed', { n: 3 })
    await waitFor(() => expect(ended.last().data).toEqual([{ n: 3 }]))
    srv.send({ type: 'reset', channel: 'feed', reason: 'epoch', epoch: 'e3', head: 'feed#3' })
    await waitFor(() => expect(ended.last()).toMatchObject({ status: 'success', fetchStatus: 'idle', data: [{ n: 3 }] }))
    await waitFor(() => expect(grace.pending).toBe(1))
    grace.expire()
    await waitFor(() => expect(srv.subscribed()).toEqual([]))
    ended.view.unmount()
  })

  it("a refused channel fails the query with a typed RealtimeError (kind 'auth')", async () => {
    const srv = realtimeServer('stream-denied')
    srv.deny.add('feed')
    const { client } = testClient(srv, undefined)
    const feed = mountFeed(client)
    await waitFor(() => expect(feed.last().status).toBe('error'))
    expect(feed.last().error).toMatchObject({ name: 'RealtimeError', kind: 'auth' })
    feed.view.unmount()
  })
})
