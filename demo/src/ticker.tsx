import { useRef } from 'react'
import { useEventSource } from 'tabwire'
import type { Quote, ResetInfo } from '../shared.ts'
import { sse } from './config.ts'
import { recordError, recordEvent } from './recorder.ts'
import { StreamStatus } from './stream-status.tsx'

const isQuote = (data: unknown): data is Quote =>
  typeof data === 'object' && data !== null && typeof (data as Quote).symbol === 'string' && typeof (data as Quote).price === 'number'

interface Row {
  quote: Quote
  /** Direction of the last move, for the colour. */
  move: 'up' | 'down' | 'flat'
}

/** A live table of prices: every quote updates a map in `onMessage`; rendering is coalesced to a frame. */
export function Ticker() {
  // Every quote lands here synchronously (none is lost to batching); the hook re-renders at
  // most once per animation frame when `data` changes, and each render shows the whole map.
  const rows = useRef(new Map<string, Row>())
  const stream = useEventSource<Quote | ResetInfo>('/api/quotes', {
    ...sse,
    events: ['quote', 'reset'],
    json: true,
    onMessage: (message) => {
      recordEvent('quotes', message)
      if (message.event !== 'quote' || !isQuote(message.data)) return
      const quote = message.data
      const before = rows.current.get(quote.symbol)?.quote.price
      const move = before === undefined || before === quote.price ? 'flat' : quote.price > before ? 'up' : 'down'
      rows.current.set(quote.symbol, { quote, move })
    },
    onError: (error) => recordError('quotes', error),
  })
  const sorted = [...rows.current.values()].sort((a, b) => a.quote.symbol.localeCompare(b.quote.symbol))

  return (
    <section aria-labelledby="ticker-title">
      <h2 id="ticker-title">
        Ticker <StreamStatus name="quotes" state={stream} />
      </h2>
      {/* Not a live region: a ticker must not flood screen readers. */}
      <table className="ticker" data-testid="ticker">
        <thead>
          <tr>
            <th scope="col">Symbol</th>
            <th scope="col">Price</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 && (
            <tr>
              <td colSpan={3}>waiting for quotes…</td>
            </tr>
          )}
          {sorted.map(({ quote, move }) => (
            <tr key={quote.symbol} data-symbol={quote.symbol} data-move={move}>
              <th scope="row">{quote.symbol}</th>
              <td className="price">{quote.price.toFixed(2)}</td>
              <td className={quote.change < 0 ? 'down' : 'up'}>
                {quote.change > 0 ? '+' : ''}
                {quote.change.toFixed(2)}%
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="meta">
        {recordedCount()} quotes received · last id <code>{stream.lastEventId ?? '—'}</code>
      </p>
    </section>
  )
}

const recordedCount = () => window.__tabwire.ids.quotes.length
