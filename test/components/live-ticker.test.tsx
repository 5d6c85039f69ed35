/**
 * <LiveTicker> fed by the real hooks over the tabwire/testing mocks (mockSseHandler,
 * mockWebSocketHandler, mockRealtimeHandler), each in a simulated tab (createTabs(1): the
 * default share mode on the tab's own locks and channels), with hand-cranked frames and
 * timers: every status, a flood (commits ≤ frames, only changed rows render), reset, bad
 * payloads, hostile text, keyboard, motion, the summary, and axe in each state.
 */
import { act, render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { Profiler, useCallback, useEffect } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { LiveTicker, type LiveTickerProps, type Ticker, type TickerOptions, useTicker } from '../../src/components/index'
import { useEventSource, useRealtime, useWebSocket } from '../../src/index'
import { createMemoryLog, mockRealtimeHandler, mockSseHandler, mockWebSocketHandler } from '../../src/testing/index'
import { type ManualFrames, manualFrames, type ManualTimers, manualTimers } from '../react/harness'
import { expectNoAxeViolations } from './axe'
import { server, setupKit } from './kit'

const kit = setupKit()

// One fixed url per endpoint, as an app has (MSW 3 keeps a listener per ws.link url); each
// test makes a fresh mock and fresh tabs.
const SSE_URL = 'http://localhost/ticker'
const WS_URL = 'ws://localhost/ticker-ws'
const RT_URL = 'http://localhost/ticker-rt'

const quote = (symbol: string, value: number) => JSON.stringify({ symbol, value })

interface Rig {
  frames: ManualFrames
  timers: ManualTimers
  commits: number
  ticker?: Ticker<unknown>
  received: number
  /** The ticker's clock (ms). */
  time: number
}

function rig(): Rig {
  return { frames: manualFrames(), timers: manualTimers(), commits: 0, received: 0, time: 60_000 }
}

/** An app's panel: a ticker fed by useEventSource, rendered in a Profiler that counts commits. */
function SsePanel({ r, enabled = true, props = {}, options = {} }: { r: Rig; enabled?: boolean; props?: Partial<LiveTickerProps>; options?: TickerOptions<unknown> }) {
  const ticker = useTicker<unknown>({ scheduleFrame: r.frames.scheduleFrame, timers: r.timers, now: () => r.time, ...options })
  r.ticker = ticker
  const onMessage = useCallback((m: { data: unknown }) => {
    r.received++
    ticker.onMessage(m)
  }, [ticker, r])
  const quotes = useEventSource<unknown>(SSE_URL, { json: true, enabled, timers: r.timers, scheduleFrame: r.frames.scheduleFrame, onMessage })
  return (
    <Profiler id="panel" onRender={() => void r.commits++}>
      <div data-status={quotes.status}>
        <LiveTicker ticker={ticker} source={quotes} label="Quotes" formatTime={(t) => `T${t}`} reducedMotion={false} {...props} />
      </div>
    </Profiler>
  )
}

const root = (container: HTMLElement) => container.querySelector('[data-tabwire-ticker]')!
/** The stream's status, as the hook tells it. */
const status = (container: HTMLElement) => container.querySelector('[data-status]')!.getAttribute('data-status')
const rows = (container: HTMLElement) => [...container.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent))
const flush = (r: Rig) => act(() => r.frames.flush())

/** The SSE mock, given to MSW. */
function sseMock() {
  const stream = mockSseHandler(SSE_URL)
  server.use(...stream.handlers)
  return stream
}

async function openPanel(extra: Partial<Parameters<typeof SsePanel>[0]> = {}) {
  const stream = sseMock()
  const [tab] = kit.tabs(1)
  const r = rig()
  const view = render(<SsePanel r={r} {...extra} />, { wrapper: tab!.wrapper })
  await waitFor(() => expect(root(view.container).getAttribute('data-state')).toBe('live'))
  // Taken, so the next nextConnection() is a reconnection.
  expect((await stream.nextConnection()).lastEventId).toBeNull()
  /** Appends each text to the log as it is (the mock sends it to the open stream). */
  const raw = (...messages: string[]) => {
    for (const m of messages) stream.append(m)
  }
  const send = async (...messages: string[]) => {
    const before = r.received
    raw(...messages)
    await waitFor(() => expect(r.received).toBe(before + messages.length))
  }
  return { ...view, stream, r, send, raw }
}

describe('<LiveTicker> statuses', () => {
  it('idle (no stream) and connecting are stale with no time yet; open is live', async () => {
    const stream = sseMock()
    const [tab] = kit.tabs(1)
    const r = rig()
    const view = render(<SsePanel r={r} enabled={false} />, { wrapper: tab!.wrapper })
    expect(root(view.container).getAttribute('data-state')).toBe('stale')
    expect(view.container.querySelector('[data-tabwire-ticker-as-of]')!.textContent).toBe('Not live')
    await expectNoAxeViolations(view.container)
    expect(stream.connections).toEqual([])
    view.rerender(<SsePanel r={r} />)
    expect(root(view.container).getAttribute('data-state')).toBe('stale')
    await waitFor(() => expect(root(view.container).getAttribute('data-state')).toBe('live'))
    expect(stream.connections).toHaveLength(1)
    expect(view.container.querySelector('[data-tabwire-ticker-as-of]')).toBeNull()
  })

  it('reconnecting is stale "as of" the last update, back to live after; closed (HTTP 204) stays stale', async () => {
    const { container, stream, r, send } = await openPanel()
    await send(quote('ACME', 10))
    flush(r)
    expect(rows(container)).toEqual([['ACME', '10', '']])
    const last = stream.log.head
    act(() => stream.close())
    await waitFor(() => expect(root(container).getAttribute('data-state')).toBe('stale'))
    expect(status(container)).toBe('reconnecting')
    expect(container.querySelector('[data-tabwire-ticker-as-of]')!.textContent).toBe('Not live, as of T60000')
    expect(container.querySelector('time')!.getAttribute('dateTime')).toBe(new Date(60_000).toISOString())
    await expectNoAxeViolations(container)
    // The stream reconnects (its retry timer is the test's) and goes on where it was.
    act(() => void r.timers.runAll())
    expect((await stream.nextConnection()).lastEventId).toBe(last)
    await waitFor(() => expect(root(container).getAttribute('data-state')).toBe('live'))
    await send(quote('ACME', 12))
    flush(r)
    expect(rows(container)).toEqual([['ACME', '12', '▲ up 2']])
    // The server says stop: closed for good, stale.
    stream.fail(204)
    act(() => stream.close())
    await waitFor(() => expect(root(container).getAttribute('data-state')).toBe('stale'))
    act(() => void r.timers.runAll())
    // The attempt was answered 204: closed for good, still stale, no connection.
    await waitFor(() => expect(status(container)).toBe('closed'))
    expect(root(container).getAttribute('data-state')).toBe('stale')
    expect(container.querySelector('[data-tabwire-ticker-as-of]')!.textContent).toBe('Not live, as of T60000')
    expect(rows(container)).toEqual([['ACME', '12', '▲ up 2']])
    expect(stream.connections).toEqual([])
  })
})

describe('<LiveTicker> under a flood', () => {
  it('commits at most once per frame, and only the rows that changed render again', async () => {
    const formatted: string[] = []
    const format = (value: number, symbol: string) => {
      formatted.push(symbol)
      return String(value)
    }
    const { container, r, send } = await openPanel({ props: { format } })
    const symbols = Array.from({ length: 1000 }, (_, i) => `S${i}`)
    await send(JSON.stringify(symbols.map((symbol) => ({ symbol, value: 1 }))))
    flush(r)
    expect(container.querySelectorAll('tbody tr')).toHaveLength(1000)
    formatted.length = 0
    const commitsBefore = r.commits

    // 500 messages on 10 symbols, then one frame: one commit, 10 rows rendered (2 cells each).
    await send(...Array.from({ length: 500 }, (_, i) => quote(`S${i % 10}`, i)))
    flush(r)
    expect(r.commits - commitsBefore).toBe(1)
    expect(formatted.sort()).toEqual(symbols.slice(0, 10).flatMap((s) => [s, s]).sort())
    expect(rows(container)[9]).toEqual(['S9', '499', '▲ up 10'])
    expect(rows(container)[10]).toEqual(['S10', '1', ''])

    // Three more bursts, three frames: never more commits than frames.
    for (let burst = 0; burst < 3; burst++) {
      await send(...Array.from({ length: 100 }, (_, i) => quote(`S${100 + i}`, burst)))
      flush(r)
    }
    expect(r.commits - commitsBefore).toBeLessThanOrEqual(4)
  })
  it('a new source object with the same status and error does not render it (a hook returns a new one on every data frame)', () => {
    const r = rig()
    let summaries = 0
    const summary = () => String(++summaries)
    function Bare({ source }: { source: { status: 'open' | 'reconnecting'; error: null } }) {
      const ticker = useTicker<unknown>({ scheduleFrame: r.frames.scheduleFrame })
      r.ticker = ticker
      return <LiveTicker ticker={ticker} source={source} summary={summary} />
    }
    const view = render(<Bare source={{ status: 'open', error: null }} />)
    act(() => r.ticker!.push({ symbol: 'A', value: 1 }))
    flush(r)
    const seen = summaries
    view.rerender(<Bare source={{ status: 'open', error: null }} />)
    expect(summaries).toBe(seen)
    view.rerender(<Bare source={{ status: 'reconnecting', error: null }} />)
    expect(summaries).toBe(seen + 1)
  })
})

describe('<LiveTicker> bad input and hostile text', () => {
  it('a message that is not JSON shows the parse error; the rows go on and the next good one clears it', async () => {
    const { container, r, send, raw } = await openPanel()
    await send(quote('ACME', 1))
    flush(r)
    raw('{not json')
    await waitFor(() => {
      flush(r)
      expect(container.querySelector('[data-tabwire-ticker-error]')?.getAttribute('data-kind')).toBe('parse')
    })
    await expectNoAxeViolations(container)
    await send(quote('ACME', 2))
    flush(r)
    expect(container.querySelector('[data-tabwire-ticker-error]')).toBeNull()
    expect(rows(container)).toEqual([['ACME', '2', '▲ up 1']])
  })

  it('JSON that is not an update shows the ticker’s parse error; the rows go on', async () => {
    const { container, r, send } = await openPanel()
    await send(quote('ACME', 1))
    await send(JSON.stringify({ symbol: 'ACME' }))
    flush(r)
    expect(container.querySelector('[data-tabwire-ticker-error]')!.textContent).toMatch(/LiveTicker: an update needs/)
    expect(rows(container)).toEqual([['ACME', '1', '']])
    await send(quote('BETA', 3))
    flush(r)
    expect(container.querySelector('[data-tabwire-ticker-error]')).toBeNull()
    expect(rows(container).map((row) => row[0])).toEqual(['ACME', 'BETA'])
  })

  it('renders hostile symbols as text', async () => {
    const { container, r, send } = await openPanel()
    const hostile = ['<img src=x onerror="globalThis.pwned=1">', '</td></tr><script>globalThis.pwned=1</script>', '{{constructor}}']
    await send(...hostile.map((symbol, i) => quote(symbol, i)))
    flush(r)
    expect(rows(container).map((row) => row[0])).toEqual(hostile)
    expect(container.querySelector('img, script')).toBeNull()
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined()
  })
})

describe('<LiveTicker> pause, keyboard, motion and announcements', () => {
  it('the pause button works from the keyboard: paused holds the rows (no frame), resume shows what came meanwhile', async () => {
    const user = userEvent.setup()
    const { container, r, send } = await openPanel()
    await send(quote('ACME', 1))
    flush(r)
    await user.tab()
    const button = screen.getByRole('button', { name: 'Pause updates' })
    expect(document.activeElement).toBe(button)
    await user.keyboard('{Enter}')
    expect(root(container).hasAttribute('data-paused')).toBe(true)
    expect(screen.getByRole('button', { name: 'Resume updates' })).toBe(document.activeElement)
    expect(container.querySelector('[data-tabwire-ticker-as-of]')!.textContent).toBe('Paused, as of T60000')
    await expectNoAxeViolations(container)
    await send(quote('ACME', 5))
    flush(r)
    expect(rows(container)).toEqual([['ACME', '1', '']])
    await user.keyboard(' ')
    expect(root(container).hasAttribute('data-paused')).toBe(false)
    expect(rows(container)).toEqual([['ACME', '5', '▲ up 4']])
  })

  it('highlights a changed value (a new cell, so the animation plays again); never under reduced motion', async () => {
    const { container, r, send, rerender } = await openPanel()
    const cell = () => container.querySelector('[data-tabwire-ticker-value]')!
    await send(quote('ACME', 2))
    flush(r)
    expect(cell().hasAttribute('data-highlight')).toBe(false)
    const first = cell()
    await send(quote('ACME', 1))
    flush(r)
    expect(cell().getAttribute('data-highlight')).toBe('down')
    expect(cell()).not.toBe(first)
    expect(container.querySelector('tbody tr')!.getAttribute('data-direction')).toBe('down')
    rerender(<SsePanel r={r} props={{ reducedMotion: true }} />)
    expect(cell().hasAttribute('data-highlight')).toBe(false)
  })

  it('follows prefers-reduced-motion when not forced', async () => {
    const matches = vi.fn(() => ({ matches: true, addEventListener() {}, removeEventListener() {} }))
    vi.stubGlobal('matchMedia', matches)
    try {
      const { container, r, send } = await openPanel({ props: { reducedMotion: undefined } })
      await send(quote('ACME', 1), quote('ACME', 2))
      flush(r)
      expect(container.querySelector('[data-tabwire-ticker-value]')!.hasAttribute('data-highlight')).toBe(false)
      expect(matches).toHaveBeenCalledWith('(prefers-reduced-motion: reduce)')
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('ticking values are aria-live="off"; the opt-in role="status" summary changes at most once per interval', async () => {
    const summary = (list: readonly { direction: string }[]) => `${list.filter((x) => x.direction === 'up').length} of ${list.length} up`
    const { container, r, send } = await openPanel({ props: { summary }, options: { summaryInterval: 12_345 } })
    expect(container.querySelector('table')!.getAttribute('aria-live')).toBe('off')
    await send(quote('A', 1), quote('B', 1))
    flush(r)
    expect(screen.getByRole('status').textContent).toBe('0 of 2 up')
    await send(quote('A', 2))
    flush(r)
    expect(screen.getByRole('status').textContent).toBe('0 of 2 up')
    r.time += 12_345
    act(() => void r.timers.run(12_345))
    expect(screen.getByRole('status').textContent).toBe('1 of 2 up')
    await expectNoAxeViolations(container)
  })

  it('has no role="status" without a summary', async () => {
    const { container } = await openPanel()
    expect(container.querySelector('[role="status"]')).toBeNull()
  })
})

describe('<LiveTicker> from useWebSocket and useRealtime', () => {
  it('takes a WebSocket stream (the channel protocol of mockWebSocketHandler)', async () => {
    const socket = mockWebSocketHandler(WS_URL, { channels: { prices: createMemoryLog() } })
    server.use(...socket.handlers)
    const [tab] = kit.tabs(1)
    const r = rig()
    type Frame = { type: string; data?: unknown }
    function WsPanel() {
      const ticker = useTicker<unknown>({ scheduleFrame: r.frames.scheduleFrame })
      const prices = useWebSocket<Frame, { type: 'subscribe'; channel: string }>(WS_URL, {
        json: true,
        scheduleFrame: r.frames.scheduleFrame,
        onMessage: ({ data }) => void (data.type === 'event' && ticker.onMessage({ data: data.data })),
      })
      const { send } = prices
      useEffect(() => void send({ type: 'subscribe', channel: 'prices' }), [send])
      return <LiveTicker ticker={ticker} source={prices} />
    }
    const { container } = render(<WsPanel />, { wrapper: tab!.wrapper })
    await waitFor(() => expect(root(container).getAttribute('data-state')).toBe('live'))
    await socket.nextSubscribe('prices')
    socket.publish('prices', [{ symbol: 'WS', value: 1 }])
    await waitFor(() => expect(r.frames.pending).toBeGreaterThan(0))
    flush(r)
    expect(rows(container)).toEqual([['WS', '1', '']])
  })

  it('takes a realtime channel; a reset clears the rows (onReset: ticker.clear) and the list goes on', async () => {
    const realtime = mockRealtimeHandler(RT_URL, { channels: { prices: createMemoryLog() } })
    server.use(...realtime.handlers)
    // A server restart is a close (1012): reconnect at once.
    const [tab] = kit.tabs(1, { realtime: { url: RT_URL, transport: 'websocket', storage: null, initialDelay: 1, random: () => 0 } })
    const r = rig()
    const resets: unknown[] = []
    function RtPanel() {
      const ticker = useTicker<unknown>({ scheduleFrame: r.frames.scheduleFrame })
      const prices = useRealtime<unknown>('prices', {
        onMessage: ticker.onMessage,
        onReset: (reset) => {
          resets.push(reset.reason)
          ticker.clear()
        },
      })
      return <LiveTicker ticker={ticker} source={prices} />
    }
    const { container } = render(<RtPanel />, { wrapper: tab!.wrapper })
    expect(await realtime.nextSubscribe('prices')).toMatchObject({ since: undefined })
    const old = realtime.publish('prices', { symbol: 'OLD', value: 1 })
    await waitFor(() => {
      flush(r)
      expect(rows(container)).toEqual([['OLD', '1', '']])
    })
    // A restart: a new epoch; the client resubscribes from OLD's id and is told to reset.
    act(() => realtime.reset())
    expect(await realtime.nextSubscribe('prices')).toMatchObject({ since: old.id })
    await waitFor(() => {
      flush(r)
      expect(rows(container)).toEqual([])
    })
    expect(resets).toHaveLength(1)
    realtime.publish('prices', { symbol: 'NEW', value: 2 })
    await waitFor(() => {
      flush(r)
      expect(rows(container)).toEqual([['NEW', '2', '']])
    })
  })
})
