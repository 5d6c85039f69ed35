import { useEventSource } from 'tabwire'
import { LiveTicker, useTicker } from 'tabwire/components'
import type { Quote, ResetInfo } from '../shared.ts'
import { sse } from './config.ts'
import { recordError, recordEvent } from './recorder.ts'
import { StreamStatus } from './stream-status.tsx'

const price = (value: number) => value.toFixed(2)

/**
 * `<LiveTicker>` over `/api/quotes`: every quote goes through `onMessage` into the ticker
 * (none is lost to batching), which renders at most once per animation frame and only the
 * rows that changed. A quote that is not one shows as the ticker's `parse` error.
 */
export function Ticker() {
  const ticker = useTicker<Quote>({ read: (quote) => ({ symbol: quote.symbol, value: quote.price }) })
  const stream = useEventSource<Quote | ResetInfo>('/api/quotes', {
    ...sse,
    events: ['quote', 'reset'],
    json: true,
    onMessage: (message) => {
      recordEvent('quotes', message)
      // A `quote` event carries a Quote (the ticker checks its fields); a `reset` keeps the rows: they are still the latest prices.
      if (message.event === 'quote') ticker.onMessage({ data: message.data as Quote })
    },
    onError: (error) => recordError('quotes', error),
  })

  return (
    <section aria-labelledby="ticker-title">
      <div className="panel-head">
        <h2 id="ticker-title">Ticker</h2>
        <StreamStatus name="quotes" state={stream} />
      </div>
      <div data-testid="ticker">
        <LiveTicker ticker={ticker} source={stream} label="Quotes" format={price} />
      </div>
      <p className="meta">
        {recordedCount()} quotes received · last id <code>{stream.lastEventId ?? '—'}</code>
      </p>
    </section>
  )
}

const recordedCount = () => window.__tabwire.ids.quotes.length
