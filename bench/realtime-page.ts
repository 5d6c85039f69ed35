/**
 * The page of bench/realtime.ts (bundled with esbuild): one `createRealtime` client with the
 * default options (`share: 'tabs'`, `transport: 'auto'`) unless the query says otherwise
 * (`share=tab`, `probe=500`), holding the channels in `ch` (comma-separated). It records into
 * `window.__rt` every delivered message per channel (id, data as JSON, Date.now()), every
 * change of the client's status and transport, resets, errors, and when this tab held the
 * cross-tab leader lock (Web Locks: `<namespace>:v<N>:<hash>`), for the bench to read.
 */
import { createRealtime } from '../src/core/realtime/client.ts'
import type { RealtimeOptions } from '../src/core/realtime/client-types.ts'

export interface PageRecord {
  channels: string[]
  /** Per channel: [id (null for a snapshot), JSON of the data, Date.now()]. */
  msgs: Record<string, [string | null, string, number][]>
  /** [Date.now(), status, transport] at each change. */
  states: [number, string, string | undefined][]
  resets: string[]
  errors: string[]
  /** Whether this tab holds the leader lock now, and since when. */
  leading: boolean
  leadAt: number
}

const query = new URLSearchParams(location.search)
const channels = (query.get('ch') ?? '').split(',').filter(Boolean)
const record: PageRecord = { channels, msgs: {}, states: [], resets: [], errors: [], leading: false, leadAt: 0 }
;(window as unknown as { __rt: PageRecord }).__rt = record

// Which tab leads: the cross-tab layer holds its lock for the whole leadership.
const request = LockManager.prototype.request as (this: LockManager, name: string, ...rest: unknown[]) => Promise<unknown>
LockManager.prototype.request = function (this: LockManager, name: string, ...rest: unknown[]) {
  const callback = rest.at(-1) as (lock: Lock | null) => unknown
  if (!/^[^:]+:v\d+:/.test(name)) return request.call(this, name, ...rest)
  const wrapped = async (lock: Lock | null) => {
    if (lock) Object.assign(record, { leading: true, leadAt: Date.now() })
    try {
      return await callback(lock)
    } finally {
      if (lock) record.leading = false
    }
  }
  return request.call(this, name, ...rest.slice(0, -1), wrapped)
} as LockManager['request']

declare const BENCH_BIND_FETCH: boolean
const options: RealtimeOptions = { url: '/realtime' }
// `--bind-fetch`: works around the realtime SSE link calling `fetch` unbound (see bench/realtime.ts).
if (BENCH_BIND_FETCH) options.fetch = (input, init) => globalThis.fetch(input, init)
if (query.get('share') === 'tab') options.share = 'tab'
if (query.get('probe')) options.fallback = { probe: Number(query.get('probe')) }
const client = createRealtime(options)
const onState = () => {
  const s = client.getSnapshot()
  const last = record.states.at(-1)
  if (!last || last[1] !== s.status || last[2] !== s.transport) record.states.push([Date.now(), s.status, s.transport])
}
client.subscribe(onState)
const describe = (e: Error) => `${(e as { kind?: string }).kind}: ${e.message}${e.cause instanceof Error ? ` (cause: ${e.cause.name}: ${e.cause.message})` : ''}`
client.onError((e) => void record.errors.push(describe(e)))
for (const name of channels) {
  const list: PageRecord['msgs'][string] = (record.msgs[name] = [])
  const channel = client.channel(name)
  channel.onMessage((m) => void list.push([m.snapshot ? null : (m.id ?? null), JSON.stringify(m.data), Date.now()]))
  channel.onReset((r) => void record.resets.push(`${r.channel}: ${r.reason}`))
  channel.onError((e) => void record.errors.push(`${name}: ${describe(e)}`))
}
onState()
