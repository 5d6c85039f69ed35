import type { Meta, StoryObj } from '@storybook/react-vite'
import { useMemo, useState } from 'react'
import { createRegistry, useEventSource } from '../src/index'
import { createFakeStream } from './fake-stream'

interface Quote {
  symbol: string
  price: number
}

/** A live quote with its connection state, and buttons that break the stream. */
function LiveQuote({ rate }: { rate: number }) {
  const stream = useMemo(() => createFakeStream(rate), [rate])
  const registry = useMemo(() => createRegistry(), [stream])
  const [received, setReceived] = useState(0)
  const { status, data, lastEventId, error, attempt, reconnect, close } = useEventSource<Quote>(`/fake/quotes?rate=${rate}`, {
    events: ['quote'],
    json: true,
    fetch: stream.fetch,
    registry,
    initialDelay: 500,
    onMessage: () => setReceived((n) => n + 1),
  })
  return (
    <div style={{ fontFamily: 'system-ui', display: 'grid', gap: 8, maxWidth: 360 }}>
      <output data-state={status}>
        {data ? `${data.symbol} ${data.price.toFixed(2)}` : '…'}
      </output>
      <dl style={{ display: 'grid', gridTemplateColumns: 'auto 1fr', gap: '2px 12px', margin: 0 }}>
        <dt>status</dt>
        <dd data-testid="status">{status}</dd>
        <dt>last event id</dt>
        <dd>{lastEventId ?? '—'}</dd>
        <dt>messages</dt>
        <dd>{received}</dd>
        <dt>attempt</dt>
        <dd>{attempt}</dd>
        <dt>error</dt>
        <dd>{error ? `${error.kind}: ${error.message}` : '—'}</dd>
      </dl>
      <div style={{ display: 'flex', gap: 8 }}>
        <button type="button" onClick={() => stream.drop()}>
          Drop
        </button>
        <button type="button" onClick={() => (stream.failNext(2), stream.drop())}>
          Drop, then 503 twice
        </button>
        <button type="button" onClick={close}>
          Close
        </button>
        <button type="button" onClick={reconnect}>
          Reconnect
        </button>
      </div>
    </div>
  )
}

const meta = {
  title: 'Hooks/useEventSource',
  component: LiveQuote,
  args: { rate: 5 },
  argTypes: { rate: { control: { type: 'range', min: 1, max: 60 } } },
} satisfies Meta<typeof LiveQuote>

export default meta

/** Drop the stream and watch it resume from `Last-Event-ID`: the id never skips or repeats. */
export const Playground: StoryObj<typeof meta> = {}
