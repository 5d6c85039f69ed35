import { act, render, waitFor } from '@testing-library/react'
import { http, HttpResponse } from 'msw'
import { StrictMode } from 'react'
import { hydrateRoot, type Root } from 'react-dom/client'
import { renderToString } from 'react-dom/server'
import { describe, expect, it, vi } from 'vitest'
import type { RealtimeMessage } from '../../src/core/connection'
import { useEventSource, type UseEventSourceOptions, type UseEventSourceResult } from '../../src/react/use-event-source'
import {
  dedupe,
  manualFrames,
  manualTimers,
  renderEventSource,
  requests,
  server,
  setupHarness,
  SHARE_MODES,
  type Share,
  sseStream,
  steadyEnvironment,
  testFetch,
  testRegistry,
  uniqueUrl,
} from './harness'

setupHarness()

/** Engine options with a registry whose linger timer the test fires by hand. */
function shared(share: Share, linger = 1000) {
  const lingerTimers = manualTimers()
  const registry = testRegistry({ linger, timers: lingerTimers })
  return { lingerTimers, registry, options: { registry, share, fetch: testFetch, environment: steadyEnvironment } }
}

interface Quote {
  symbol: string
  price: number
}

describe.each(SHARE_MODES)('useEventSource: one connection per stream ($label)', ({ share }) => {
  it('StrictMode double render and double effects make exactly one request', async () => {
    const url = uniqueUrl('strict')
    const stream = sseStream(url, ({ client }) => client.send({ data: 'strict hello' }))
    const { lingerTimers, options } = shared(share)
    const { result, statuses } = renderEventSource(url, options, { wrapper: StrictMode })

    await waitFor(() => expect(result.current.data).toBe('strict hello'))
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
    expect(requests).toHaveLength(1)
    expect(stream.connections).toHaveLength(1)
    // The simulated unmount started a linger and the remount cancelled it.
    expect(lingerTimers.delays()).toEqual([])
    expect(stream.connection(0).clientAborted).toBe(false)
  })

  it('two components with the same url share one connection and both render its data', async () => {
    const url = uniqueUrl('two')
    const stream = sseStream(url, ({ client }) => client.send({ id: '1', data: 'for both' }))
    const { options } = shared(share)
    const seen: Record<string, string[]> = { a: [], b: [] }
    const rendered: Record<string, UseEventSourceResult<string>> = {}
    function Probe({ name }: { name: 'a' | 'b' }) {
      const state = useEventSource(url, { ...options, onMessage: (m) => void seen[name]!.push(m.data) })
      rendered[name] = state
      return <p data-testid={name} data-state={state.status}>{state.data ?? ''}</p>
    }
    const view = render(
      <>
        <Probe name="a" />
        <Probe name="b" />
      </>,
    )
    await waitFor(() => expect(view.getByTestId('b').textContent).toBe('for both'))
    expect(view.getByTestId('a').textContent).toBe('for both')
    expect(view.getByTestId('a').dataset.state).toBe('open')

    stream.connection(0).client.send({ id: '2', data: 'again' })
    await waitFor(() => expect(view.getByTestId('a').textContent).toBe('again'))
    expect(view.getByTestId('b').textContent).toBe('again')
    expect(seen).toEqual({ a: ['for both', 'again'], b: ['for both', 'again'] })
    expect(requests).toHaveLength(1)
  })

  it('unmounting and mounting again within the linger reuses the live connection and renders it at once', async () => {
    const url = uniqueUrl('remount')
    sseStream(url, ({ client }) => client.send({ id: '7', data: 'kept' }))
    const { lingerTimers, options } = shared(share)
    const first = renderEventSource(url, options)
    await waitFor(() => expect(first.result.current.data).toBe('kept'))
    first.unmount()
    expect(lingerTimers.delays()).toEqual([1000])

    const second = renderEventSource(url, options)
    expect(second.renders[0]).toMatchObject({ status: 'open', data: 'kept', lastEventId: '7' })
    expect(second.statuses()).toEqual(['open'])
    expect(lingerTimers.delays()).toEqual([])
    expect(requests).toHaveLength(1)
  })

  it('the last unmount closes the connection only when the linger is over', async () => {
    const url = uniqueUrl('linger')
    const stream = sseStream(url, ({ client }) => client.send({ data: 'bye soon' }))
    const { lingerTimers, options } = shared(share, 250)
    const view = renderEventSource(url, options)
    await waitFor(() => expect(view.result.current.status).toBe('open'))

    view.unmount()
    expect(lingerTimers.delays()).toEqual([250])
    expect(stream.connection(0).clientAborted).toBe(false)
    lingerTimers.run(250)
    expect(stream.connection(0).clientAborted).toBe(true)
  })

  it('re-rendering with equal options written inline (new objects, arrays and callbacks) never reconnects; the newest callbacks apply', async () => {
    const url = uniqueUrl('inline')
    const stream = sseStream<{ message: string; quote: string }>(url, ({ client }) => client.send({ event: 'quote', data: '{"n":1}' }))
    const { registry } = shared(share)
    const calls: string[] = []
    const inline = (label: string): UseEventSourceOptions<{ n: number }> => ({
      registry,
      share,
      fetch: (input, init) => testFetch(input, init),
      environment: { current: () => [], subscribe: () => () => {} },
      json: true,
      events: ['quote'],
      headers: { 'x-client': 'tabwire' },
      initialDelay: 10,
      onMessage: (m) => void calls.push(`${label}:${m.data.n}`),
      onError: () => {},
    })
    const { result, rerender, statuses } = renderEventSource(url, inline('first'))
    await waitFor(() => expect(result.current.data).toEqual({ n: 1 }))

    for (const label of ['second', 'third']) rerender({ url, options: inline(label) })
    stream.connection(0).client.send({ event: 'quote', data: '{"n":2}' })
    await waitFor(() => expect(result.current.data).toEqual({ n: 2 }))

    expect(calls).toEqual(['first:1', 'third:2'])
    expect(requests).toHaveLength(1)
    expect(stream.connection(0).clientAborted).toBe(false)
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
  })

  it('options that are not on the wire (select, equals, callbacks) do not split a stream', async () => {
    const url = uniqueUrl('non-wire')
    sseStream(url, ({ client }) => client.send({ data: 'same stream' }))
    const { options } = shared(share)
    const plain = renderEventSource(url, options)
    const dressed = renderEventSource<string, number>(url, {
      ...options,
      select: (text) => text.length,
      equals: (a, b) => a === b,
      onMessage: () => {},
      onError: () => {},
    })
    await waitFor(() => expect(dressed.result.current.data).toBe('same stream'.length))
    expect(plain.result.current.data).toBe('same stream')
    expect(requests).toHaveLength(1)
  })

  it('enabled: true (the default) does not split a stream from a use that leaves it out', async () => {
    const url = uniqueUrl('enabled-key')
    sseStream(url, ({ client }) => client.send({ data: 'one stream' }))
    const { options } = shared(share)
    const implicit = renderEventSource(url, options)
    const explicit = renderEventSource(url, { ...options, enabled: true })
    await waitFor(() => expect(explicit.result.current.data).toBe('one stream'))
    expect(implicit.result.current.data).toBe('one stream')
    expect(requests).toHaveLength(1)
  })

  it('different wire options are different streams', async () => {
    const url = uniqueUrl('wire')
    const stream = sseStream(url, ({ client }) => client.send({ data: '{"n":5}' }))
    const { options } = shared(share)
    const plain = renderEventSource(url, options)
    const withHeader = renderEventSource(url, { ...options, headers: { 'x-tenant': 'b' } })
    const keyed = renderEventSource(url, { ...options, key: 'kept apart' })
    for (const view of [plain, withHeader, keyed]) await waitFor(() => expect(view.result.current.data).toBe('{"n":5}'))
    expect(stream.connections).toHaveLength(3)
    expect(stream.connections.map((c) => c.request.headers.get('x-tenant'))).toEqual([null, 'b', null])
  })

  // README, "A stream's identity is what reaches the wire, and only that".
  it('options that only decode (json) do not split a stream: one connection, decoded the way the component that rendered last decodes', async () => {
    const url = uniqueUrl('decode-only')
    const stream = sseStream(url, ({ client }) => client.send({ id: '1', data: '{"n":5}' }))
    const { options } = shared(share)
    const raw = renderEventSource<unknown>(url, options)
    const parsed = renderEventSource<unknown>(url, { ...options, json: true })
    await waitFor(() => expect(parsed.result.current.status).toBe('open'))
    expect(stream.connections).toHaveLength(1)
    // Sent once both components are there: `parsed` rendered last.
    stream.connection(0).client.send({ id: '2', data: '{"n":6}' })
    await waitFor(() => expect(parsed.result.current.lastEventId).toBe('2'))
    expect(parsed.result.current.data).toEqual({ n: 6 })
    expect(raw.result.current.data).toEqual({ n: 6 })
  })

  it('changing the url moves to the new stream at once; the old one closes after the linger', async () => {
    const oldUrl = uniqueUrl('move-from')
    const newUrl = uniqueUrl('move-to')
    const oldStream = sseStream(oldUrl, ({ client }) => client.send({ data: 'old' }))
    const newStream = sseStream(newUrl, ({ client }) => client.send({ data: 'new' }))
    const { lingerTimers, options } = shared(share, 500)
    const { result, rerender, statuses } = renderEventSource(oldUrl, options)
    await waitFor(() => expect(result.current.data).toBe('old'))

    rerender({ url: newUrl, options })
    expect(result.current.status).toBe('connecting')
    await waitFor(() => expect(result.current.data).toBe('new'))
    expect(newStream.connections).toHaveLength(1)
    expect(lingerTimers.delays()).toEqual([500])
    expect(oldStream.connection(0).clientAborted).toBe(false)

    lingerTimers.run(500)
    expect(oldStream.connection(0).clientAborted).toBe(true)
    expect(newStream.connection(0).clientAborted).toBe(false)
    expect(result.current.status).toBe('open')
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'idle', 'connecting', 'open'])
    expect(requests.map((r) => r.url)).toEqual([oldUrl, newUrl])
  })
})

describe('useEventSource: share modes', () => {
  it("share: false gives each component a connection of its own; 'tab' and 'tabs' are two streams", async () => {
    const url = uniqueUrl('share')
    const stream = sseStream(url, ({ client }) => client.send({ data: 'hi' }))
    const { options } = shared(undefined)
    const own = [renderEventSource(url, { ...options, share: false }), renderEventSource(url, { ...options, share: false })]
    const tab = [renderEventSource(url, { ...options, share: 'tab' }), renderEventSource(url, { ...options, share: 'tab' })]
    // 'tabs' (the default) is one connection for the browser, here led by this tab.
    const tabs = [renderEventSource(url, options), renderEventSource(url, { ...options, share: 'tabs' })]
    for (const { result } of [...own, ...tab, ...tabs]) await waitFor(() => expect(result.current.data).toBe('hi'))
    expect(stream.connections).toHaveLength(4)
    // close() from one component of its own stops only that one.
    act(() => own[0]!.result.current.close())
    expect(own.map((o) => o.result.current.status)).toEqual(['closed', 'open'])
    expect(tab[0]!.result.current.status).toBe('open')
  })
})

/**
 * Issue 9, item 1: a stream's connection read `headers`, `parse` and `onAuthError` through
 * the refs of the component that created its registry entry, which follow that component
 * to another stream and outlive its unmount. These fail on the code before the adapter
 * rebuild: the creator's callbacks answer for the stream it left.
 */
describe.each(SHARE_MODES)('useEventSource: the callbacks of a component that left are not used (issue 9, item 1) ($label)', ({ share }) => {
  const departures = ['unmounts', 'moves to another stream'] as const
  type Departure = (typeof departures)[number]

  /**
   * Two components on one stream, `creator` rendered first (it creates the registry entry),
   * with hand-cranked engine timers (the first retry waits 50 ms).
   */
  function twoHolders(departure: Departure, creatorOptions: UseEventSourceOptions<string>, remainingOptions: UseEventSourceOptions<string>) {
    const url = uniqueUrl('holders')
    const elsewhere = uniqueUrl('elsewhere')
    const stream = sseStream(url, ({ client }, n) => client.send({ id: `${n + 1}`, data: `connection ${n + 1}` }))
    sseStream(elsewhere, ({ client }) => client.send({ data: 'elsewhere' }))
    const timers = manualTimers()
    const base = { ...shared(share).options, timers, random: () => 0.5, initialDelay: 100 }
    const creator = renderEventSource(url, { ...base, ...creatorOptions })
    const remaining = renderEventSource(url, { ...base, ...remainingOptions })
    return {
      url,
      base,
      stream,
      timers,
      remaining,
      /** The creator unmounts, or renders on another stream (its callbacks unchanged). */
      leave() {
        if (departure === 'unmounts') creator.unmount()
        else creator.rerender({ url: elsewhere, options: { ...base, ...creatorOptions } })
      },
      /** The server drops the connection; the retry goes out. */
      async drop() {
        stream.connection(stream.connections.length - 1).client.close()
        await waitFor(() => expect(remaining.result.current.status).toBe('reconnecting'))
        act(() => void timers.run(50))
      },
    }
  }

  it.each(departures)('headers: once the creator %s, the retry carries the remaining component’s refreshed token', async (departure) => {
    const headers = (token: string) => () => ({ authorization: `Bearer ${token}` })
    const { url, base, stream, remaining, leave, drop } = twoHolders(departure, { headers: headers('creator') }, { headers: headers('remaining-1') })
    await waitFor(() => expect(remaining.result.current.data).toBe('connection 1'))
    leave()
    remaining.rerender({ url, options: { ...base, headers: headers('remaining-2') } })

    await drop()
    await waitFor(() => expect(stream.connections).toHaveLength(2))
    expect(stream.connection(1).request.headers.get('authorization')).toBe('Bearer remaining-2')
    await waitFor(() => expect(remaining.result.current.data).toBe('connection 2'))
  })

  it.each(departures)('parse: once the creator %s, messages are read by the remaining component’s parse', async (departure) => {
    const got: string[] = []
    const { stream, remaining, leave } = twoHolders(
      departure,
      { parse: (data) => `creator read ${String(data)}` },
      { parse: (data) => `remaining read ${String(data)}`, onMessage: (m) => void got.push(m.data) },
    )
    await waitFor(() => expect(got).toHaveLength(1))
    leave()
    stream.connection(0).client.send({ id: '2', data: 'two' })
    await waitFor(() => expect(got).toHaveLength(2))
    expect(got[1]).toBe('remaining read two')
    await waitFor(() => expect(remaining.result.current.lastEventId).toBe('2'))
    expect(remaining.result.current.data).toBe('remaining read two')
  })

  it.each(departures)('onAuthError: once the creator %s, a 401 asks the remaining component', async (departure) => {
    const creatorAuth = vi.fn(async () => true)
    const remainingAuth = vi.fn(async () => true)
    const { url, remaining, leave, drop } = twoHolders(departure, { onAuthError: creatorAuth }, { onAuthError: remainingAuth })
    await waitFor(() => expect(remaining.result.current.data).toBe('connection 1'))
    leave()
    server.use(http.get(url, () => new HttpResponse(null, { status: 401 }), { once: true }))

    await drop()
    await waitFor(() => expect(creatorAuth.mock.calls.length + remainingAuth.mock.calls.length).toBe(1))
    expect(creatorAuth).not.toHaveBeenCalled()
    expect(remainingAuth).toHaveBeenCalledTimes(1)
  })
})

describe.each(SHARE_MODES)('useEventSource: rendering under load ($label)', ({ share }) => {
  it('a flood of 1000 events reaches onMessage whole and in order, but renders once per flushed frame', async () => {
    const url = uniqueUrl('flood')
    const stream = sseStream(url)
    const frames = manualFrames()
    const ids: string[] = []
    const { result, renders } = renderEventSource(url, {
      ...shared(share).options,
      scheduleFrame: frames.scheduleFrame,
      onMessage: (m: RealtimeMessage<string>) => void ids.push(m.id!),
    })
    await waitFor(() => expect(result.current.status).toBe('open'))
    const before = renders.length

    const client = stream.connection(0).client
    for (let i = 1; i <= 1000; i++) client.send({ id: `${i}`, data: `event ${i}` })
    await waitFor(() => expect(ids).toHaveLength(1000))

    expect(ids).toEqual(Array.from({ length: 1000 }, (_, i) => `${i + 1}`))
    // Nothing rendered yet: the data change waits for the frame, and one frame is enough.
    expect(renders.length).toBe(before)
    expect(frames.pending).toBe(1)
    act(() => frames.flush())
    expect(renders.length).toBe(before + 1)
    expect(result.current).toMatchObject({ status: 'open', data: 'event 1000', lastEventId: '1000' })

    // Bursts between frames: one render per frame, whatever the burst size.
    for (const burst of [1, 10, 250]) {
      const start = ids.length
      for (let i = 1; i <= burst; i++) client.send({ id: `${start + i}`, data: `event ${start + i}` })
      await waitFor(() => expect(ids).toHaveLength(start + burst))
      const rendersBefore = renders.length
      act(() => frames.flush())
      expect(renders.length - rendersBefore).toBe(1)
      expect(result.current.data).toBe(`event ${start + burst}`)
    }
    expect(frames.pending).toBe(0)
  })

  it('a status change renders at once, without waiting for a frame, and brings the pending data with it', async () => {
    const url = uniqueUrl('urgent')
    const stream = sseStream(url)
    const frames = manualFrames()
    const timers = manualTimers()
    const ids: string[] = []
    const { result, statuses } = renderEventSource(url, {
      ...shared(share).options,
      timers,
      random: () => 0.5,
      initialDelay: 100,
      scheduleFrame: frames.scheduleFrame,
      onMessage: (m) => void ids.push(m.id!),
    })
    // The first status changes need no frame at all.
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(frames.pending).toBe(0)

    for (let i = 1; i <= 20; i++) stream.connection(0).client.send({ id: `${i}`, data: `event ${i}` })
    await waitFor(() => expect(ids).toHaveLength(20))
    expect(result.current.data).toBeUndefined()
    expect(frames.pending).toBe(1)

    stream.connection(0).client.close()
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    expect(result.current).toMatchObject({ data: 'event 20', lastEventId: '20' })
    expect(frames.pending).toBe(0)
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'reconnecting'])
  })

  it('select + equals: re-renders only when the selected value changes', async () => {
    const url = uniqueUrl('select')
    const stream = sseStream<{ message: Quote }>(url)
    const frames = manualFrames()
    const received: number[] = []
    const equals = vi.fn((a: { price: number }, b: { price: number }) => a.price === b.price)
    const { result, renders } = renderEventSource<Quote, { price: number }>(url, {
      ...shared(share).options,
      json: true,
      scheduleFrame: frames.scheduleFrame,
      select: (quote) => ({ price: quote.price }),
      equals,
      onMessage: (m) => void received.push(m.data.price),
    })
    await waitFor(() => expect(result.current.status).toBe('open'))
    const before = renders.length

    // One message per frame; the symbol changes every time, the price only sometimes.
    const prices = [10, 10, 20, 20, 20, 10, 30]
    for (const [i, price] of prices.entries()) {
      stream.connection(0).client.send({ data: { symbol: `S${i}`, price } })
      await waitFor(() => expect(received).toHaveLength(i + 1))
      act(() => frames.flush())
    }

    const dataRenders = renders.slice(before).map((r) => r.data?.price)
    expect(dataRenders).toEqual([10, 20, 10, 30])
    expect(equals).toHaveBeenCalled()
    expect(result.current.data).toEqual({ price: 30 })
  })

  it('select + equals: messages that carry event ids do not re-render when the selection is unchanged', async () => {
    const url = uniqueUrl('select-ids')
    const stream = sseStream<{ message: Quote }>(url)
    const frames = manualFrames()
    const received: number[] = []
    const { result, renders } = renderEventSource<Quote, number>(url, {
      ...shared(share).options,
      json: true,
      scheduleFrame: frames.scheduleFrame,
      select: (quote) => quote.price,
      onMessage: (m) => void received.push(m.data.price),
    })
    await waitFor(() => expect(result.current.status).toBe('open'))
    const before = renders.length

    const prices = [10, 10, 20, 20]
    for (const [i, price] of prices.entries()) {
      stream.connection(0).client.send({ id: `${i + 1}`, data: { symbol: 'ACME', price } })
      await waitFor(() => expect(received).toHaveLength(i + 1))
      act(() => frames.flush())
    }

    expect(renders.slice(before).map((r) => r.data)).toEqual([10, 20])
  })

  it('a new select function applies on the render that passes it, without waiting for the next message', async () => {
    const url = uniqueUrl('select-change')
    sseStream<{ message: Record<string, number> }>(url, ({ client }) => client.send({ data: { ACME: 1, INIT: 2 } }))
    const { options } = shared(share)
    const pick = (symbol: string): UseEventSourceOptions<Record<string, number>, number> => ({
      ...options,
      json: true,
      select: (prices) => prices[symbol]!,
    })
    const { result, rerender } = renderEventSource(url, pick('ACME'))
    await waitFor(() => expect(result.current.data).toBe(1))

    rerender({ url, options: pick('INIT') })
    expect(result.current.data).toBe(2)
  })
})

describe.each(SHARE_MODES)('useEventSource: server rendering and hydration ($label)', ({ share }) => {
  it('hydrates server HTML rendered as idle without a mismatch, then connects', async () => {
    const url = uniqueUrl('hydrate')
    sseStream(url, ({ client }) => client.send({ data: 'live' }))
    const { options } = shared(share)
    const statuses: string[] = []
    function Ticker() {
      const { status, data } = useEventSource(url, options)
      statuses.push(status)
      return <p data-state={status}>{data ?? 'none'}</p>
    }
    const container = document.createElement('div')
    container.innerHTML = renderToString(<Ticker />)
    expect(container.innerHTML).toBe('<p data-state="idle">none</p>')
    expect(requests).toHaveLength(0)
    document.body.appendChild(container)

    let root: Root | undefined
    const recoverable: unknown[] = []
    await act(async () => {
      root = hydrateRoot(container, <Ticker />, { onRecoverableError: (error) => void recoverable.push(error) })
    })
    try {
      await waitFor(() => expect(container.innerHTML).toBe('<p data-state="open">live</p>'))
      expect(recoverable).toEqual([])
      expect(dedupe(statuses)).toEqual(['idle', 'connecting', 'open'])
      expect(requests).toHaveLength(1)
    } finally {
      act(() => root!.unmount())
      container.remove()
    }
  })
})

it('dedupe keeps the first of each run of equal values', () => {
  expect(dedupe(['idle', 'idle', 'connecting', 'open', 'open', 'reconnecting', 'open'])).toEqual([
    'idle',
    'connecting',
    'open',
    'reconnecting',
    'open',
  ])
})
