/**
 * `tabwire/server` under fan-out load, side by side in one run with the physical floor on
 * this machine: tabwire's SSE and WebSocket handlers, and a bare `node:http` SSE loop and a
 * bare `ws` broadcast loop (bench/server-host.ts). Issue 10.
 *
 * Each variant gets a fresh server process (its CPU and memory are its own), `--clients` SSE
 * and `--clients` WebSocket connections from `--procs` client processes per transport
 * (bench/server-clients.ts, which check that every connection gets every event in order),
 * all on 127.0.0.1. Printed per variant:
 *
 * - memory per idle SSE / WebSocket client (heap + external after GC, and RSS);
 * - server CPU per delivered event per client: at each of `--cpu-rates` events/s for
 *   `--cpu-seconds` to one transport's clients, the server's `process.cpuUsage()` from the
 *   first append until every client has every event (at low rates each event is a write of
 *   its own to each socket, a syscall; at high rates batching pays);
 * - delivery latency p50 / p99 of a burst of `--burst` events appended in one tick, per
 *   transport;
 * - the highest event rate (of `--rates`, `--step` s each, to both transports at once) that
 *   the server keeps up with, every client getting every event in order within `--drain` s
 *   of the last append, none dropped.
 *
 * Run: npm run bench:server [-- --clients 1000 --procs 2 --only tabwire]. Figures go to
 * stdout, progress to stderr.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { ClientRequest, ClientStats, HostReply, HostRequest, Target } from './server-protocol.ts'

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    procs: { type: 'string', default: '2' },
    'cpu-rates': { type: 'string', default: '100,1000' },
    'cpu-seconds': { type: 'string', default: '1.5' },
    burst: { type: 'string', default: '1000' },
    rates: { type: 'string', default: '25,50,100,200,400,800,1600,3200' },
    step: { type: 'string', default: '2' },
    drain: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
})
const clients = Number(args.clients)
const procs = Number(args.procs)
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const progress = (text: string) => process.stderr.write(`${text}\n`)

/** A request without its id (Omit that keeps a union's members apart). */
type Unsent<T> = T extends unknown ? Omit<T, 'id'> : never

/** A forked process that answers requests by id. */
function rpc<Req extends { id: number }, Rep extends { id: number }>(child: ChildProcess) {
  let id = 0
  const waiting = new Map<number, (reply: Rep) => void>()
  child.on('message', (message: Rep) => waiting.get(message.id)?.(message))
  return (request: Unsent<Req>): Promise<Rep> =>
    new Promise((resolve) => {
      const mine = ++id
      waiting.set(mine, (reply) => (waiting.delete(mine), resolve(reply)))
      child.send({ ...request, id: mine })
    })
}

/** Resolves with the first message that has `key`. */
function first<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (message: Record<string, unknown>) => {
      if ('failed' in message) reject(new Error(String(message.failed)))
      if (key in message) (child.off('message', listener), resolve(message as T))
    }
    child.on('message', listener)
    child.once('exit', (code) => reject(new Error(`a bench process exited (${code})`)))
  })
}

type Client = (request: Unsent<ClientRequest>) => Promise<ClientStats>
const children: ChildProcess[] = []

async function openClients(kind: 'sse' | 'ws', variant: string, port: number): Promise<Client[]> {
  const group = Array.from({ length: procs }, (_, i) => {
    const n = Math.floor(clients / procs) + (i < clients % procs ? 1 : 0)
    const child = fork(here('./server-clients.ts'), [kind, variant, String(port), String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.push(child)
    return child
  })
  const ready = await Promise.all(group.map((child) => first<{ ready: number }>(child, 'ready')))
  const open = ready.reduce((sum, r) => sum + r.ready, 0)
  if (open !== clients) throw new Error(`${open} of ${clients} ${kind} clients opened`)
  return group.map((child) => rpc<ClientRequest, ClientStats>(child))
}

interface Totals {
  open: number
  complete: number
  delivered: number
  wrong: number
  dropped: number
  histogram: Map<number, number>
}

async function totals(group: Client[]): Promise<Totals> {
  const all = await Promise.all(group.map((client) => client({ type: 'stats' })))
  const histogram = new Map<number, number>()
  for (const s of all) for (const [bucket, n] of s.histogram) histogram.set(bucket, (histogram.get(bucket) ?? 0) + n)
  const sum = (key: 'open' | 'complete' | 'delivered' | 'wrong' | 'dropped') => all.reduce((total, s) => total + s[key], 0)
  return { open: sum('open'), complete: sum('complete'), delivered: sum('delivered'), wrong: sum('wrong'), dropped: sum('dropped'), histogram }
}

/** Polls until every connection of `group` got the whole range, or `timeout` ms pass. */
async function settle(group: Client[], connections: number, timeout: number) {
  const until = Date.now() + timeout
  for (;;) {
    const t = await totals(group)
    if (t.complete === connections || Date.now() > until) return t
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function percentile(histogram: Map<number, number>, p: number) {
  const buckets = [...histogram].sort((a, b) => a[0] - b[0])
  const total = buckets.reduce((sum, [, n]) => sum + n, 0)
  let seen = 0
  for (const [bucket, n] of buckets) if ((seen += n) >= total * p) return bucket / 10
  return Number.NaN
}

interface VariantResult {
  memory: Record<'sse' | 'ws', { heap: number; rss: number }>
  cpu: Record<'sse' | 'ws', { rate: number; perEvent: number; system: number; delivered: number; expected: number }[]>
  latency: Record<'sse' | 'ws', { p50: number; p99: number; delivered: number; expected: number; ms: number }>
  maxRate: number
  ladder: string[]
}

async function run(variant: 'tabwire' | 'bare'): Promise<VariantResult> {
  const host = fork(here('./server-host.ts'), [variant], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.push(host)
  const { port } = await first<{ port: number }>(host, 'port')
  const ask = rpc<HostRequest, HostReply>(host)
  let next = 1
  const send = async (target: Target, count: number, rate: number) => {
    const reply = await ask({ type: 'send', target, from: next, count, rate })
    next += count
    return reply
  }
  const expectAll = (group: Client[], from: number, count: number) => Promise.all(group.map((c) => c({ type: 'expect', from, to: from + count - 1 })))

  progress(`${variant}: opening ${clients} SSE + ${clients} WebSocket clients`)
  const m0 = await ask({ type: 'mem' })
  const groups = { sse: await openClients('sse', variant, port), ws: [] as Client[] }
  const m1 = await ask({ type: 'mem' })
  groups.ws = await openClients('ws', variant, port)
  const m2 = await ask({ type: 'mem' })
  const per = (a: HostReply, b: HostReply) => ({ heap: (b.heap! - a.heap!) / clients, rss: (b.rss! - a.rss!) / clients })
  const memory = { sse: per(m0, m1), ws: per(m1, m2) }

  const cpu: VariantResult['cpu'] = { sse: [], ws: [] }
  for (const target of ['sse', 'ws'] as const) {
    for (const rate of args['cpu-rates'].split(',').map(Number)) {
      const count = Math.round(rate * Number(args['cpu-seconds']))
      progress(`${variant}: CPU, ${count} events at ${rate}/s to the ${target} clients`)
      await expectAll(groups[target], next, count)
      const before = await ask({ type: 'cpu' })
      await send(target, count, rate)
      const t = await settle(groups[target], clients, 30_000)
      const after = await ask({ type: 'cpu' })
      const delivered = Math.max(1, t.delivered)
      cpu[target].push({ rate, perEvent: (after.cpu! - before.cpu!) / delivered, system: (after.system! - before.system!) / delivered, delivered: t.delivered, expected: count * clients })
    }
  }

  const burst = Number(args.burst)
  const latency = {} as VariantResult['latency']
  for (const target of ['sse', 'ws'] as const) {
    progress(`${variant}: a burst of ${burst} events in one tick to the ${target} clients`)
    await expectAll(groups[target], next, burst)
    const started = Date.now()
    await send(target, burst, 0)
    const t = await settle(groups[target], clients, 60_000)
    const ms = Date.now() - started
    latency[target] = { p50: percentile(t.histogram, 0.5), p99: percentile(t.histogram, 0.99), delivered: t.delivered, expected: burst * clients, ms }
  }

  let maxRate = 0
  const ladder: string[] = []
  const all = [...groups.sse, ...groups.ws]
  for (const rate of args.rates.split(',').map(Number)) {
    const count = Math.round(rate * Number(args.step))
    progress(`${variant}: ${rate} events/s for ${args.step} s to every client`)
    await expectAll(all, next, count)
    const sent = await send('both', count, rate)
    const t = await settle(all, 2 * clients, Number(args.drain) * 1000)
    const ok = t.complete === 2 * clients && t.wrong === 0 && t.dropped === 0 && sent.lagMs! < 500
    ladder.push(`${rate}/s ${ok ? 'kept up' : `failed (${t.complete} of ${2 * clients} complete, ${t.wrong} wrong, ${t.dropped} dropped, append lag ${Math.round(sent.lagMs!)} ms)`}`)
    if (!ok) break
    maxRate = rate
  }
  for (const child of children.splice(0)) child.kill()
  return { memory, cpu, latency, maxRate, ladder }
}

const variants = (['bare', 'tabwire'] as const).filter((v) => !args.only || v === args.only)
const results = new Map<string, VariantResult>()
try {
  for (const variant of variants) results.set(variant, await run(variant))
} finally {
  for (const child of children) child.kill()
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`
const us = (n: number) => `${n.toFixed(2)} µs`
const ratio = (a: number, b: number | undefined) => (b ? ` (${(a / b).toFixed(2)}x bare)` : '')
const bare = results.get('bare')
console.log(`\nnpm run bench:server: ${clients} SSE + ${clients} WebSocket clients on 127.0.0.1, Node ${process.version}`)
for (const [variant, r] of results) {
  const b = variant === 'bare' ? undefined : bare
  console.log(`\n${variant}`)
  for (const t of ['sse', 'ws'] as const) {
    const name = t === 'sse' ? 'SSE' : 'WebSocket'
    console.log(`  ${name}: memory per idle client ${kb(r.memory[t].heap)} heap, ${kb(r.memory[t].rss)} RSS`)
    r.cpu[t].forEach((c, i) =>
      console.log(
        `  ${name}: server CPU per delivered event per client at ${c.rate} events/s ${us(c.perEvent)}${ratio(c.perEvent, b?.cpu[t][i]?.perEvent)}` +
          ` (system ${us(c.system)}; ${c.delivered} of ${c.expected} delivered)`,
      ),
    )
    const l = r.latency[t]
    console.log(
      `  ${name}: burst of ${args.burst} in one tick: latency from its start p50 ${l.p50.toFixed(1)} ms${ratio(l.p50, b?.latency[t].p50)}, p99 ${l.p99.toFixed(1)} ms${ratio(l.p99, b?.latency[t].p99)},` +
        ` all delivered after ${l.ms} ms (${l.delivered} of ${l.expected})`,
    )
  }
  console.log(`  SSE p50 / WebSocket p50: ${(r.latency.sse.p50 / r.latency.ws.p50).toFixed(2)}`)
  console.log(`  highest rate kept up with, to every SSE + WebSocket client: ${r.maxRate} events/s (${r.ladder.join('; ')})`)
}
