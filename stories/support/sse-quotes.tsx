/**
 * An app of the stories: quotes over `useEventSource` from `mockSseHandler`, with the live
 * ticker, the connection status, what arrived, and buttons that break the server.
 */
import { useRef, useState } from 'react'
import { ConnectionStatus, LiveTicker, useTicker } from '../../src/components/index'
import { type ShareMode, useEventSource } from '../../src/index'
import type { MockSse } from '../../src/testing/index'
import { errorText, panel, type Quote, quote, ServerButtons, StreamReport, useDelivery, useFeed } from './quotes'

export type Share = 'tabs' | 'tab' | 'none'
export const shareMode = (share: Share): ShareMode => (share === 'none' ? false : share)

export const selects = {
  'whole quote': (q: Quote) => q as unknown,
  price: (q: Quote) => q.price as unknown,
  symbol: (q: Quote) => q.symbol as unknown,
}

export interface SseQuotesProps {
  /** Any url under /mock/ reaches the story's mock. */
  url: string
  transport: 'fetch' | 'eventsource'
  share: Share
  /** Quotes the server publishes a second (0: only what the buttons send). */
  rate: number
  select: keyof typeof selects
  /** The hook's idleTimeout (ms): a stalled stream is replaced after it. */
  idleTimeout: number
  /** Show the LiveTicker and ConnectionStatus components. */
  components: boolean
}

export function SseQuotes({ mock, url, transport, share, rate, select, idleTimeout, components }: SseQuotesProps & { mock: MockSse }) {
  const seq = useRef(0)
  const next = () => quote(++seq.current)
  useFeed(rate, () => mock.append(next(), 'quote'))
  const { delivery, onQuote, onReset } = useDelivery()
  const [errors, setErrors] = useState<string[]>([])
  const [offline, setOffline] = useState(false)
  const ticker = useTicker<Quote>({ read: (q) => ({ symbol: q.symbol, value: q.price }) })
  const stream = useEventSource<Quote, unknown>(url, {
    events: ['quote', 'reset'],
    json: true,
    transport,
    share: shareMode(share),
    select: selects[select],
    initialDelay: 200,
    idleTimeout: idleTimeout > 0 ? idleTimeout : undefined,
    onMessage: (message) => {
      if (message.event === 'reset') {
        ticker.clear()
        return onReset()
      }
      onQuote(message.data)
      ticker.onMessage(message)
    },
    onError: (error) => setErrors((e) => [...e, error.kind]),
  })
  const goOffline = (value: boolean) => {
    mock.setOffline(value)
    setOffline(value)
    // What a browser fires; the mock only refuses the network.
    window.dispatchEvent(new Event(value ? 'offline' : 'online'))
  }
  return (
    <div style={panel}>
      {components ? <ConnectionStatus source={stream} /> : null}
      <StreamReport
        rows={{
          status: stream.status,
          data: stream.data === undefined ? undefined : JSON.stringify(stream.data),
          'last event id': stream.lastEventId,
          received: delivery.received,
          'last seq': delivery.lastSeq,
          gaps: delivery.gaps,
          repeats: delivery.repeats,
          resets: delivery.resets,
          attempt: stream.attempt,
          error: errorText(stream.error),
          'errors seen': errors.join(', ') || undefined,
        }}
      />
      <ServerButtons
        actions={{
          Publish: () => mock.append(next(), 'quote'),
          Drop: () => mock.drop(),
          Stall: () => mock.stall(),
          'Reset server': () => mock.reset(),
          'Flood 2,000': () => mock.flood(2000, 4000, { event: 'quote', data: next }),
          [offline ? 'Back online' : 'Go offline']: () => goOffline(!offline),
          'Expire session': () => (mock.fail(401), mock.drop()),
          '503 twice': () => (mock.fail(503, 2), mock.drop()),
        }}
      />
      <div role="group" aria-label="Client" style={{ display: 'flex', gap: 8 }}>
        <button type="button" onClick={() => stream.close()}>
          Close
        </button>
        <button type="button" onClick={() => stream.reconnect()}>
          Reconnect
        </button>
      </div>
      {components ? <LiveTicker ticker={ticker} source={stream} label="Quotes" /> : null}
    </div>
  )
}
