/**
 * Realtime channels (issue 11) in a real browser: `createRealtime` pages (bundled from
 * bench/realtime-page.ts) in ONE Chromium context, against a loopback server of its own
 * (`createRealtimeHandler` over memory logs, bench/realtime-server.ts) with a ticker
 * appending to 12 channels and a switch that refuses WebSocket upgrades (a blocking proxy).
 *
 * 1. Server connections and subscriptions for N tabs × 5 channels, `share: 'tabs'` (the
 *    default) beside `share: 'tab'` (one connection per tab).
 * 2. Fallback time to SSE when WebSockets are blocked (from page load, and from a cut of the
 *    open WebSocket), default options; the move back after unblocking, `fallback.probe` 500.
 * 3. Lost / duplicated / out-of-order events per channel across leader changes (the leader
 *    tab closed, a new tab opened) and WebSocket → SSE → WebSocket moves, against the log.
 * 4. Bundle sizes, min+gzip: `useRealtime`, `createRealtime`, beside `useWebSocket`.
 *
 * Run: npm run bench:realtime -- [--tabs 8] [--runs 5] [--leader-changes 20] [--switches 5] [--bind-fetch]
 * (Node 24: types are stripped). Progress goes to stderr, the tables to stdout.
 */
import { readFileSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import { chromiumArgs, chromiumPath } from '../test/chromium.ts'
import { quantile, table } from './tabs-lib.ts'
import { bundlePage, bundleSize, CHANNELS, parseArgs, type RealtimeArgs, sum, USAGE, UsageError } from './realtime-lib.ts'
import { type ChurnResult, type ConnectionsResult, type FallbackRun, measureChurn, measureConnections, measureFallback } from './realtime-runs.ts'
import { type BenchServer, startBenchServer } from './realtime-server.ts'
import { log, withTimeout } from './realtime-tabs.ts'

const s = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '—')
const p50max = (values: readonly number[]) => {
  const ok = values.filter(Number.isFinite)
  const failed = values.length - ok.length
  return `${s(quantile(ok, 0.5))} / ${s(ok.length ? Math.max(...ok) : NaN)}${failed ? ` (${failed} timed out)` : ''}`
}
const kb = (bytes: number) => `${bytes} B`

/** Share of the machine's CPU busy over `ms` (Linux /proc/stat), for the header. */
async function busy(ms: number): Promise<number> {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    const idle = f[3]! + f[4]!
    return { idle, total: f.reduce((a, b) => a + b, 0) }
  }
  try {
    const a = read()
    await new Promise((r) => setTimeout(r, ms))
    const b = read()
    return 1 - (b.idle - a.idle) / (b.total - a.total)
  } catch {
    return NaN
  }
}

function connectionsTable(rows: ConnectionsResult[]): string {
  const cell = (f: (r: ConnectionsResult) => string) => rows.map(f)
  const body: string[][] = [
    ['tabs open (each holds 5 of 12 channels)', ...cell((r) => String(r.tabs))],
    ['tabs receiving every one of their channels', ...cell((r) => String(r.flowing))],
    ['server connections now: websocket / sse', ...cell((r) => `${r.websocket} / ${r.sse}`)],
    ['most connections open at once', ...cell((r) => String(r.maxConnections))],
    ['WebSocket upgrades accepted', ...cell((r) => String(r.upgrades))],
    ['channels subscribed at the server / union of the tabs', ...cell((r) => `${r.channels} / ${r.union}`)],
    ['subscriptions now (most at once)', ...cell((r) => `${r.subscriptions} (${r.maxSubscriptions})`)],
    ["tabs' status/transport", ...cell((r) => r.transports.join(', '))],
  ]
  return table(['', ...rows.map((r) => `share: '${r.share}'${r.share === 'tabs' ? ' (default)' : ' (baseline)'}`)], body)
}

function fallbackTable(runs: FallbackRun[]): string {
  const col = (f: (r: FallbackRun) => number) => p50max(runs.map(f))
  return table(
    ['', 'transport switched (p50 / max)', 'events flowing (p50 / max)'],
    [
      ['WebSocket blocked from page load → SSE (default options; from navigation start)', col((r) => r.loadState), col((r) => r.load)],
      ['open WebSocket cut + blocked → SSE (default options)', col((r) => r.dropState), col((r) => r.drop)],
      ['unblocked → back on WebSocket (fallback: { probe: 500 }, after ~1 s on SSE)', col((r) => r.backState), col((r) => r.back)],
    ],
  )
}

function churnTable(c: ChurnResult): string {
  const rows = CHANNELS.filter((name) => c.perChannel.has(name)).map((name) => {
    const { tabs, check } = c.perChannel.get(name)!
    return [name, String(tabs), String(check.delivered), String(check.lost), String(check.duplicated), String(check.outOfOrder), String(check.corrupt)]
  })
  const t = sum([...c.perChannel.values()].map((v) => v.check))
  const tabs = [...c.perChannel.values()].reduce((a, v) => a + v.tabs, 0)
  rows.push(['all', String(tabs), String(t.delivered), String(t.lost), String(t.duplicated), String(t.outOfOrder), String(t.corrupt)])
  return table(['channel', 'tab holds', 'delivered', 'lost', 'duplicated', 'out of order', 'wrong data'], rows)
}

/** Errors the tabs recorded, by message (without the tab), most frequent first. */
function countErrors(errors: readonly string[]): string[] {
  const counts = new Map<string, number>()
  for (const e of errors) {
    const text = e.replace(/^tab \d+: /, '')
    counts.set(text, (counts.get(text) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([text, n]) => `part 3: ${n}× error in tabs: ${text}`)
}

async function sizes(): Promise<string[][]> {
  const root = './src/index.ts'
  const core = './src/core/index.ts'
  const hasHook = /\buseRealtime\b/.test(readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8'))
  const ws = await bundleSize(['useWebSocket', root])
  const wsCore = await bundleSize(['createWebSocket', core])
  const client = await bundleSize(['createRealtime', core])
  const rows: string[][] = [['useWebSocket', "'tabwire'", kb(ws), '']]
  if (hasHook) {
    // useRealtime reads its client from RealtimeProvider (or an option); createRealtime comes from 'tabwire/core'.
    const hook = await bundleSize(['useRealtime', root])
    const app = await bundleSize(['useRealtime, RealtimeProvider', root], ['createRealtime', core])
    const both = await bundleSize(['useWebSocket, useRealtime, RealtimeProvider', root], ['createRealtime', core])
    rows.push(['useRealtime (the hook only, no client)', "'tabwire'", kb(hook), ''])
    rows.push(['useRealtime + RealtimeProvider + createRealtime', "'tabwire' + '/core'", kb(app), `what a realtime app imports: ${kb(app - ws)} vs useWebSocket`])
    rows.push(['… and useWebSocket too', "'tabwire' + '/core'", kb(both), `realtime adds ${kb(both - ws)} to an app that has useWebSocket`])
  } else rows.push(['useRealtime', "'tabwire'", 'not exported from src/index.ts yet', ''])
  const clients = await bundleSize(['createRealtime, createWebSocket', core])
  rows.push(['createWebSocket', "'tabwire/core'", kb(wsCore), ''])
  rows.push(['createRealtime', "'tabwire/core'", kb(client), `${kb(client - wsCore)} vs createWebSocket`])
  rows.push(['createRealtime + createWebSocket', "'tabwire/core'", kb(clients), `createRealtime adds ${kb(clients - wsCore)} to createWebSocket`])
  return rows
}

async function main(): Promise<number> {
  let args: RealtimeArgs
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    if (error.message) log(`bench/realtime: ${error.message}`)
    log(USAGE)
    return error.message ? 2 : 0
  }
  let server: BenchServer | undefined
  let browser: Browser | undefined
  let cleaning: Promise<void> | undefined
  const cleanup = () =>
    (cleaning ??= (async () => {
      await withTimeout(browser?.close() ?? Promise.resolve(), 20_000, 'close the browser').catch((e: unknown) => log(String(e)))
      await withTimeout(server?.close() ?? Promise.resolve(), 10_000, 'close the server').catch((e: unknown) => log(String(e)))
    })())
  const limit = 180_000 + args.runs * 90_000 + (args.leaderChanges + args.switches) * 45_000
  const watchdog = setTimeout(() => {
    log(`bench/realtime: still running after ${limit / 1000} s; giving up`)
    void cleanup().finally(() => process.exit(3))
  }, limit)
  const interrupt = () => {
    log('bench/realtime: interrupted')
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  try {
    const started = Date.now()
    const before = await busy(1000)
    log(`machine CPU busy before the bench: ${Math.round(before * 100)}%`)
    const page = await bundlePage(args.bindFetch)
    server = await startBenchServer(CHANNELS, () => page)
    server.tick(args.interval)
    log(`server at ${server.url}`)
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000, handleSIGINT: false, handleSIGTERM: false })
    const problems: string[] = []

    log(`1. connections: ${args.tabs} tabs, share 'tabs' then 'tab'`)
    const connections = [await measureConnections(browser, server, 'tabs', args.tabs, problems), await measureConnections(browser, server, 'tab', args.tabs, problems)]

    const fallbacks: FallbackRun[] = []
    for (let run = 0; run < args.runs; run++) {
      log(`2. fallback run ${run + 1}/${args.runs}`)
      fallbacks.push(await measureFallback(browser, server, run, problems))
    }

    log(`3. ${args.leaderChanges} leader changes and ${args.switches} transport switches over ${args.tabs} tabs`)
    const churnBusy = busy(3000)
    const churn = await measureChurn(browser, server, args.tabs, args.leaderChanges, args.switches, problems)
    const busyDuring = await churnBusy

    log('4. bundle sizes')
    const size = await sizes()

    const out: string[] = []
    out.push(`bench:realtime — Chromium ${browser.version()}, Node ${process.version}, ${new Date().toISOString()}`)
    out.push(
      `--tabs ${args.tabs} --runs ${args.runs} --leader-changes ${args.leaderChanges} --switches ${args.switches} --interval ${args.interval}${args.bindFetch ? ' --bind-fetch (pages pass a bound fetch: NOT the default options)' : ''} ` +
        `(12 channels, one append each every ${args.interval} ms); machine CPU busy before: ${Math.round(before * 100)}%, at the start of part 3: ${Math.round(busyDuring * 100)}% (2 cores, shared)`,
    )
    out.push('', `1. Server connections, ${args.tabs} tabs × 5 channels in one browser context (goal for 'tabs': 1 connection, exactly the union)`, connectionsTable(connections))
    out.push('', `2. Fallback to SSE when the server refuses WebSocket upgrades (502), and the move back; ${args.runs} runs (goal ≤ 3 s)`, fallbackTable(fallbacks))
    out.push(
      `   upgrades refused while blocked ~1 s on SSE (probe 500): ${fallbacks.map((f) => f.refused).join(', ')}; ` +
        `lost+duplicated+out-of-order in these runs' tabs: ${fallbacks.reduce((a, f) => a + f.faults, 0)}`,
    )
    out.push(
      '',
      `3. Every tab's deliveries against the server's log, over ${churn.leaderChanges} leader changes and ${churn.switches} transport switches with events flowing (goal 0 / 0 / 0)`,
      `   ${churn.tabsOpened} tabs over ${churn.seconds.toFixed(0)} s, pages with fallback: { probe: 500 }; each tab counted from its first event to its close (or to the log's end if open at the end)`,
      churnTable(churn),
      table(
        ['move', 'count', 'p50 / max'],
        [
          ['leader tab closed → every open tab has newer events on every channel', String(churn.leaderRecovery.length), p50max(churn.leaderRecovery)],
          ['WebSocket cut + blocked → every tab on SSE with newer events', String(churn.toSse.length), p50max(churn.toSse)],
          ['unblocked → every tab on WebSocket with newer events', String(churn.toWs.length), p50max(churn.toWs)],
        ],
      ),
    )
    out.push('', '4. Bundle size, min+gzip (esbuild --minify, NODE_ENV production, React external, gzip -9)', table(['import', 'from', 'size', ''], size))
    const notes = [
      ...churn.incidents.map((i) => `part 3: ${i}`),
      ...churn.resets.slice(0, 5).map((r) => `part 3 reset: ${r}`),
      ...countErrors(churn.errors),
      ...[...new Set(problems)].slice(0, 8),
    ]
    if (notes.length) out.push('', 'Notes', ...notes)
    process.stdout.write(`${out.join('\n')}\n`)
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`)
    return 0
  } finally {
    clearTimeout(watchdog)
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
    await cleanup()
  }
}

main().then(
  (code) => void (process.exitCode = code),
  (error: unknown) => {
    log(`bench/realtime: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exitCode = 1
  },
)
