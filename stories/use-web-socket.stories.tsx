import { useEffect, useState } from 'react'
import { expect, waitFor } from 'storybook/test'
import { useWebSocket } from '../src/index'
import { type MockWebSocket, mockWebSocketHandler } from '../src/testing/index'
import preview from '../.storybook/preview'
import { errorText, panel, type Quote, quote, ServerButtons, StreamReport, useDelivery, useFeed } from './support/quotes'
import { cell, intact, num } from './support/report'
import { type Share, shareMode } from './support/sse-quotes'
import { mockUrl, storyMock } from './support/story-mock'

const wsUrl = (path: string) => mockUrl(path).replace(/^http/, 'ws')
const room = storyMock(() => mockWebSocketHandler(wsUrl('use-web-socket/*')))

type Frame = { type: string; channel?: string; id?: string; data?: Quote | { text: string } }
type Out = { type: 'subscribe'; channel: string; since?: string } | { type: 'publish'; channel: string; data: { text: string } }

interface Props {
  /** Any ws url under /mock/use-web-socket/ reaches the mock. */
  url: string
  share: Share
  rate: number
}

/** A room over `useWebSocket` and `mockWebSocketHandler`: quotes from the server, and what you say. */
function Room({ mock, url, share, rate }: Props & { mock: MockWebSocket }) {
  const { delivery, onQuote } = useDelivery()
  const [said, setSaid] = useState<string[]>([])
  const socket = useWebSocket<Frame, Out>(url, {
    json: true,
    share: shareMode(share),
    initialDelay: 100,
    // The resume point: the id of the last event; a new socket subscribes again from it.
    messageId: (raw) => (JSON.parse(String(raw)) as Frame).id,
    onReopen: ({ lastEventId }) => [{ type: 'subscribe', channel: 'room', ...(lastEventId ? { since: lastEventId } : {}) }],
    onMessage: ({ data }) => {
      if (data.type !== 'event' || !data.data) return
      if ('text' in data.data) setSaid((s) => [...s, (data.data as { text: string }).text])
      else onQuote(data.data)
    },
  })
  const { send } = socket
  useEffect(() => void send({ type: 'subscribe', channel: 'room' }), [send])
  useFeed(rate, (q) => mock.publish('room', q))
  return (
    <div style={panel}>
      <StreamReport
        rows={{
          status: socket.status,
          received: delivery.received,
          'last seq': delivery.lastSeq,
          gaps: delivery.gaps,
          repeats: delivery.repeats,
          said: said.join(' | ') || undefined,
          error: errorText(socket.error),
        }}
      />
      <div role="group" aria-label="Client" style={{ display: 'flex', gap: 8 }}>
        <button type="button" onClick={() => send({ type: 'publish', channel: 'room', data: { text: 'hello' } })}>
          Say hello
        </button>
      </div>
      <ServerButtons actions={{ Publish: () => mock.publish('room', quote(0)), Drop: () => mock.drop(), 'Close 1012': () => mock.close(1012) }} />
    </div>
  )
}

const meta = preview.meta({
  title: 'Hooks/useWebSocket',
  beforeEach: room.beforeEach,
  render: (args: Props, context) => <Room {...args} mock={room.of(context)} />,
  args: { url: wsUrl('use-web-socket/room'), share: 'tabs', rate: 5 } satisfies Props as Props,
  argTypes: {
    url: { control: 'text' },
    share: { control: 'inline-radio', options: ['tabs', 'tab', 'none'] },
    rate: { control: { type: 'range', min: 0, max: 60 } },
  },
})
export default meta

/** Subscribes to a channel of `mockWebSocketHandler`, publishes to it, and after a drop subscribes again from its last id. */
export const Playground = meta.story({
  play: async ({ canvas, userEvent, context }) => {
    const mock = room.of(context)
    expect(await mock.nextSubscribe('room')).toEqual({ channel: 'room', since: undefined })
    await waitFor(() => expect([cell(canvas, 'status'), num(canvas, 'received') > 2]).toEqual(['open', true]))
    await userEvent.click(canvas.getByRole('button', { name: 'Say hello' }))
    expect((await mock.nextPublish('room')).data).toEqual({ text: 'hello' })
    await waitFor(() => expect(cell(canvas, 'said')).toBe('hello'))
    await userEvent.click(canvas.getByRole('button', { name: 'Drop' }))
    expect((await mock.nextSubscribe('room')).since).toMatch(/./)
    const before = num(canvas, 'received')
    await waitFor(() => expect(num(canvas, 'received')).toBeGreaterThan(before + 2))
    expect(intact(canvas)).toEqual(['open', '0', '0'])
    expect(cell(canvas, 'said')).toBe('hello')
  },
})
