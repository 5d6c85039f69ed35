/**
 * `<LiveTicker>` under a flood, beside a naive ticker, in one run (issue 14's figure): 1,000
 * symbols updated 10,000 times a second. Measures React commits per second and the renderer's
 * main-thread time per second (CDP `Performance.getMetrics`: TaskDuration, ScriptDuration).
 *
 * One loopback server (127.0.0.1, port 0) serves the page (bench/ticker-page.ts, bundled here
 * with esbuild, production React) and a WebSocket. Headless Chromium on 2 cores dispatches
 * only ~1,000–2,500 WebSocket messages a second to a page, so the server sends the updates in
 * batches (`--batch`, 20 by default: 500 messages/s carry 10,000 updates/s). Each variant gets
 * a fresh browser context and one page: the page first gets every symbol once (1,000 rows),
 * then `--rate` updates/s of random symbols for `--seconds`; the window ends once the page has
 * taken every update (or `--drain` seconds after the flood). Variants (bench/ticker-page.ts):
 * naive (a `useState` list updated per message), live (`<LiveTicker>` as the README shows it)
 * and live-select (the same, the socket's data not rendered).
 *
 * Run: npm run bench:ticker [-- --rate 10000 --seconds 5 --symbols 1000 --batch 20 --drain 10 --runs 1].
 * The table goes to stdout, progress to stderr.
 */
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { type Browser, type CDPSession, chromium, type Page } from 'playwright-core'
import { type WebSocket, WebSocketServer } from 'ws'
import { chromiumArgs, chromiumPath } from '../test/chromium.ts'
import type { TickerBenchState } from './ticker-page.ts'

const VARIANTS = ['naive', 'live', 'live-select'] as const
type Variant = (typeof VARIANTS)[number]
const LABELS: Record<Variant, string> = {
  naive: 'naive (useState per message)',
  live: 'LiveTicker (README usage)',
  'live-select': 'LiveTicker + select: () => null',
}

interface Args {
  rate: number
  seconds: number
  symbols: number
  batch: number
  drain: number
  runs: number
}

const USAGE = 'usage: npm run bench:ticker [-- --rate 10000 --seconds 5 --symbols 1000 --batch 20 --drain 10 --runs 1]'

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { rate: 10_000, seconds: 5, symbols: 1000, batch: 20, drain: 10, runs: 1 }
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '') as keyof Args
    const value = Number(argv[i + 1])
    if (!(name in args) || !Number.isFinite(value) || value <= 0) throw new Error(`${argv[i]} ${argv[i + 1] ?? ''}: ${USAGE}`)
    args[name] = value
  }
  return args
}

const log = (message: string) => void process.stderr.write(`${message}\n`)
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—')

// --- the server: the page, and /ws (every open socket gets the same updates)

const html = `<!doctype html><html><head><meta charset="utf-8"><title>bench:ticker</title><script>
window.__tickerBench = { variant: '', status: '', commits: 0, frames: 0, messages: 0, updates: 0, errors: [] };
// React (production too) reports every commit of a root to the DevTools hook, whichever component rendered.
window.__REACT_DEVTOOLS_GLOBAL_HOOK__ = { supportsFiber: true, renderers: new Map(), inject: () => 1, checkDCE() {},
  onCommitFiberRoot() { window.__tickerBench.commits++ }, onCommitFiberUnmount() {}, onPostCommitFiberRoot() {}, onScheduleFiberRoot() {} };
</script></head><body><div id="root"></div><script src="/page.js"></script></body></html>`

async function startServer(bundle: string) {
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    if (path === '/' || path === '/page.js') {
      res.writeHead(200, { 'content-type': `text/${path === '/' ? 'html' : 'javascript'}; charset=utf-8`, 'cache-control': 'no-store' })
      return void res.end(path === '/' ? html : bundle)
    }
    res.writeHead(404).end()
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const wss = new WebSocketServer({ server, path: '/ws' })
  const open = new Set<WebSocket>()
  wss.on('connection', (ws) => {
    open.add(ws)
    ws.on('error', () => {})
    ws.on('close', () => open.delete(ws))
  })
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => done())
  })
  const { port } = server.address() as AddressInfo
  const names = (n: number) => Array.from({ length: n }, (_, i) => `S${String(i).padStart(4, '0')}`)
  const values = new Map<string, number>()
  const update = (symbol: string) => {
    const value = Math.round((values.get(symbol) ?? 100) * (1 + (Math.random() - 0.5) * 0.01) * 100) / 100
    values.set(symbol, value)
    return { symbol, value }
  }
  const send = (updates: readonly unknown[]) => {
    const text = JSON.stringify(updates)
    for (const ws of open) ws.send(text)
  }
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    clients: () => open.size,
    /** Every symbol once, in batches: the page's 1,000 rows. */
    fill(symbols: number, batch: number): number {
      const all = names(symbols)
      for (let i = 0; i < all.length; i += batch) send(all.slice(i, i + batch).map(update))
      return all.length
    },
    /** `rate` updates/s of random symbols for `seconds`, `batch` per message; resolves with the count sent and the seconds it took. */
    flood: (symbols: number, rate: number, seconds: number, batch: number) =>
      new Promise<{ sent: number; seconds: number }>((done) => {
        const all = names(symbols)
        const total = Math.round(rate * seconds)
        const start = performance.now()
        let sent = 0
        // Catch up to the due count every 4 ms, whole messages but for the last.
        const timer = setInterval(() => {
          let due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000)) - sent
          if (sent + due < total) due -= due % batch
          for (; due > 0; due -= batch) {
            const n = Math.min(batch, due)
            send(Array.from({ length: n }, () => update(all[Math.floor(Math.random() * all.length)]!)))
            sent += n
          }
          if (sent >= total) {
            clearInterval(timer)
            done({ sent, seconds: (performance.now() - start) / 1000 })
          }
        }, 4)
      }),
    close: () =>
      new Promise<void>((done) => {
        for (const ws of open) ws.terminate()
        wss.close()
        for (const socket of sockets) socket.destroy()
        server.close(() => done())
      }),
  }
}

type Server = Awaited<ReturnType<typeof startServer>>

async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('ticker-page.ts', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  })
  return result.outputFiles[0]!.text
}

// --- one variant

interface Reading {
  state: Pick<TickerBenchState, 'status' | 'commits' | 'frames' | 'messages' | 'updates' | 'errors'>
  rows: number
  /** Renderer main-thread time so far, ms. */
  taskMs: number
  scriptMs: number
  /** Style recalculation and layout so far, ms. */
  styleMs: number
  layoutMs: number
  at: number
}

async function read(page: Page, cdp: CDPSession): Promise<Reading> {
  const [state, rows, { metrics }] = await Promise.all([
    page.evaluate(() => {
      const { status, commits, frames, messages, updates, errors } = window.__tickerBench
      return { status, commits, frames, messages, updates, errors: errors.slice(0, 3) }
    }),
    page.locator('tr[data-symbol]').count(),
    cdp.send('Performance.getMetrics') as Promise<{ metrics: { name: string; value: number }[] }>,
  ])
  const metric = (name: string) => (metrics.find((m) => m.name === name)?.value ?? Number.NaN) * 1000
  return {
    state,
    rows,
    taskMs: metric('TaskDuration'),
    scriptMs: metric('ScriptDuration'),
    styleMs: metric('RecalcStyleDuration'),
    layoutMs: metric('LayoutDuration'),
    at: performance.now(),
  }
}

async function until(what: string, timeout: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(50)
  }
}

interface Result {
  variant: Variant
  sent: number
  floodSeconds: number
  windowSeconds: number
  updates: number
  messages: number
  commits: number
  frames: number
  taskMs: number
  scriptMs: number
  styleMs: number
  layoutMs: number
  rows: number
  caughtUp: boolean
  errors: string[]
}

async function runVariant(browser: Browser, server: Server, variant: Variant, args: Args): Promise<Result> {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    const cdp = await context.newCDPSession(page)
    await cdp.send('Performance.enable')
    await page.goto(`${server.url}/?${new URLSearchParams({ variant, url: server.wsUrl })}`)
    await until('the socket to open', 15_000, async () => (await read(page, cdp)).state.status === 'open' && server.clients() === 1)
    const filled = server.fill(args.symbols, args.batch)
    await until(`${args.symbols} rows`, 15_000, async () => {
      const r = await read(page, cdp)
      return r.state.updates >= filled && r.rows === args.symbols
    })
    const before = await read(page, cdp)
    const flood = await server.flood(args.symbols, args.rate, args.seconds, args.batch)
    const expected = before.state.updates + flood.sent
    let last = await read(page, cdp)
    const drainEnd = Date.now() + args.drain * 1000
    while (last.state.updates < expected && Date.now() < drainEnd) {
      await sleep(50)
      last = await read(page, cdp)
    }
    const seconds = (last.at - before.at) / 1000
    return {
      variant,
      sent: flood.sent,
      floodSeconds: flood.seconds,
      windowSeconds: seconds,
      updates: last.state.updates - before.state.updates,
      messages: last.state.messages - before.state.messages,
      commits: last.state.commits - before.state.commits,
      frames: last.state.frames - before.state.frames,
      taskMs: last.taskMs - before.taskMs,
      scriptMs: last.scriptMs - before.scriptMs,
      styleMs: last.styleMs - before.styleMs,
      layoutMs: last.layoutMs - before.layoutMs,
      rows: last.rows,
      caughtUp: last.state.updates >= expected,
      errors: [...last.state.errors, ...errors],
    }
  } finally {
    await context.close()
  }
}

// --- main

function table(results: readonly Result[]): string {
  const naive = results.find((r) => r.variant === 'naive')
  const perSecond = (r: Result, n: number) => n / r.windowSeconds
  const head = ['variant', 'updates/s', 'msgs/s', 'commits/s', 'frames/s', 'task ms/s', 'script ms/s', 'style ms/s', 'layout ms/s', 'task ms/1k upd', 'rows', 'commits × naive', 'task × naive', 'script × naive']
  const rows = results.map((r) => {
    const ratio = (mine: number, theirs: number) => (naive && r !== naive ? `${fmt(mine / theirs, 2)}` : '')
    return [
      `${LABELS[r.variant]}${r.caughtUp ? '' : ' *'}`,
      fmt(perSecond(r, r.updates)),
      fmt(perSecond(r, r.messages)),
      fmt(perSecond(r, r.commits), 1),
      fmt(perSecond(r, r.frames), 1),
      fmt(perSecond(r, r.taskMs)),
      fmt(perSecond(r, r.scriptMs)),
      fmt(perSecond(r, r.styleMs)),
      fmt(perSecond(r, r.layoutMs)),
      fmt((r.taskMs / r.updates) * 1000, 1),
      fmt(r.rows),
      naive ? ratio(r.commits / r.windowSeconds, naive.commits / naive.windowSeconds) : '',
      naive ? ratio(r.taskMs / r.windowSeconds, naive.taskMs / naive.windowSeconds) : '',
      naive ? ratio(r.scriptMs / r.windowSeconds, naive.scriptMs / naive.windowSeconds) : '',
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  return [line(head), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n')
}

async function main(): Promise<number> {
  let args: Args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (error) {
    log((error as Error).message)
    return 2
  }
  const load = loadavg()[0]!
  log(`bundling the page (load average ${fmt(load, 2)} on ${availableParallelism()} cores)`)
  const server = await startServer(await bundlePage())
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000 })
  try {
    const results: Result[] = []
    for (let run = 1; run <= args.runs; run++) {
      for (const variant of VARIANTS) {
        log(`run ${run}: ${LABELS[variant]}`)
        const r = await runVariant(browser, server, variant, args)
        log(`  ${fmt(r.updates)} updates in ${fmt(r.windowSeconds, 1)} s, ${fmt(r.commits)} commits, task ${fmt(r.taskMs)} ms${r.errors.length ? `, errors: ${r.errors.join('; ')}` : ''}`)
        results.push(r)
      }
    }
    const out = [
      `bench:ticker — Chromium ${browser.version()}, ${fmt(args.symbols)} symbols, ${fmt(args.rate)} updates/s for ${args.seconds} s, ${args.batch} updates per WebSocket message, production React`,
      `load average ${fmt(load, 2)} on ${availableParallelism()} cores before the run (a shared machine: main-thread time includes time other processes took the core)`,
      '',
      ...Array.from({ length: args.runs }, (_, i) => [args.runs > 1 ? `run ${i + 1}` : '', table(results.slice(i * VARIANTS.length, (i + 1) * VARIANTS.length)), '']).flat(),
      'Per second of the window: from the flood start until the page took every update (or the drain ended: *).',
      "commits = React commits of the page's root (DevTools hook onCommitFiberRoot); frames = requestAnimationFrame",
      'callbacks; task / script / style / layout ms = renderer main-thread TaskDuration / ScriptDuration / RecalcStyleDuration /',
      'LayoutDuration deltas (CDP Performance.getMetrics; task includes the other three);',
      'task ms/1k upd = main-thread time per 1,000 updates taken; × naive = the ratio to the naive ticker of the same run;',
      'rows = table rows at the end (all symbols shown).',
    ]
    process.stdout.write(`${out.join('\n')}\n`)
    return results.every((r) => r.errors.length === 0) ? 0 : 1
  } finally {
    await browser.close()
    await server.close()
  }
}

main().then(
  (code) => void (process.exitCode = code),
  (error: unknown) => {
    log(`bench/ticker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exitCode = 1
  },
)
