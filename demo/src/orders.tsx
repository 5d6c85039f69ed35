import { QueryClient, useQuery } from '@tanstack/react-query'
import { useSyncExternalStore } from 'react'
import { useRealtimeQueryBridge } from 'tabwire/query'
import type { OrderChange, OrdersPage } from '../shared.ts'
import { config } from './config.ts'
import { realtime } from './realtime-client.ts'

/**
 * The page's QueryClient. Socket-fed: nothing is refetched by time, focus or reconnect; the
 * bridge refetches when the `orders` channel says something changed (or could have: a reset).
 */
export const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: Infinity, refetchOnWindowFocus: false, refetchOnReconnect: false, retry: 1 } },
})

/** What this tab fetched, on `window.__orders` for tests. */
export interface OrdersRecording {
  /** `GET /api/orders` requests this tab made (started). */
  fetches: number
  /** Of those, the ones in flight now. */
  inFlight: number
  /** The version of every list this tab's query got (fetched here or set from another tab). */
  versions: number[]
  /** The change events the channel delivered here, and when (ms since the epoch). */
  changes: (OrderChange & { at: number })[]
  /** When each fetch started (ms since the epoch). */
  started: number[]
}

declare global {
  interface Window {
    __orders: OrdersRecording
  }
}

const recording: OrdersRecording = { fetches: 0, inFlight: 0, versions: [], changes: [], started: [] }
window.__orders = recording
const listeners = new Set<() => void>()
const notify = () => listeners.forEach((listener) => listener())
const subscribe = (listener: () => void) => (listeners.add(listener), () => void listeners.delete(listener))

async function fetchOrders({ signal }: { signal: AbortSignal }): Promise<OrdersPage> {
  recording.fetches++
  recording.started.push(performance.timeOrigin + performance.now())
  if (recording.started.length > 100) recording.started.shift()
  recording.inFlight++
  notify()
  try {
    const response = await fetch('/api/orders', { signal, cache: 'no-store' })
    if (!response.ok) throw new Error(`GET /api/orders: HTTP ${response.status}`)
    return (await response.json()) as OrdersPage
  } finally {
    recording.inFlight--
    notify()
  }
}

const CHANGES = 5

/** Orders as a TanStack query, refetched once per browser for each change (the bridge's default `share: 'tabs'`). Items are untrusted: text only. */
export function Orders() {
  const query = useQuery({ queryKey: ['orders'], queryFn: fetchOrders })
  const fetches = useSyncExternalStore(subscribe, () => recording.fetches)
  useRealtimeQueryBridge<OrderChange>(realtime, 'orders', {
    invalidate: (message) => {
      recording.changes.push({ ...message.data, at: performance.timeOrigin + performance.now() })
      if (recording.changes.length > CHANGES * 20) recording.changes.splice(0, CHANGES * 10)
      return [['orders']]
    },
    keys: [['orders']],
    // The bridge's defaults: one refetch per browser, a key sent once quiet for a frame.
    // `?window=ms` gathers changes for that long instead.
    window: config.window > 0 ? config.window : undefined,
  })
  const page = query.data
  if (page && recording.versions.at(-1) !== page.version) recording.versions.push(page.version)

  return (
    <section aria-labelledby="orders-title">
      <h2 id="orders-title">
        Orders{' '}
        <span className="meta" data-testid="orders-state" data-fetching={query.isFetching} data-version={page?.version ?? ''} data-request={page?.requests ?? ''}>
          {query.isPending ? 'loading…' : query.isError ? `error: ${query.error.message}` : `version ${page!.version}`} · this tab fetched{' '}
          <strong data-testid="orders-fetches">{fetches}</strong>×
        </span>
      </h2>
      <table className="orders" data-testid="orders">
        <thead>
          <tr>
            <th>#</th>
            <th>item</th>
            <th>qty</th>
            <th>status</th>
          </tr>
        </thead>
        <tbody>
          {page?.orders
            .slice()
            .reverse()
            .map((order) => (
              <tr key={order.id} data-order={order.id}>
                <td>{order.id}</td>
                <td>{String(order.item)}</td>
                <td>{Number(order.quantity)}</td>
                <td>{String(order.status)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  )
}
