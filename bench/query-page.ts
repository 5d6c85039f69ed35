/**
 * The page of bench/query.ts (bundled with esbuild): a real QueryClient with one mounted
 * observer per key (`['item', k]`, fetched from the counted `/api/item/k`), kept fresh from the
 * realtime channel `changes` (messages `{ key }`) in one of two ways, from `?mode=`:
 * - `tabwire`: `createQueryBridge(queryClient, { invalidate, share: 'tabs' })` attached to the channel
 *   (with `&window=ms`, invalidations gathered over that window instead of one frame);
 * - `recipe`: TkDodo's "Using WebSockets with React Query": each message calls
 *   `queryClient.invalidateQueries({ queryKey })` in every tab.
 * Both listen on the same realtime client (one connection per browser), so only the
 * invalidation strategy differs. `window.__q` exposes what the bench reads.
 */
import { QueryClient, QueryObserver } from '@tanstack/query-core'
import { createRealtime } from '../src/core/realtime/client.ts'
import { createQueryBridge } from '../src/query/bridge.ts'

type Change = { key: number }
const query = new URLSearchParams(location.search)
const mode = query.get('mode') ?? 'tabwire'
const keys = Number(query.get('keys') ?? '10')

const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, gcTime: Infinity, retry: false } } })
const record = { messages: 0, ready: 0, errors: [] as string[], heardAt: [] as number[], fetched: [] as string[] }
for (let k = 0; k < keys; k++) {
  const observer = new QueryObserver(queryClient, {
    queryKey: ['item', k],
    queryFn: async ({ signal }) => (record.fetched.push(`k${k}@${record.messages}`), (await fetch(`/api/item/${k}`, { signal })).json() as Promise<{ v: number }>),
  })
  let seen = false
  observer.subscribe((r) => {
    if (r.status === 'success' && !seen) (seen = true), record.ready++
  })
}

const realtime = createRealtime({ url: '/realtime' })
const channel = realtime.channel<Change>('changes')
channel.onMessage(() => void (record.messages++, record.heardAt.push(performance.now())))
channel.onError((e) => void record.errors.push(`${e.kind}: ${e.message}`))
const keyOf = (data: Change) => (data.key >= 0 ? [['item', data.key]] : [])
const window_ = query.get('window')
if (mode === 'tabwire') {
  const bridge = createQueryBridge<Change>(queryClient, {
    invalidate: (m) => keyOf(m.data),
    share: 'tabs',
    ...(window_ ? { window: Number(window_) } : {}),
    onError: (e) => void record.errors.push(`bridge ${e.kind}: ${e.message}`),
  })
  bridge.attach(channel)
} else {
  channel.onMessage((m) => {
    for (const queryKey of keyOf(m.data)) void queryClient.invalidateQueries({ queryKey })
  })
}

Object.assign(window, {
  __q: {
    record,
    status: () => ({ ...record, fetching: queryClient.isFetching(), realtime: channel.getSnapshot().status }),
  },
})
