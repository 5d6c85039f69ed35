/**
 * useRealtime over a real createRealtime client, against a tiny realtime server on MSW's
 * ws.link (realtime-server.ts), in the default share mode ('tabs', over the real lock
 * manager and BroadcastChannel of test/setup/browser-tabs.ts) and in 'tab'. The client's
 * grace timer is held for the test to run, so "only after the grace" needs no sleep.
 */
import { act, render, waitFor } from '@testing-library/react'
import { createElement, useEffect } from 'react'
import { renderToString } from 'react-dom/server'
import { describe, expect, it, vi } from 'vitest'
import { createRealtime } from '../../src/core/realtime/client'
import type { ChannelMessage, ChannelReset } from '../../src/core/realtime/client-types'
import type { RealtimeError } from '../../src/core/errors'
import { RealtimeProvider } from '../../src/react/realtime-provider'
import { type Publish, useRealtime } from '../../src/react/use-realtime'
import { manualFrames, SHARE_MODES, setupHarness } from './harness'
import { realtimeServer, renderRealtime, testClient } from './realtime-server'

setupHarness()

type Quote = { symbol: string; price: number }

describe.each(SHARE_MODES)('useRealtime ($label)', ({ share }) => {
  it('idle → connecting → open; the snapshot, then events, in data and onMessage', async () => {
    const srv = realtimeServer('basic')
    srv.snapshots.set('prices:ACME', { symbol: 'ACME', price: 1 })
    const { client } = testClient(srv, share)
    const onMessage = vi.fn<(m: ChannelMessage<Quote>) => void>()
    const view = renderRealtime<Quote>(client, 'prices:ACME', { onMessage })

    await waitFor(() => expect(view.result).toMatchObject({ status: 'open', data: { price: 1 }, transport: 'websocket' }))
    srv.emit('prices:ACME', { symbol: 'ACME', price: 2 })
    await waitFor(() => expect(view.result.data).toEqual({ symbol: 'ACME', price: 2 }))

    expect(view.result).toMatchObject({ status: 'open', error: null, reset: null, attempt: 0, lastEventId: 'prices:ACME#1' })
    expect(view.statuses()).toEqual(['idle', 'connecting', 'open'])
    expect(onMessage.mock.calls.map(([m]) => [m.channel, m.data, m.id, m.snapshot])).toEqual([
      ['prices:ACME', { symbol: 'ACME', price: 1 }, undefined, true],
      ['prices:ACME', { symbol: 'ACME', price: 2 }, 'prices:ACME#1', false],
    ])
    expect(srv.connections).toHaveLength(1)
    expect(srv.ops('subscribe', 'unsubscribe')).toEqual(['subscribe prices:ACME'])
  })

  it('a flood of 1,000 messages reaches onMessage whole and in order, renders once per frame, and not at all when the selection is equal', async () => {
    const srv = realtimeServer('flood')
    const frames = manualFrames()
    const { client } = testClient(srv, share, { scheduleFrame: frames.scheduleFrame })
    const prices: number[] = []
    const view = renderRealtime<Quote, unknown, { price: number }>(client, 'prices:X', {
      // A new object per message: `equals` tells when it is the same.
      select: (q) => ({ price: q.price }),
      equals: (a, b) => a.price === b.price,
      onMessage: (m) => void prices.push(m.data.price),
    })
    await waitFor(() => expect(view.result.status).toBe('open'))
    await waitFor(() => expect(srv.subscribed()).toEqual(['prices:X']))
    const before = view.renders.length

    for (let i = 1; i <= 1000; i++) srv.emit('prices:X', { symbol: 'X', price: i })
    await waitFor(() => expect(prices).toHaveLength(1000))
    expect(prices).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
    expect(view.renders.length).toBe(before)
    act(() => frames.flush())
    expect(view.renders.length).toBe(before + 1)
    expect(view.result).toMatchObject({ status: 'open', data: { price: 1000 } })

    // Another 1,000 with the same price: new data and event ids, an equal selection.
    for (let i = 1; i <= 1000; i++) srv.emit('prices:X', { symbol: 'X', price: 1000 })
    await waitFor(() => expect(prices).toHaveLength(2000))
    act(() => frames.flush())
    expect(view.renders.length).toBe(before + 1)
    srv.emit('prices:X', { symbol: 'X', price: 1001 })
    await waitFor(() => expect(prices).toHaveLength(2001))
    act(() => frames.flush())
    expect(view.renders.length).toBe(before + 2)
    expect(view.result.data).toEqual({ price: 1001 })
  })

  it('two components on one channel: one subscribe frame, both get the data', async () => {
    const srv = realtimeServer('two')
    const { client } = testClient(srv, share)
    const a = renderRealtime<string>(client, 'room')
    const b = renderRealtime<string>(client, 'room')
    await waitFor(() => expect(srv.subscribed()).toEqual(['room']))
    srv.emit('room', 'hello')
    await waitFor(() => expect([a.result.data, b.result.data]).toEqual(['hello', 'hello']))
    expect(srv.ops('subscribe', 'unsubscribe')).toEqual(['subscribe room'])
    expect(srv.connections).toHaveLength(1)
  })

  it('unmount unsubscribes only after the grace; a remount within it neither unsubscribes nor subscribes again', async () => {
    const srv = realtimeServer('grace')
    const { client, grace } = testClient(srv, share)
    const first = renderRealtime<string>(client, 'room')
    await waitFor(() => expect(srv.subscribed()).toEqual(['room']))
    first.unmount()
    expect(grace.pending).toBe(1)

    const again = renderRealtime<string>(client, 'room')
    expect(grace.pending).toBe(0)
    srv.emit('room', 'still here')
    await waitFor(() => expect(again.result.data).toBe('still here'))
    again.unmount()
    expect(srv.ops('subscribe', 'unsubscribe')).toEqual(['subscribe room'])

    act(() => grace.expire())
    await waitFor(() => expect(srv.ops('subscribe', 'unsubscribe')).toEqual(['subscribe room', 'unsubscribe room']))
    expect(srv.subscribed()).toEqual([])
    expect(client.peek('room')).toBeUndefined()
  })

  it('StrictMode’s double mount does not unsubscribe on the wire', async () => {
    const srv = realtimeServer('strict')
    const { client, grace } = testClient(srv, share)
    const view = renderRealtime<string>(client, 'room', {}, { strict: true })
    await waitFor(() => expect(view.result.status).toBe('open'))
    await waitFor(() => expect(srv.subscribed()).toEqual(['room']))
    expect(grace.pending).toBe(0)
    srv.emit('room', 'after the remount')
    await waitFor(() => expect(view.result.data).toBe('after the remount'))
    expect(srv.ops('subscribe', 'unsubscribe')).toEqual(['subscribe room'])
  })

  it('a new channel prop: subscribes the new one, unsubscribes the old after the grace; inline options never resubscribe', async () => {
    const srv = realtimeServer('switch')
    const { client, grace } = testClient(srv, share)
    const seen: string[] = []
    const view = renderRealtime<string>(client, 'a', { onMessage: (m) => void seen.push(`1 ${m.data}`) })
    await waitFor(() => expect(srv.subscribed()).toEqual(['a']))
    const publishA = view.result.publish
    view.rerender({ channel: 'a', options: { onMessage: (m) => void seen.push(`2 ${m.data}`), select: (s) => s } })
    expect(view.result.publish).toBe(publishA)
    srv.emit('a', 'x')
    await waitFor(() => expect(seen).toEqual(['2 x']))

    view.rerender({ channel: 'b', options: { onMessage: (m) => void seen.push(`3 ${m.data}`) } })
    expect(view.result.publish).not.toBe(publishA)
    await waitFor(() => expect(srv.subscribed()).toEqual(['a', 'b']))
    srv.emit('b', 'y')
    await waitFor(() => expect(view.result.data).toBe('y'))
    act(() => grace.expire())
    await waitFor(() => expect(srv.subscribed()).toEqual(['b']))
    expect(srv.ops('subscribe', 'unsubscribe')).toEqual(['subscribe a', 'subscribe b', 'unsubscribe a'])
    expect(seen).toEqual(['2 x', '3 y'])
  })

  it('publish: sent once open, the ack promise gives the server’s id, and the event comes back', async () => {
    const srv = realtimeServer('publish')
    const { client } = testClient(srv, share)
    const said: string[] = []
    const view = renderRealtime<{ text: string }, { text: string }>(client, 'room:lobby', { onMessage: (m) => void said.push(m.data.text) })
    await waitFor(() => expect(view.result.status).toBe('open'))
    await waitFor(() => expect(srv.subscribed()).toEqual(['room:lobby']))

    expect(view.result.publish({ text: 'hi' })).toBe('sent')
    await expect(view.result.publish({ text: 'again' }, { ack: true })).resolves.toBe('room:lobby#2')
    await waitFor(() => expect(said).toEqual(['hi', 'again']))
    expect(srv.frames.filter((f) => f.type === 'publish').map((f) => f.type === 'publish' && f.data)).toEqual([{ text: 'hi' }, { text: 'again' }])
    expect(view.renders[0]!.publish).toBe(view.result.publish)
  })

  it('a publish before the component subscribed (a child’s effect) still goes out, once', async () => {
    const srv = realtimeServer('early')
    const { client } = testClient(srv, share)
    const results: unknown[] = []
    function Child({ publish }: { publish: Publish<string> }) {
      useEffect(() => void results.push(publish('early')), [publish])
      return null
    }
    function Parent() {
      const { data, publish } = useRealtime<string, string>('room', { client })
      return createElement('p', null, data ?? '…', createElement(Child, { publish }))
    }
    const view = render(createElement(Parent))
    await waitFor(() => expect(view.container.textContent).toBe('early'))
    expect(results).toHaveLength(1)
    expect(['sent', 'queued']).toContain(results[0])
    expect(srv.ops('publish', 'unsubscribe')).toEqual(['publish room'])
    expect(srv.subscribed()).toEqual(['room'])
  })

  it('a reset frame: reset in the snapshot, onReset once', async () => {
    const srv = realtimeServer('reset')
    const { client } = testClient(srv, share)
    const onReset = vi.fn<(r: ChannelReset) => void>()
    const view = renderRealtime<string>(client, 'feed', { onReset })
    await waitFor(() => expect(srv.subscribed()).toEqual(['feed']))
    srv.send({ type: 'reset', channel: 'feed', epoch: 'e2', reason: 'epoch', head: 'feed#0' })
    const reset = { channel: 'feed', epoch: 'e2', reason: 'epoch' }
    await waitFor(() => expect(view.result.reset).toEqual(reset))
    expect(onReset.mock.calls).toEqual([[reset]])
    expect(view.result).toMatchObject({ status: 'open', error: null })
  })

  it('the server refuses one channel (unauthorized): an auth error there only', async () => {
    const srv = realtimeServer('auth')
    srv.deny.add('secret')
    const { client } = testClient(srv, share)
    const errors = { secret: [] as RealtimeError[], open: [] as RealtimeError[] }
    const secret = renderRealtime<string>(client, 'secret', { onError: (e) => void errors.secret.push(e) })
    const open = renderRealtime<string>(client, 'open', { onError: (e) => void errors.open.push(e) })
    await waitFor(() => expect(secret.result.error?.kind).toBe('auth'))
    await waitFor(() => expect(srv.subscribed()).toEqual(['open']))
    srv.emit('open', 'fine')
    await waitFor(() => expect(open.result.data).toBe('fine'))
    expect(open.result).toMatchObject({ status: 'open', error: null })
    expect(secret.result).toMatchObject({ status: 'open', error: { kind: 'auth' } })
    expect(errors.secret.map((e) => e.kind)).toEqual(['auth'])
    expect(errors.open).toEqual([])
  })

  it('enabled: false and a null channel hold nothing and render idle; publish is rejected', async () => {
    const srv = realtimeServer('off')
    const { client } = testClient(srv, share)
    const off = renderRealtime<string, string>(client, 'room', { enabled: false })
    const none = renderRealtime<string, string>(client, null)
    for (const view of [off, none]) {
      expect(view.result).toMatchObject({ status: 'idle', data: undefined, error: null })
      expect(view.result.publish('x')).toBe('rejected')
      await expect(view.result.publish('x', { ack: true })).rejects.toMatchObject({ kind: 'ended' })
    }
    expect(client.peek('room')).toBeUndefined()
    expect(client.getSnapshot().status).toBe('idle')
    expect(srv.connections).toHaveLength(0)
  })
})

describe('useRealtime across tabs', () => {
  it.each(SHARE_MODES)('two tabs on different channels ($label)', async ({ share }) => {
    const srv = realtimeServer('tabs')
    const a = renderRealtime<string>(testClient(srv, share).client, 'a')
    const b = renderRealtime<string, string>(testClient(srv, share).client, 'b')
    await waitFor(() => expect(srv.subscribed()).toEqual(['a', 'b']))
    srv.emit('a', 'for a')
    srv.emit('b', 'for b')
    await waitFor(() => expect([a.result.data, b.result.data]).toEqual(['for a', 'for b']))
    expect([a.result.status, b.result.status]).toEqual(['open', 'open'])
    expect([a.result.transport, b.result.transport]).toEqual(['websocket', 'websocket'])
    // The second tab's publish (through the first tab's socket by default) is acknowledged to it, once.
    await expect(b.result.publish('from b', { ack: true })).resolves.toBe('b#2')
    await waitFor(() => expect(b.result.data).toBe('from b'))
    expect(srv.ops('publish')).toEqual(['publish b'])
    // The default: one WebSocket for the browser, subscribing the union; 'tab': one each.
    expect(srv.connections).toHaveLength(share === 'tab' ? 2 : 1)
  })
})

it('server rendering renders idle and connects nothing', () => {
  const WebSocket = vi.fn()
  const client = createRealtime({ url: 'ws://localhost/ssr', WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, transport: 'websocket', storage: null })
  function Probe() {
    const { status, data } = useRealtime<string>('room', { select: (s) => s.toUpperCase() })
    return createElement('p', null, `${status}:${data ?? ''}`)
  }
  expect(renderToString(createElement(RealtimeProvider, { client }, createElement(Probe)))).toBe('<p>idle:</p>')
  expect(WebSocket).not.toHaveBeenCalled()
  expect(client.peek('room')).toBeUndefined()
  expect(client.getSnapshot().status).toBe('idle')
})
