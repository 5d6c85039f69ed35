/**
 * useQueryBridge's handlers in the other hooks (useWebSocket over MSW's `ws.link`), in
 * StrictMode, and what an unmount does with invalidations still gathered.
 */
import { QueryClientProvider, useQuery } from '@tanstack/react-query'
import { render, waitFor } from '@testing-library/react'
import { createElement, type ReactNode, StrictMode } from 'react'
import { describe, expect, it } from 'vitest'
import { createRegistry } from '../../src/core/registry'
import { useWebSocket } from '../../src/react/use-web-socket'
import { useQueryBridge, useRealtimeQueryBridge } from '../../src/query/index'
import { realtimeServer, testClient } from '../react/realtime-server'
import { wsServer, wsUrl } from '../react/ws-harness'
import { endpoint, manualFrames, setupQueryHarness, testQueryClient } from './harness'

setupQueryHarness()

type Quote = { symbol: string; price: number }

describe('useQueryBridge in useWebSocket', () => {
  it('update writes each quote in place (StrictMode); an older fetch in flight never lands over it', async () => {
    const url = wsUrl('quotes')
    const srv = wsServer(url)
    const ep = endpoint('quote')
    const queryClient = testQueryClient()
    const registry = createRegistry({ linger: 0 })
    const seen: { data?: unknown; status?: string } = {}
    function Quotes(): ReactNode {
      seen.data = useQuery({ queryKey: ['quote', 'ACME'], queryFn: ep.queryFn }).data
      const bridge = useQueryBridge<Quote>({ update: (m, qc) => qc.setQueryData(['quote', m.data.symbol], { v: m.data.price }) })
      seen.status = useWebSocket<Quote>(url, { json: true, share: 'tab', registry, ...bridge }).status
      return null
    }
    const view = render(createElement(StrictMode, null, createElement(QueryClientProvider, { client: queryClient }, createElement(Quotes))))
    await waitFor(() => expect(seen).toEqual({ data: { v: 1 }, status: 'open' }))

    // StrictMode's first unmount cancels the first fetch (its signal was read): count from here.
    await waitFor(() => expect(ep.state.settled).toBe(ep.state.calls))
    const before = ep.state.settled
    ep.hold()
    void queryClient.refetchQueries({ queryKey: ['quote'] })
    await waitFor(() => expect(ep.held).toBe(1))
    srv.connection(srv.connections.length - 1).client.send(JSON.stringify({ symbol: 'ACME', price: 42 }))
    await waitFor(() => expect(seen.data).toEqual({ v: 42 }))
    ep.release()
    await waitFor(() => expect(ep.state.settled).toBe(before + 1))
    expect(queryClient.getQueryData(['quote', 'ACME'])).toEqual({ v: 42 })
    expect(queryClient.isFetching()).toBe(0)
    view.unmount()
  })
})

describe('useRealtimeQueryBridge', () => {
  it('holds its channel while mounted; invalidations still gathered at unmount are sent, not dropped', async () => {
    const srv = realtimeServer('hold')
    const { client, grace } = testClient(srv, undefined)
    const ep = endpoint('todos')
    const queryClient = testQueryClient()
    const frames = manualFrames()
    const data: unknown[] = []
    function Todos(): ReactNode {
      data.push(useQuery({ queryKey: ['todos'], queryFn: ep.queryFn }).data)
      return null
    }
    function Bridge(): ReactNode {
      useRealtimeQueryBridge<{ id: number }>(client, 'todos', { invalidate: () => [['todos']], scheduleFrame: frames.schedule })
      return null
    }
    const tree = (bridge: boolean) => createElement(QueryClientProvider, { client: queryClient }, createElement(Todos), bridge && createElement(Bridge))
    const view = render(tree(true))
    await waitFor(() => expect(srv.subscribed()).toEqual(['todos']))
    await waitFor(() => expect(data.at(-1)).toEqual({ v: 1 }))

    srv.emit('todos', { id: 1 })
    await waitFor(() => expect(frames.pending).toBe(1))
    view.rerender(tree(false))
    expect(frames.pending).toBe(0)
    await waitFor(() => expect(data.at(-1)).toEqual({ v: 2 }))
    expect(ep.state.requests).toBe(2)

    // The hold is let go (after the client's grace): nothing else holds the channel.
    grace.expire()
    await waitFor(() => expect(srv.subscribed()).toEqual([]))
  })
})
