/**
 * The page of bench/ticker.ts: one ticker of 1,000 symbols fed by a WebSocket whose every
 * message is a JSON array of `{ symbol, value }` updates. `?variant=` picks the ticker:
 *
 * - `naive`: a raw `WebSocket` whose `onmessage` puts the updates in a `useState` list (one
 *   state update per message; memoized rows, so only the way updates reach React differs);
 * - `live`: tabwire's `<LiveTicker>` + `useTicker`, fed by `useWebSocket`'s `onMessage`, the
 *   ticker given as the README shows it (`source={socket}`);
 * - `live-select`: the same with `select: () => null`, so the socket's `data` does not render
 *   the component that holds the ticker (only the ticker's own frames do).
 *
 * Plain `createElement`, no JSX: esbuild bundles this file as it is.
 */
import { createElement as h, memo, useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { LiveTicker, type TickerUpdate, useTicker } from '../src/components/index.ts'
import { useWebSocket } from '../src/index.ts'

/** What the bench reads from the page (`window.__tickerBench`); set up by the page's inline script. */
export interface TickerBenchState {
  variant: string
  status: string
  /** React commits of the page's root (a DevTools hook's `onCommitFiberRoot`). */
  commits: number
  /** requestAnimationFrame callbacks. */
  frames: number
  /** WebSocket messages and the updates in them, as the page took them. */
  messages: number
  updates: number
  errors: string[]
}

declare global {
  interface Window {
    __tickerBench: TickerBenchState
  }
}

const bench = window.__tickerBench
const params = new URLSearchParams(location.search)
const url = params.get('url') ?? ''
bench.variant = params.get('variant') ?? ''

const take = (updates: readonly TickerUpdate[]) => {
  bench.messages++
  bench.updates += updates.length
}

interface Row {
  symbol: string
  value: number
  previous: number | undefined
}

const NaiveRow = memo(function NaiveRow({ row }: { row: Row }) {
  const change = row.previous === undefined ? 0 : row.value - row.previous
  return h(
    'tr',
    { 'data-symbol': row.symbol },
    h('th', { scope: 'row' }, row.symbol),
    h('td', null, row.value.toFixed(2)),
    h('td', null, row.previous === undefined ? '' : `${change > 0 ? '▲' : change < 0 ? '▼' : '–'} ${Math.abs(change).toFixed(2)}`),
  )
})

/** Row of each symbol in the list: rows only ever get appended. */
const positions = new Map<string, number>()

function Naive() {
  const [rows, setRows] = useState<readonly Row[]>([])
  useEffect(() => {
    const socket = new WebSocket(url)
    socket.onopen = () => void (bench.status = 'open')
    socket.onclose = () => void (bench.status = 'closed')
    socket.onmessage = (event: MessageEvent<string>) => {
      const updates = JSON.parse(event.data) as TickerUpdate[]
      take(updates)
      setRows((before) => {
        const next = before.slice()
        for (const { symbol, value } of updates) {
          const at = positions.get(symbol)
          if (at === undefined) {
            positions.set(symbol, next.length)
            next.push({ symbol, value, previous: undefined })
          } else next[at] = { symbol, value, previous: next[at]!.value }
        }
        return next
      })
    }
    return () => socket.close()
  }, [])
  return h('table', null, h('tbody', null, rows.map((row) => h(NaiveRow, { key: row.symbol, row }))))
}

const noData = () => null

function Live({ select }: { select: boolean }) {
  const ticker = useTicker<readonly TickerUpdate[]>()
  const socket = useWebSocket<readonly TickerUpdate[], never, unknown>(url, {
    json: true,
    onMessage: (message) => {
      take(message.data)
      ticker.onMessage(message)
    },
    ...(select && { select: noData }),
  })
  useEffect(() => void (bench.status = socket.status), [socket.status])
  return h(LiveTicker, { ticker, source: socket, label: 'Bench' })
}

const views: Record<string, () => ReturnType<typeof h>> = {
  naive: () => h(Naive),
  live: () => h(Live, { select: false }),
  'live-select': () => h(Live, { select: true }),
}
const view = views[bench.variant]
if (!view) bench.errors.push(`unknown variant '${bench.variant}'`)
else createRoot(document.getElementById('root')!).render(view())

const frame = () => {
  bench.frames++
  requestAnimationFrame(frame)
}
requestAnimationFrame(frame)
