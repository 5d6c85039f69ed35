import { expect, waitFor } from 'storybook/test'
import { mockSseHandler } from '../src/testing/index'
import preview from '../.storybook/preview'
import { cell, num } from './support/report'
import { selects, SseQuotes, type SseQuotesProps } from './support/sse-quotes'
import { mockUrl, storyMock } from './support/story-mock'

const quotes = storyMock(() => mockSseHandler(mockUrl('use-event-source/*'), { retry: 100 }))

const meta = preview.meta({
  title: 'Hooks/useEventSource',
  beforeEach: quotes.beforeEach,
  render: (args: SseQuotesProps, context) => <SseQuotes {...args} mock={quotes.of(context)} />,
  args: { url: '/mock/use-event-source/quotes', transport: 'fetch', share: 'tabs', rate: 5, select: 'whole quote', idleTimeout: 0, components: false } satisfies SseQuotesProps as SseQuotesProps,
  argTypes: {
    url: { control: 'text', description: 'Any url under /mock/use-event-source/ reaches the mock' },
    transport: { control: 'inline-radio', options: ['fetch', 'eventsource'] },
    share: { control: 'inline-radio', options: ['tabs', 'tab', 'none'] },
    rate: { control: { type: 'range', min: 0, max: 60 } },
    select: { control: 'select', options: Object.keys(selects) },
    idleTimeout: { control: 'number' },
    components: { control: 'boolean' },
  },
})
export default meta


/**
 * Quotes stream in; drop the connection and watch it resume from `Last-Event-ID`: the
 * numbers never skip or repeat.
 */
export const Playground = meta.story({
  play: async ({ canvas, userEvent, context }) => {
    const mock = quotes.of(context)
    expect((await mock.nextConnection()).lastEventId).toBeNull()
    await waitFor(() => expect(cell(canvas, 'status')).toBe('open'))
    await waitFor(() => expect(num(canvas, 'received')).toBeGreaterThan(2))
    await userEvent.click(canvas.getByRole('button', { name: 'Drop' }))
    const resumed = await mock.nextConnection()
    expect(resumed.lastEventId).toMatch(/./)
    const after = num(canvas, 'received')
    await waitFor(() => expect(num(canvas, 'received')).toBeGreaterThan(after + 2))
    expect([cell(canvas, 'status'), cell(canvas, 'gaps'), cell(canvas, 'repeats')]).toEqual(['open', '0', '0'])
    expect(mock.connections).toHaveLength(1)
  },
})

/** The native EventSource transport, with `select` picking the price: the data is a number. */
export const NativeEventSource = meta.story({
  args: { transport: 'eventsource', select: 'price', share: 'tab' } as const,
  play: async ({ canvas }) => {
    await waitFor(() => expect(cell(canvas, 'status')).toBe('open'))
    await waitFor(() => expect(cell(canvas, 'data')).toMatch(/^\d+(\.\d+)?$/))
    await waitFor(() => expect(num(canvas, 'received')).toBeGreaterThan(2))
    expect(cell(canvas, 'gaps')).toBe('0')
  },
})
