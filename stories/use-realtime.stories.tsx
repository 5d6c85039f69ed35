import { useEffect, useMemo } from 'react'
import { expect, waitFor } from 'storybook/test'
import { ConnectionStatus } from '../src/components/index'
import { createRealtime } from '../src/core/index'
import { RealtimeProvider, useRealtime } from '../src/index'
import { type MockRealtime, mockRealtimeHandler } from '../src/testing/index'
import preview from '../.storybook/preview'
import { errorText, panel, type Quote, quote, ServerButtons, StreamReport, useDelivery, useFeed } from './support/quotes'
import { cell, intact, num } from './support/report'
import { selects, type Share, shareMode } from './support/sse-quotes'
import { mockUrl, storyMock } from './support/story-mock'

const realtime = storyMock(() => mockRealtimeHandler(mockUrl('use-realtime/rt')))

interface Props {
  transport: 'auto' | 'websocket' | 'sse'
  share: Share
  channel: 'prices:ACME' | 'prices:GLOBEX'
  rate: number
  select: keyof typeof selects
}

function Price({ mock, channel, rate, select }: Props & { mock: MockRealtime }) {
  const { delivery, onQuote, onReset } = useDelivery()
  const price = useRealtime<Quote, never, unknown>(channel, { select: selects[select], onMessage: (m) => onQuote(m.data), onReset })
  useFeed(rate, (q) => mock.publish(channel, q))
  return (
    <>
      <ConnectionStatus source={price} />
      <StreamReport
        rows={{
          status: price.status,
          transport: price.transport,
          data: price.data === undefined ? undefined : JSON.stringify(price.data),
          received: delivery.received,
          'last seq': delivery.lastSeq,
          gaps: delivery.gaps,
          repeats: delivery.repeats,
          error: errorText(price.error),
        }}
      />
    </>
  )
}

/** A realtime client per transport and share mode (changing either makes a new one). */
function RealtimeDemo(props: Props & { mock: MockRealtime }) {
  const { mock, transport, share } = props
  const client = useMemo(
    () => createRealtime({ url: mockUrl('use-realtime/rt'), transport, share: shareMode(share), storage: null, grace: 0, initialDelay: 100 }),
    [transport, share],
  )
  useEffect(() => () => client.close(), [client])
  return (
    <div style={panel}>
      <RealtimeProvider client={client}>
        <Price {...props} />
      </RealtimeProvider>
      <ServerButtons actions={{ Publish: () => mock.publish(props.channel, quote(0)), Drop: () => mock.drop(), 'Reset server': () => mock.reset() }} />
    </div>
  )
}

const meta = preview.meta({
  title: 'Hooks/useRealtime',
  beforeEach: realtime.beforeEach,
  render: (args: Props, context) => <RealtimeDemo {...args} mock={realtime.of(context)} />,
  args: { transport: 'auto', share: 'tabs', channel: 'prices:ACME', rate: 5, select: 'whole quote' } satisfies Props as Props,
  argTypes: {
    transport: { control: 'inline-radio', options: ['auto', 'websocket', 'sse'] },
    share: { control: 'inline-radio', options: ['tabs', 'tab', 'none'] },
    channel: { control: 'select', options: ['prices:ACME', 'prices:GLOBEX'] },
    rate: { control: { type: 'range', min: 0, max: 60 } },
    select: { control: 'select', options: Object.keys(selects) },
  },
})
export default meta

/** A channel over `mockRealtimeHandler`: WebSocket first; drop it and the channel resumes from its last id. */
export const Playground = meta.story({
  play: async ({ canvas, userEvent, context }) => {
    const mock = realtime.of(context)
    expect(await mock.nextSubscribe('prices:ACME')).toEqual({ channel: 'prices:ACME', since: undefined })
    await waitFor(() => expect([cell(canvas, 'status'), cell(canvas, 'transport'), num(canvas, 'received') > 2]).toEqual(['open', 'websocket', true]))
    await userEvent.click(canvas.getByRole('button', { name: 'Drop' }))
    expect((await mock.nextSubscribe('prices:ACME')).since).toMatch(/./)
    const before = num(canvas, 'received')
    await waitFor(() => expect(num(canvas, 'received')).toBeGreaterThan(before + 2))
    expect(intact(canvas)).toEqual(['open', '0', '0'])
  },
})

/** A proxy blocks WebSockets: after two refused attempts the client moves to SSE (with POST) and the channel goes on. */
export const WebSocketBlocked = meta.story({
  beforeEach: (context) => void realtime.of(context).fail(503, 2),
  play: async ({ canvas, context }) => {
    const mock = realtime.of(context)
    await waitFor(() => expect([cell(canvas, 'status'), cell(canvas, 'transport')]).toEqual(['open', 'sse']))
    expect(mock.connections.map((c) => c.transport)).toEqual(['sse'])
    await waitFor(() => expect(num(canvas, 'received')).toBeGreaterThan(2))
    expect(intact(canvas)).toEqual(['open', '0', '0'])
  },
})
