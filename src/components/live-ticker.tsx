'use client'
import { memo, useEffect, useId, useState, useSyncExternalStore } from 'react'
import type { ConnectionStatus, RealtimeError } from '../core/index'
import { visuallyHidden } from './runtime'
import { createTicker, type Ticker, type TickerOptions, type TickerRow } from './ticker'
import { useReducedMotion } from './use-reduced-motion'

/**
 * The ticker of a component: made on first render, kept for its life (options are read
 * then; later changes are ignored), its frame cancelled at unmount.
 * @example
 * const ticker = useTicker<Quote>({ read: (q) => ({ symbol: q.symbol, value: q.price }) })
 * const quotes = useEventSource<Quote>('/api/quotes', { json: true, onMessage: ticker.onMessage })
 * return <LiveTicker ticker={ticker} source={quotes} />
 */
export function useTicker<T>(options: TickerOptions<T> = {}): Ticker<T> {
  const [ticker] = useState(() => createTicker(options))
  useEffect(() => () => ticker.dispose(), [ticker])
  return ticker
}

/** What the ticker needs of a stream: the result of `useEventSource`, `useWebSocket` or `useRealtime` fits. */
export interface TickerSource {
  readonly status: ConnectionStatus
  readonly error?: RealtimeError | null
}

/** Props of {@link LiveTicker}. */
export interface LiveTickerProps {
  /**
   * Where the rows come from (required).
   * @example <LiveTicker ticker={useTicker<Quote>({ read: (q) => ({ symbol: q.symbol, value: q.price }) })} />
   */
  ticker: Ticker<unknown>
  /**
   * The stream the ticker is fed from: while it is not `open` the ticker is stale
   * (`data-state="stale"`, with the time of its last update), and its `parse` errors show.
   * @defaultValue none: never stale
   * @example <LiveTicker ticker={ticker} source={useEventSource('/api/quotes', { onMessage: ticker.onMessage })} />
   */
  source?: TickerSource
  /**
   * The region's accessible name.
   * @defaultValue 'Live values'
   * @example { label: 'Quotes' }
   */
  label?: string
  /**
   * Formats a value. Keep its identity (module level or `useCallback`): a new one renders every row.
   * @defaultValue `toLocaleString` with up to 2 decimals
   * @example { format: (v) => `$${v.toFixed(2)}` }
   */
  format?: (value: number, symbol: string) => string
  /**
   * Formats the "as of" time of a stale or paused ticker.
   * @defaultValue the time of day in the user's locale
   * @example { formatTime: (t) => new Date(t).toLocaleTimeString('en-GB') }
   */
  formatTime?: (time: number) => string
  /**
   * Switches on a `role="status"` line that screen readers announce, at most once per the
   * ticker's `summaryInterval` (WCAG 2.2.2: the ticking values themselves are `aria-live="off"`).
   * @defaultValue none
   * @example { summary: (rows) => `${rows.filter((r) => r.direction === 'up').length} of ${rows.length} up` }
   */
  summary?: (rows: readonly TickerRow[]) => string
  /**
   * Turns the change highlight off. Set it to force a value.
   * @defaultValue the user's `prefers-reduced-motion`
   * @example { reducedMotion: true } // never flash, whatever the user prefers
   */
  reducedMotion?: boolean
  /** A class for the root. @defaultValue none @example { className: 'quotes' } */
  className?: string
}

// One formatter, made on first use: `toLocaleString` with options builds a new one per call,
// which a thousand rows a frame would pay for.
let numbers: Intl.NumberFormat | undefined
const defaultFormat = (value: number) => (numbers ??= new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 })).format(value)
const defaultTime = (time: number) => new Date(time).toLocaleTimeString()
const ARROWS = { up: '▲', down: '▼', unchanged: '–' } as const
const WORDS = { up: 'up', down: 'down', unchanged: 'unchanged' } as const

const Row = /* @__PURE__ */ memo(function Row({ row, format, motion }: { row: TickerRow; format: NonNullable<LiveTickerProps['format']>; motion: boolean }) {
  const highlight = motion && row.version > 1 && row.direction !== 'unchanged' ? row.direction : undefined
  return (
    <tr data-tabwire-ticker-row="" data-symbol={row.symbol} data-direction={row.direction}>
      <th scope="row">{row.symbol}</th>
      {/* Keyed by version: a new update remounts the cell, so its highlight animation plays again. */}
      <td key={row.version} data-tabwire-ticker-value="" data-highlight={highlight}>
        {format(row.value, row.symbol)}
      </td>
      {/* A first value has no change to show. */}
      <td data-tabwire-ticker-change="" data-direction={row.direction}>
        {row.previous === undefined ? null : (
          <>
            <span aria-hidden="true">{ARROWS[row.direction]} </span>
            <span style={visuallyHidden}>{WORDS[row.direction]} </span>
            {format(Math.abs(row.change), row.symbol)}
          </>
        )}
      </td>
    </tr>
  )
})

function Summary({ ticker, summary }: { ticker: Ticker<unknown>; summary: NonNullable<LiveTickerProps['summary']> }) {
  const rows = useSyncExternalStore(ticker.subscribeSummary, ticker.getSummary, ticker.getSummary)
  return (
    <p role="status" data-tabwire-ticker-summary="">
      {rows.length ? summary(rows) : ''}
    </p>
  )
}

function LiveTickerView({ ticker, source, label = 'Live values', format = defaultFormat, formatTime = defaultTime, summary, reducedMotion, className }: LiveTickerProps) {
  const t = ticker
  const { rows, updatedAt, paused, error } = useSyncExternalStore(t.subscribe, t.getSnapshot, t.getSnapshot)
  const motion = !useReducedMotion(reducedMotion)
  const stale = source !== undefined && source.status !== 'open'
  const shownError = error ?? (source?.error?.kind === 'parse' ? source.error : null)
  const tableId = useId()
  return (
    <section data-tabwire-ticker="" data-state={stale ? 'stale' : 'live'} data-paused={paused ? '' : undefined} aria-label={label} className={className}>
      <div data-tabwire-ticker-toolbar="">
        <button type="button" data-tabwire-ticker-pause="" data-state={paused ? 'paused' : 'playing'} aria-controls={tableId} onClick={paused ? t.resume : t.pause}>
          {paused ? 'Resume updates' : 'Pause updates'}
        </button>
        {stale || paused ? (
          <p data-tabwire-ticker-as-of="">
            {stale ? 'Not live' : 'Paused'}
            {updatedAt === undefined ? '' : ', as of '}
            {updatedAt === undefined ? null : <time dateTime={new Date(updatedAt).toISOString()}>{formatTime(updatedAt)}</time>}
          </p>
        ) : null}
      </div>
      {shownError ? (
        <p data-tabwire-ticker-error="" data-kind={shownError.kind}>
          {shownError.message}
        </p>
      ) : null}
      {summary ? <Summary ticker={t} summary={summary} /> : null}
      <table id={tableId} aria-live="off">
        <thead>
          <tr>
            <th scope="col">Symbol</th>
            <th scope="col">Value</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <Row key={row.symbol} row={row} format={format} motion={motion} />
          ))}
        </tbody>
      </table>
    </section>
  )
}

/** A new stream result every render must not render the ticker: only its status and error count. */
const sameProps = (a: LiveTickerProps, b: LiveTickerProps) =>
  (Object.keys({ ...a, ...b }) as (keyof LiveTickerProps)[]).every((k) =>
    k === 'source' ? a.source?.status === b.source?.status && a.source?.error === b.source?.error : a[k] === b[k],
  )

/**
 * Rows of live values keyed by symbol: the value, its change as ▲/▼ text (and
 * `data-direction` for colour), a brief highlight on change (off under reduced motion), stale
 * marking with the time of the last update while the stream is not open, and a pause button.
 * Renders at most once per frame; only rows that changed re-render. Unstyled: style it by
 * its `data-tabwire-ticker*` attributes, or import `tabwire/components/styles.css`.
 * @example
 * const ticker = useTicker<Quote>({ read: (q) => ({ symbol: q.symbol, value: q.price }) })
 * const quotes = useEventSource<Quote>('/api/quotes', { json: true, onMessage: ticker.onMessage })
 * return <LiveTicker ticker={ticker} source={quotes} label="Quotes" />
 */
export const LiveTicker = /* @__PURE__ */ memo(LiveTickerView, sameProps)
