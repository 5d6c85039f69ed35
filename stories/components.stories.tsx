import { useRef } from 'react'
import { expect, waitFor, within } from 'storybook/test'
import { ConnectionStatus, LiveTicker, Notifications, useNotificationCenter, useTicker } from '../src/components/index'
import { useEventSource } from '../src/index'
import { type MockSse, mockSseHandler } from '../src/testing/index'
import preview from '../.storybook/preview'
import { panel, type Quote, quote, ServerButtons, useFeed } from './support/quotes'
import { mockUrl, storyMock } from './support/story-mock'

const stream = storyMock(() => mockSseHandler(mockUrl('components/quotes'), { retry: 100 }))
const alerts = storyMock(() => mockSseHandler(mockUrl('components/alerts'), { retry: 100 }))

interface Props {
  rate: number
  symbols: number
  summary: boolean
  reducedMotion: boolean
}

const symbolsOf = (n: number) => Array.from({ length: n }, (_, i) => `SYM${String(i + 1).padStart(3, '0')}`)

/** LiveTicker, ConnectionStatus and the notification parts, each fed by useEventSource over `mockSseHandler`. */
function Components({ mock, alertsMock, rate, symbols, summary, reducedMotion }: Props & { mock: MockSse; alertsMock: MockSse }) {
  const seq = useRef(0)
  const names = symbolsOf(symbols)
  useFeed(rate, () => mock.append(quote(++seq.current, names), 'quote'))
  const ticker = useTicker<Quote>({ read: (q) => ({ symbol: q.symbol, value: q.price }), summaryInterval: 2000 })
  const quotes = useEventSource<Quote>(mockUrl('components/quotes'), { events: ['quote'], json: true, initialDelay: 100, onMessage: ticker.onMessage })
  const center = useNotificationCenter<unknown>({ name: 'stories' })
  useEventSource<unknown>(mockUrl('components/alerts'), { events: ['alert'], json: true, initialDelay: 100, onMessage: center.onMessage })
  let alerts = 0
  return (
    <div style={panel}>
      <ConnectionStatus source={quotes} />
      <LiveTicker ticker={ticker} source={quotes} label="Quotes" reducedMotion={reducedMotion} summary={summary ? (rows) => `${rows.filter((r) => r.direction === 'up').length} of ${rows.length} up` : undefined} />
      <Notifications.Provider center={center}>
        <p>
          Inbox <Notifications.UnreadCount />
        </p>
        <Notifications.Viewport />
        <Notifications.Inbox />
      </Notifications.Provider>
      <ServerButtons
        actions={{
          'Send a notification': () => alertsMock.append({ id: `n${Date.now()}-${++alerts}`, title: 'Build finished', body: '<img src=x onerror=alert(1)>', severity: 'success' }, 'alert'),
          'Send an error': () => alertsMock.append({ id: `e${Date.now()}-${++alerts}`, title: 'Deploy failed', severity: 'error' }, 'alert'),
          'Expire session': () => (mock.fail(401), mock.drop()),
        }}
      />
    </div>
  )
}

const meta = preview.meta({
  title: 'Components/All',
  beforeEach: (context: Parameters<typeof stream.beforeEach>[0]) => {
    const cleanups = [stream.beforeEach(context), alerts.beforeEach(context)]
    return () => cleanups.forEach((cleanup) => cleanup?.())
  },
  render: (args: Props, context) => <Components {...args} mock={stream.of(context)} alertsMock={alerts.of(context)} />,
  args: { rate: 10, symbols: 3, summary: true, reducedMotion: false } satisfies Props as Props,
  argTypes: {
    rate: { control: { type: 'range', min: 0, max: 200 } },
    symbols: { control: { type: 'range', min: 1, max: 1000 } },
  },
})
export default meta

/** Rows per symbol with ▲/▼ in words; "Pause updates" freezes them (WCAG 2.2.2) and "Resume updates" brings the latest. */
export const LiveTickerPause = meta.story({
  play: async ({ canvas, userEvent, context }) => {
    const log = stream.of(context).log
    const ticker = canvas.getByRole('region', { name: 'Quotes' })
    await waitFor(() => expect(ticker.querySelectorAll('tbody tr')).toHaveLength(3))
    expect(ticker.dataset.state).toBe('live')
    await waitFor(() => expect(within(ticker).getAllByText(/^(up|down|unchanged)$/).length).toBeGreaterThan(0))
    await userEvent.click(within(ticker).getByRole('button', { name: 'Pause updates' }))
    const frozen = ticker.querySelector('tbody')!.textContent
    expect(ticker.dataset.paused).toBe('')
    expect(within(ticker).getByText(/^Paused/)).toBeTruthy()
    // Quotes keep arriving while paused, but the rows do not move until resumed.
    const head = Number(log.head?.split('.').pop())
    await waitFor(() => expect(Number(log.head?.split('.').pop())).toBeGreaterThan(head + 3))
    expect(ticker.querySelector('tbody')!.textContent).toBe(frozen)
    await userEvent.click(within(ticker).getByRole('button', { name: 'Resume updates' }))
    await waitFor(() => expect(ticker.querySelector('tbody')!.textContent).not.toBe(frozen))
  },
})

/** A notification toasts (its text shown as text, never as HTML) and lands in the inbox; mark it read. */
export const NotificationsToastAndInbox = meta.story({
  args: { rate: 0 },
  play: async ({ canvas, userEvent }) => {
    await waitFor(() => expect(canvas.getByText('Live')).toBeTruthy())
    await userEvent.click(canvas.getByRole('button', { name: 'Send a notification' }))
    const toasts = canvas.getByRole('region', { name: 'Notifications (F8)' })
    await waitFor(() => expect(within(toasts).getByText('Build finished')).toBeTruthy())
    expect(within(toasts).getByText('<img src=x onerror=alert(1)>')).toBeTruthy()
    expect(toasts.querySelector('img')).toBeNull()
    const inbox = canvas.getByRole('region', { name: 'Inbox' })
    expect(within(inbox).getByText('1 unread')).toBeTruthy()
    await userEvent.click(within(inbox).getByRole('button', { name: 'Mark as read' }))
    await waitFor(() => expect(within(inbox).getByText('0 unread')).toBeTruthy())
    await userEvent.click(within(toasts).getByRole('button', { name: 'Dismiss' }))
    await waitFor(() => expect(toasts.dataset.state).toBe('empty'))
  },
})

/** The status in words; an expired session says what to do and offers "Reconnect now", which brings it back. */
export const ConnectionStatusAuth = meta.story({
  play: async ({ canvas, userEvent }) => {
    const status = () => canvas.getByText(/^(Live|Connecting…|Reconnecting…|Paused|Disconnected|Not connected)$/)
    await waitFor(() => expect(status().textContent).toBe('Live'))
    await userEvent.click(canvas.getByRole('button', { name: 'Expire session' }))
    await waitFor(() => expect(status().textContent).toBe('Disconnected'))
    expect(canvas.getByText(/Not signed in, or not allowed/)).toBeTruthy()
    await userEvent.click(canvas.getByRole('button', { name: 'Reconnect now' }))
    await waitFor(() => expect(status().textContent).toBe('Live'))
    expect(canvas.queryByRole('button', { name: 'Reconnect now' })).toBeNull()
  },
})
