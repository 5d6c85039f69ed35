import { expect, waitFor } from 'storybook/test'
import { mockSseHandler } from '../src/testing/index'
import preview from '../.storybook/preview'
import { cell, intact, num } from './support/report'
import { SseQuotes, type SseQuotesProps } from './support/sse-quotes'
import { mockUrl, storyMock } from './support/story-mock'

const quotes = storyMock(() => mockSseHandler(mockUrl('faults/*'), { retry: 100 }))

/**
 * One story per fault of the server, on an app of LiveTicker, ConnectionStatus and
 * useEventSource over `mockSseHandler`. Each play function breaks the server with the
 * story's button, as you would, and checks what the app shows.
 */
const meta = preview.meta({
  title: 'Scenarios/Faults',
  beforeEach: quotes.beforeEach,
  render: (args: SseQuotesProps, context) => <SseQuotes {...args} mock={quotes.of(context)} />,
  args: { url: '/mock/faults/quotes', transport: 'fetch', share: 'tabs', rate: 10, select: 'whole quote', idleTimeout: 0, components: true } satisfies SseQuotesProps as SseQuotesProps,
  argTypes: {
    transport: { control: 'inline-radio', options: ['fetch', 'eventsource'] },
    share: { control: 'inline-radio', options: ['tabs', 'tab', 'none'] },
    rate: { control: { type: 'range', min: 0, max: 60 } },
  },
})
export default meta

type Canvas = Parameters<typeof num>[0]
const opened = (canvas: Canvas) => waitFor(() => expect([cell(canvas, 'status'), num(canvas, 'received') > 2]).toEqual(['open', true]))
const receivesMore = async (canvas: Canvas) => {
  const before = num(canvas, 'received')
  await waitFor(() => expect(num(canvas, 'received')).toBeGreaterThan(before + 2))
}

/** The connection is cut: it resumes from the last id, nothing lost or repeated. */
export const Drop = meta.story({
  play: async ({ canvas, userEvent, context }) => {
    await opened(canvas)
    await userEvent.click(canvas.getByRole('button', { name: 'Drop' }))
    await receivesMore(canvas)
    expect(intact(canvas)).toEqual(['open', '0', '0'])
    expect(cell(canvas, 'errors seen')).toMatch(/network/)
    expect(quotes.of(context).connections).toHaveLength(1)
  },
})

/** The server goes silent without closing: after `idleTimeout` the stream is replaced and resumes. */
export const Stall = meta.story({
  args: { idleTimeout: 1500 },
  play: async ({ canvas, userEvent, context }) => {
    const mock = quotes.of(context)
    expect((await mock.nextConnection()).lastEventId).toBeNull()
    await opened(canvas)
    await userEvent.click(canvas.getByRole('button', { name: 'Stall' }))
    const replaced = await mock.nextConnection()
    expect(replaced.lastEventId).toMatch(/./)
    await waitFor(() => expect(cell(canvas, 'errors seen')).toMatch(/timeout/))
    await receivesMore(canvas)
    expect(intact(canvas)).toEqual(['open', '0', '0'])
  },
})

/** The server restarts and lost its history: a `reset` event, the ticker clears, the stream goes on. */
export const Reset = meta.story({
  play: async ({ canvas, userEvent }) => {
    await opened(canvas)
    await userEvent.click(canvas.getByRole('button', { name: 'Reset server' }))
    await waitFor(() => expect(cell(canvas, 'resets')).toBe('1'))
    await receivesMore(canvas)
    expect(intact(canvas)).toEqual(['open', '0', '0'])
  },
})

/** 2,000 quotes at 4,000 a second: every one arrives, in order, and the ticker keeps up. */
export const Flood = meta.story({
  args: { rate: 0 },
  play: async ({ canvas, userEvent }) => {
    await waitFor(() => expect(cell(canvas, 'status')).toBe('open'))
    await userEvent.click(canvas.getByRole('button', { name: 'Flood 2,000' }))
    await waitFor(() => expect(num(canvas, 'received')).toBe(2000))
    expect(intact(canvas)).toEqual(['open', '0', '0'])
    expect(cell(canvas, 'last seq')).toBe('2000')
    // The ticker shows the last quote of each symbol.
    const ticker = canvas.getByRole('region', { name: 'Quotes' })
    await waitFor(() => expect(ticker.querySelectorAll('tbody tr')).toHaveLength(3))
  },
})

/** The browser goes offline: paused, stale ticker; back online it reconnects at once and resumes. */
export const Offline = meta.story({
  play: async ({ canvas, userEvent }) => {
    await opened(canvas)
    await userEvent.click(canvas.getByRole('button', { name: 'Go offline' }))
    await waitFor(() => expect(cell(canvas, 'status')).toBe('paused'))
    expect(canvas.getByRole('status').textContent).toMatch(/Paused/)
    expect(canvas.getByRole('region', { name: 'Quotes' }).dataset.state).toBe('stale')
    await userEvent.click(canvas.getByRole('button', { name: 'Back online' }))
    await waitFor(() => expect(cell(canvas, 'status')).toBe('open'))
    await receivesMore(canvas)
    expect(intact(canvas)).toEqual(['open', '0', '0'])
  },
})

/** The session expires (401): the stream stops for good and says why; "Reconnect now" resumes it. */
export const AuthExpired = meta.story({
  play: async ({ canvas, userEvent }) => {
    await opened(canvas)
    await userEvent.click(canvas.getByRole('button', { name: 'Expire session' }))
    await waitFor(() => expect(cell(canvas, 'status')).toBe('closed'))
    expect(cell(canvas, 'error')).toMatch(/^auth/)
    expect(canvas.getByRole('status').textContent).toMatch(/Not signed in/)
    await userEvent.click(canvas.getByRole('button', { name: 'Reconnect now' }))
    await waitFor(() => expect(cell(canvas, 'status')).toBe('open'))
    await receivesMore(canvas)
    expect(intact(canvas)).toEqual(['open', '0', '0'])
  },
})
