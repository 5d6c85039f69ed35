/**
 * tabwire/query in a real browser (issue 12): N tabs of ONE Chromium context, each with a
 * real QueryClient holding 10 queries (`['item', k]`, fetched from a counted loopback HTTP
 * endpoint), kept fresh from a realtime channel (`createRealtimeHandler`) by either
 * tabwire's bridge (`share: 'tabs'`) or TkDodo's recipe (`invalidateQueries` per message,
 * in every tab). bench/query-page.ts is the page, bench/query-server.ts the server.
 *
 * (a) HTTP refetches for ONE change event (one key), 1 / 4 / 8 tabs (goal: 1 vs N).
 * (b) HTTP refetches for a burst of 1,000 change events on 10 keys (goal: ≤ 10, one per key).
 * Rows `window: 1000` gather invalidations for a fixed 1 s instead of the default (a key goes out
 * once quiet for a frame, or `maxWait`, 1 s, after its first change).
 * (c) `tabwire/query` min+gzip, React and TanStack external.
 *
 * Run: npm run bench:query -- [--tabs 1,4,8] [--runs 3] [--window 1000]. Progress to stderr, tables to stdout.
 */
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { chromiumArgs, chromiumPath } from '../test/chromium.ts'
import { bundleSize } from './realtime-lib.ts'
import { log, sleep, until } from './realtime-tabs.ts'
import { table } from './tabs-lib.ts'
import { type QueryBenchServer, startQueryServer } from './query-server.ts'

const KEYS = 10
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const tabCounts = arg('tabs', '1,4,8').split(',').map(Number)
const runs = Number(arg('runs', '3'))
const modes = ['tabwire', 'tabwire-window', 'recipe'] as const
/** The gathering window of the `tabwire-window` rows (ms): longer than the burst takes to arrive. */
const WINDOW = Number(arg('window', '1000'))
type Mode = (typeof modes)[number]

interface Status { messages: number; ready: number; errors: string[]; fetching: number; realtime: string; heardAt: number[]; fetched: string[] }
const status = (page: Page) => page.evaluate(() => (window as unknown as { __q: { status(): Status } }).__q.status())

/** Waits until every tab heard `messages` messages and nothing fetched for `quietMs` (no request at the server either). */
async function settle(server: QueryBenchServer, pages: Page[], messages: number, quietMs: number): Promise<void> {
  await until(async () => ((await Promise.all(pages.map(status))).every((s) => s.messages >= messages) ? true : undefined), 30_000, `${messages} messages in every tab`)
  let quiet = 0
  let last = -1
  await until(async () => {
    const all = await Promise.all(pages.map(status))
    const total = server.requests().total
    quiet = all.every((s) => s.fetching === 0) && total === last ? quiet + 1 : 0
    last = total
    return quiet * 100 >= quietMs ? true : undefined
  }, 60_000, 'no fetch anywhere', 100)
}

async function measure(context: BrowserContext, server: QueryBenchServer, mode: Mode, tabs: number) {
  // Quiet for longer than the bridge may gather invalidations before it sends them.
  const quietMs = mode === 'tabwire-window' ? WINDOW + 600 : 600
  const pages: Page[] = []
  for (let i = 0; i < tabs; i++) {
    const page = await context.newPage()
    await page.goto(`${server.url}/?mode=${mode === 'recipe' ? 'recipe' : 'tabwire'}&keys=${KEYS}${mode === 'tabwire-window' ? `&window=${WINDOW}` : ''}`)
    pages.push(page)
  }
  await until(async () => ((await Promise.all(pages.map(status))).every((s) => s.ready === KEYS && s.realtime === 'open') ? true : undefined), 30_000, 'tabs ready')
  // A probe no query maps to: every tab's channel is live (subscribed) once every tab heard it.
  let heard = 0
  server.emit({ key: -1 })
  await settle(server, pages, ++heard, quietMs)
  server.resetRequests()

  server.emit({ key: 0 })
  await settle(server, pages, ++heard, quietMs)
  const one = server.requests()
  server.resetRequests()

  server.emit(...Array.from({ length: 1000 }, (_, i) => ({ key: i % KEYS })))
  heard += 1000
  await settle(server, pages, heard, quietMs)
  const burst = server.requests()
  // How long the burst took to reach each tab (its first to its last message), slowest tab.
  const spans = (await Promise.all(pages.map(status))).map((s) => s.heardAt.at(-1)! - s.heardAt.at(-1000)!)
  log(`${mode} ${pages.length} tab(s): the burst reached the slowest tab over ${Math.round(Math.max(...spans))} ms`)
  if (process.env.QUERY_DEBUG) for (const [i, s] of (await Promise.all(pages.map(status))).entries()) log(`  tab ${i}: fetches (key@messages heard) ${s.fetched.slice(-30).join(' ')}`)
  const errors = (await Promise.all(pages.map(status))).flatMap((s) => s.errors)
  for (const page of pages) await page.close()
  return { one: one.total, burst: burst.total, maxPerKey: Math.max(0, ...Object.values(burst.perKey)), errors }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const spread = (values: number[]) => (Math.min(...values) === Math.max(...values) ? String(values[0]) : `${median(values)} (${Math.min(...values)}–${Math.max(...values)})`)

async function main(): Promise<void> {
  const page = await build({
    entryPoints: [fileURLToPath(new URL('./query-page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  })
  const server = await startQueryServer(page.outputFiles[0]!.text)
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
  const results = new Map<string, { one: number[]; burst: number[]; maxPerKey: number[] }>()
  const errors: string[] = []
  try {
    for (const tabs of tabCounts)
      for (const mode of modes) {
        const cell = { one: [] as number[], burst: [] as number[], maxPerKey: [] as number[] }
        for (let run = 0; run < runs; run++) {
          // A fresh context per run: locks, channels and the shared connection start clean.
          const context = await browser.newContext()
          const r = await measure(context, server, mode, tabs)
          await context.close()
          log(`${mode} ${tabs} tab(s) run ${run + 1}: one event → ${r.one}, burst → ${r.burst} (max ${r.maxPerKey} per key)`)
          cell.one.push(r.one), cell.burst.push(r.burst), cell.maxPerKey.push(r.maxPerKey)
          errors.push(...r.errors)
        }
        results.set(`${mode}:${tabs}`, cell)
      }
  } finally {
    await browser.close()
    await server.close()
  }
  const row = (label: string, mode: Mode, pick: 'one' | 'burst' | 'maxPerKey') => [label, ...tabCounts.map((t) => spread(results.get(`${mode}:${t}`)![pick]))]
  const header = ['', ...tabCounts.map((t) => `${t} tab${t > 1 ? 's' : ''}`)]
  console.log(`\n(a) HTTP refetches for one change event (one key); median (min–max) of ${runs} runs`)
  console.log(table(header, [row("tabwire bridge, share: 'tabs'", 'tabwire', 'one'), row(`same, window: ${WINDOW}`, 'tabwire-window', 'one'), row('TkDodo recipe (invalidateQueries per tab)', 'recipe', 'one')]))
  console.log(`\n(b) HTTP refetches for a burst of 1,000 change events on ${KEYS} keys (goal ≤ ${KEYS})`)
  console.log(
    table(header, [
      row("tabwire bridge, share: 'tabs'", 'tabwire', 'burst'),
      row('  most refetches of one key', 'tabwire', 'maxPerKey'),
      row(`same, window: ${WINDOW}`, 'tabwire-window', 'burst'),
      row('  most refetches of one key', 'tabwire-window', 'maxPerKey'),
      row('TkDodo recipe', 'recipe', 'burst'),
      row('  most refetches of one key', 'recipe', 'maxPerKey'),
    ]),
  )
  const external = ['react', 'react-dom', '@tanstack/react-query', '@tanstack/query-core']
  const size = async (names: string, entry = './src/query/index.ts') => {
    const r = await build({
      stdin: { contents: names.split(';').map((n, i) => `export { ${n} } from '${i ? './src/query/streamed-channel.ts' : entry}'`).join('\n'), resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'ts' },
      bundle: true, minify: true, format: 'esm', write: false, external, define: { 'process.env.NODE_ENV': '"production"' }, logLevel: 'silent',
    })
    const { gzipSync } = await import('node:zlib')
    return gzipSync(r.outputFiles[0]!.contents, { level: 9 }).length
  }
  console.log('\n(c) tabwire/query, min+gzip (esbuild, production), React and TanStack external')
  console.log(
    table(['import', 'bytes'], [
      ['every export', String(await size('createQueryBridge, invalidateFrameKeys, RealtimeQueryBridge, useQueryBridge, useRealtimeQueryBridge; streamedChannel'))],
      ['useQueryBridge, RealtimeQueryBridge', String(await size('useQueryBridge, RealtimeQueryBridge'))],
      ['createQueryBridge', String(await size('createQueryBridge'))],
      ['streamedChannel', String(await size('streamedChannel', './src/query/streamed-channel.ts'))],
      ['for scale: useEventSource (tabwire)', String(await bundleSize(['useEventSource', './src/index.ts']))],
    ]),
  )
  if (errors.length) console.log(`\nerrors reported in pages: ${[...new Set(errors)].slice(0, 5).join(' | ')}`)
  await sleep(0)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
