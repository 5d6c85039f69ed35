/**
 * What the stories stream: numbered quotes, a feed that publishes them at a rate, a check of
 * what arrived (every quote carries its number, so a gap or a repeat shows), and panels that
 * show a stream's state and break the mock server.
 */
import { useEffect, useRef, useState } from 'react'
import type { RealtimeError } from '../../src/index'

export interface Quote {
  seq: number
  symbol: string
  price: number
}

export const SYMBOLS = ['ACME', 'GLOBEX', 'INITECH'] as const

/** The `seq`-th quote: symbols in turn, prices that wander. */
export const quote = (seq: number, symbols: readonly string[] = SYMBOLS): Quote => ({
  seq,
  symbol: symbols[seq % symbols.length]!,
  price: Math.round(10_000 + Math.sin(seq / 7) * 800 + seq) / 100,
})

/** Publishes `quote(1)`, `quote(2)`… `rate` times a second while mounted (0: never). The story's server, not the library. */
export function useFeed(rate: number, publish: (quote: Quote) => void) {
  const latest = useRef(publish)
  latest.current = publish
  const seq = useRef(0)
  useEffect(() => {
    if (!(rate > 0)) return
    const timer = setInterval(() => latest.current(quote(++seq.current)), 1000 / rate)
    return () => clearInterval(timer)
  }, [rate])
}

export interface Delivery {
  received: number
  lastSeq: number
  gaps: number
  repeats: number
  resets: number
}

/**
 * Counts what `onMessage` delivers: a quote whose number is not the next one is a gap (or a
 * repeat). A `reset` (the server lost its history) starts the count again.
 */
export function useDelivery() {
  const [delivery, setDelivery] = useState<Delivery>({ received: 0, lastSeq: 0, gaps: 0, repeats: 0, resets: 0 })
  const onQuote = (q: Quote) =>
    setDelivery((d) => ({
      ...d,
      received: d.received + 1,
      lastSeq: Math.max(d.lastSeq, q.seq),
      gaps: d.gaps + (d.lastSeq > 0 && q.seq > d.lastSeq + 1 ? 1 : 0),
      repeats: d.repeats + (q.seq <= d.lastSeq ? 1 : 0),
    }))
  const onReset = () => setDelivery((d) => ({ ...d, lastSeq: 0, resets: d.resets + 1 }))
  return { delivery, onQuote, onReset }
}

/** A stream's state as a definition list; each value has a test id (`report-<name>`). */
export function StreamReport({ rows }: { rows: Record<string, string | number | undefined> }) {
  return (
    <dl data-testid="report" style={{ display: 'grid', gridTemplateColumns: 'auto 1fr', gap: '2px 12px', margin: 0 }}>
      {Object.entries(rows).map(([name, value]) => (
        <div key={name} style={{ display: 'contents' }}>
          <dt>{name}</dt>
          <dd data-testid={`report-${name.replaceAll(' ', '-')}`}>{value ?? '—'}</dd>
        </div>
      ))}
    </dl>
  )
}

export const errorText = (error: RealtimeError | null | undefined) => (error ? `${error.kind}: ${error.message}` : undefined)

/** A row of buttons that act on the mock server, in a group named "Server". */
export function ServerButtons({ actions }: { actions: Record<string, () => unknown> }) {
  return (
    <div role="group" aria-label="Server" style={{ display: 'flex', flexWrap: 'wrap', gap: 8 }}>
      {Object.entries(actions).map(([label, act]) => (
        <button key={label} type="button" onClick={() => void act()}>
          {label}
        </button>
      ))}
    </div>
  )
}

export const panel = { fontFamily: 'system-ui, sans-serif', display: 'grid', gap: 12, maxWidth: 520 } as const
