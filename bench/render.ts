/**
 * React commits, delivery and renderer CPU under a message flood, side by side in one run:
 * react-use-websocket, a raw `WebSocket` + `useState` baseline, and every tabwire mode and
 * transport (useWebSocket share 'tabs' | 'tab' | false; useEventSource fetch 'tabs' | 'tab',
 * 'eventsource' 'tabs' | 'tab'). Issue 9, item 2: "at most one React commit per animation
 * frame" must hold in every mode and transport.
 *
 * One loopback server (127.0.0.1, port 0) serves the page (bench/render-page.tsx, bundled
 * here with esbuild, production React), a WebSocket endpoint and an SSE endpoint. Each
 * variant gets a fresh browser context: one page, or for cross-tab sharing ('tabs') a
 * leader page and `--followers` follower pages, every one measured. Once every page shows
 * its stream open, the server sends `--rate` sequence-numbered messages per second for
 * `--seconds`, one message per WebSocket frame / SSE event (or `--batch` per one), and the
 * pages get up to `--drain` seconds to catch up.
 *
 * Chromium (headless, 2 cores) dispatches only ~1,000–2,500 WebSocket messages/s to a page:
 * at higher rates the server's socket fills and it holds back (it never queues more than
 * 1 MB per socket), so "sent" is what it could hand over, and the delivered count says
 * what arrived. Both are printed; nothing is scaled.
 *
 * Run: npm run bench:render [-- --rate 10000 --seconds 5 --batch 1 --drain 5 --followers 2
 *      --only "tabwire ws" --src DIR]. The table goes to stdout, progress to stderr.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { type Browser, type CDPSession, chromium, type Page } from 'playwright-core'
import { WebSocket, WebSocketServer } from 'ws'
import { chromiumArgs, chromiumPath } from '../test/chromium.ts'
import type { BenchPageState } from './render-page.tsx'
import {
  fmt,
  type PageResult,
  parseArgs,
  payloadText,
  type RenderArgs,
  report,
  slug,
  USAGE,
  UsageError,
  type Variant,
  type VariantResult,
  variants,
} from './render-lib.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
/** The server holds back while a socket has this much queued (the page is not reading). */
const HIGH_WATER = 1 << 20
/** One page load, and then its stream opening. */
const OPEN_TIMEOUT = 15_000
/** Any single read from a page (a page busy with a backlog answers late). */
const READ_TIMEOUT = 3000
/** The reads at the end of the window. */
const FINAL_READ_TIMEOUT = 10_000
/** The drain ends early once no page made progress for this long. */
const STALL_MS = 2000

const log = (message: string) => void process.stderr.write(`${message}\n`)
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))

function withTimeout<T>(promise: Promise<T>, timeout: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${timeout} ms: ${what}`)), timeout)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

// --- CPU of the machine (Linux): the machine is shared, and other work skews every number

function ticksOf(pids: Set<number> | null): { busy: number; total: number; mine: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
  const total = user + nice + system + idle + iowait + irq + softirq + steal
  let mine = 0
  if (pids) {
    const parents = new Map<number, number>()
    const ticks = new Map<number, number>()
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        parents.set(Number(name), Number(rest[1]))
        ticks.set(Number(name), Number(rest[11]) + Number(rest[12]))
      } catch {
        // Gone meanwhile.
      }
    }
    for (const pid of ticks.keys()) {
      for (let p = pid, hops = 0; p > 1 && hops < 64; p = parents.get(p) ?? 0, hops++) {
        if (p === process.pid) {
          pids.add(pid)
          break
        }
      }
    }
    for (const pid of pids) mine += ticks.get(pid) ?? 0
  }
  return { busy: total - idle - iowait, total, mine }
}

/** Share (0..1) of the machine's CPU that processes other than this bench and its browser used from now to `stop()`; NaN off Linux. */
function othersMeter(): { stop(): number } {
  try {
    const pids = new Set<number>()
    const first = ticksOf(pids)
    return {
      stop() {
        const last = ticksOf(pids)
        // Processes that ended meanwhile (a closed page's renderer) drop out of `mine`: a slight overestimate of the others.
        const total = last.total - first.total
        return total > 0 ? Math.max(0, last.busy - first.busy - Math.max(0, last.mine - first.mine)) / total : Number.NaN
      },
    }
  } catch {
    return { stop: () => Number.NaN }
  }
}

// --- the server: the page, /ws/<slug> and /sse/<slug>

interface Stream {
  variant: string
  /** Sends seqs from..to, `batch` per frame/event. */
  write(from: number, to: number, batch: number): void
  /** Bytes queued in this process for the socket. */
  buffered(): number
  open: boolean
}

const PAGE_SCRIPT = `window.__bench = { variant: '', status: '', commits: 0, delivered: 0, distinct: 0, dup: 0, outOfOrder: 0, outOfRange: 0, frames: 0, connections: 0, shown: 0, errors: [] };
(() => {
  const isStream = (u) => { try { const p = new URL(String(u), location.href).pathname; return p.startsWith('/ws/') || p.startsWith('/sse/') } catch { return false } };
  const count = (u) => { if (isStream(u)) window.__bench.connections++ };
  const W = window.WebSocket;
  window.WebSocket = class extends W { constructor(u, p) { super(u, p); count(u) } };
  const E = window.EventSource;
  window.EventSource = class extends E { constructor(u, i) { super(u, i); count(u) } };
  const f = window.fetch;
  window.fetch = function (input, init) { count(input instanceof Request ? input.url : input); return f.call(this, input, init) };
})();`

const html = `<!doctype html><html><head><meta charset="utf-8"><title>bench:render</title><script>${PAGE_SCRIPT}</script></head>
<body><div id="root"></div><script src="/page.js"></script></body></html>`

async function startServer(bundle: string) {
  const streams = new Set<Stream>()
  const accepted = new Map<string, number>()
  const count = (variant: string) => accepted.set(variant, (accepted.get(variant) ?? 0) + 1)
  const sockets = new Set<Socket>()

  const sse = (req: IncomingMessage, res: ServerResponse, variant: string) => {
    count(variant)
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' })
    res.flushHeaders()
    const stream: Stream = {
      variant,
      open: true,
      buffered: () => res.writableLength,
      write(from, to, batch) {
        let text = ''
        for (let s = from; s <= to; s += batch) {
          const end = Math.min(to, s + batch - 1)
          text += `id: ${end}\ndata: ${payloadText(s, end, batch)}\n\n`
        }
        res.write(text)
      },
    }
    streams.add(stream)
    req.on('close', () => {
      stream.open = false
      streams.delete(stream)
    })
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      return void res.end(html)
    }
    if (path === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' })
      return void res.end(bundle)
    }
    if (path.startsWith('/sse/') && req.method === 'GET') return sse(req, res, path.slice(5))
    res.writeHead(404).end()
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    if (!path.startsWith('/ws/')) return void socket.destroy()
    wss.handleUpgrade(req, socket as Socket, head, (ws) => {
      const variant = path.slice(4)
      count(variant)
      const stream: Stream = {
        variant,
        open: true,
        buffered: () => ws.bufferedAmount,
        write(from, to, batch) {
          for (let s = from; s <= to; s += batch) ws.send(payloadText(s, Math.min(to, s + batch - 1), batch))
        },
      }
      streams.add(stream)
      ws.on('error', () => {})
      ws.on('close', () => {
        stream.open = false
        streams.delete(stream)
      })
    })
  })
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => done())
  })
  const { port } = server.address() as AddressInfo

  /**
   * Sends `total` messages to every open stream of `variant` at `rate` per second (the same
   * seqs to each), holding back while any socket has HIGH_WATER queued. Ends when all are
   * sent, or at 1.5 × the planned time with what could be sent.
   */
  const flood = (variant: string, total: number, rate: number, batch: number) =>
    new Promise<{ sent: number; seconds: number; heldBack: number }>((done) => {
      const start = performance.now()
      const planned = (total / rate) * 1000
      let sent = 0
      let heldBack = 0
      let lastSendAt = start
      const tick = () => {
        const now = performance.now()
        const targets = [...streams].filter((s) => s.variant === variant && s.open)
        let due = Math.min(total, Math.floor((rate * (now - start)) / 1000)) - sent
        // Whole frames, but for the last one.
        if (sent + due < total) due -= due % batch
        if (due > 0 && targets.length > 0) {
          if (targets.some((s) => s.buffered() > HIGH_WATER)) heldBack++
          else {
            for (const s of targets) s.write(sent + 1, sent + due, batch)
            sent += due
            lastSendAt = now
          }
        }
        if (sent >= total || now - start > planned * 1.5) {
          clearInterval(timer)
          done({ sent, seconds: (lastSendAt - start) / 1000, heldBack })
        }
      }
      const timer = setInterval(tick, 4)
    })

  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    accepted: (variant: string) => accepted.get(variant) ?? 0,
    flood,
    close: () =>
      new Promise<void>((done) => {
        for (const client of wss.clients) client.terminate()
        wss.close()
        for (const socket of sockets) socket.destroy()
        server.close(() => done())
      }),
  }
}

type Server = Awaited<ReturnType<typeof startServer>>

// --- the page bundle

/** Bundles bench/render-page.tsx for production; `src` replaces this repo's src directory. */
async function bundlePage(src: string | undefined): Promise<string> {
  const plugins: Plugin[] = []
  if (src) {
    const index = resolve(src, 'index.ts')
    plugins.push({
      name: 'tabwire-src',
      setup(b) {
        b.onResolve({ filter: /\/src\/index\.ts$/ }, () => ({ path: index }))
      },
    })
  }
  const result = await build({
    entryPoints: [join(root, 'bench/render-page.tsx')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    jsx: 'automatic',
    write: false,
    plugins,
    nodePaths: [join(root, 'node_modules')],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  })
  return result.outputFiles[0]!.text
}

// --- one variant

interface OpenPage {
  page: Page
  cdp: CDPSession
  errors: string[]
}

type PageReading = Pick<BenchPageState, 'status' | 'commits' | 'delivered' | 'distinct' | 'dup' | 'outOfOrder' | 'outOfRange' | 'frames' | 'connections' | 'shown' | 'errors'>

const readPage = (p: OpenPage, timeout = READ_TIMEOUT): Promise<PageReading> =>
  withTimeout(
    p.page.evaluate(() => {
      const b = window.__bench
      return {
        status: b.status,
        commits: b.commits,
        delivered: b.delivered,
        distinct: b.distinct,
        dup: b.dup,
        outOfOrder: b.outOfOrder,
        outOfRange: b.outOfRange,
        frames: b.frames,
        connections: b.connections,
        shown: b.shown,
        errors: b.errors.slice(0, 5),
      }
    }),
    timeout,
    'read the page',
  )

/** The renderer's main-thread task time so far, ms. */
async function taskMs(p: OpenPage, timeout = READ_TIMEOUT): Promise<number> {
  const { metrics } = (await withTimeout(p.cdp.send('Performance.getMetrics'), timeout, 'read the metrics')) as {
    metrics: { name: string; value: number }[]
  }
  return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? Number.NaN) * 1000
}

async function waitOpen(p: OpenPage): Promise<void> {
  const end = Date.now() + OPEN_TIMEOUT
  for (;;) {
    const state = await readPage(p)
    if (state.status === 'open') return
    if (Date.now() > end) throw new Error(`the page's stream did not open (status '${state.status}'; ${[...state.errors, ...p.errors].join('; ') || 'no errors'})`)
    await sleep(50)
  }
}

async function runVariant(browser: Browser, server: Server, v: Variant, args: RenderArgs): Promise<VariantResult> {
  const name = slug(v)
  const total = args.rate * args.seconds
  const streamUrl = v.kind === 'sse' ? `${server.url}/sse/${name}` : `${server.wsUrl}/ws/${name}`
  const query = new URLSearchParams({ variant: v.name, kind: v.kind, url: streamUrl, cap: String(total) })
  if (v.share) query.set('share', v.share)
  if (v.transport) query.set('transport', v.transport)
  const result: VariantResult = {
    variant: v,
    pages: [],
    sent: 0,
    serverConnections: 0,
    floodSeconds: 0,
    windowSeconds: Number.NaN,
    drainSeconds: Number.NaN,
    heldBack: 0,
    othersCpu: Number.NaN,
  }
  const context = await browser.newContext()
  try {
    const pages: OpenPage[] = []
    // One page at a time: the first one takes the lead of a shared stream.
    for (let i = 0; i < v.pages; i++) {
      const page = await context.newPage()
      const p: OpenPage = { page, cdp: await context.newCDPSession(page), errors: [] }
      page.on('pageerror', (error) => p.errors.push(error.message))
      await p.cdp.send('Performance.enable')
      await page.goto(`${server.url}/?${query}`, { timeout: OPEN_TIMEOUT })
      pages.push(p)
      await waitOpen(p)
    }
    const before = await Promise.all(pages.map(async (p) => ({ state: await readPage(p), cpu: await taskMs(p) })))
    const others = othersMeter()
    const started = performance.now()
    const flood = await server.flood(name, total, args.rate, args.batch)
    Object.assign(result, { sent: flood.sent, floodSeconds: flood.seconds, heldBack: flood.heldBack })
    // The drain: until every page has every message, no page moved for a while, or --drain
    // is up. A page busy with a backlog may not answer a read: it keeps its last reading.
    const floodEnd = performance.now()
    const latest = before.map((b) => b.state.distinct)
    let movedAt = floodEnd
    for (;;) {
      const readings = await Promise.all(pages.map((p) => readPage(p).catch(() => undefined)))
      const now = performance.now()
      readings.forEach((r, i) => {
        if (r && r.distinct !== latest[i]) (latest[i] = r.distinct), (movedAt = now)
      })
      if (latest.every((d) => d >= flood.sent)) {
        result.drainSeconds = (now - floodEnd) / 1000
        break
      }
      if (now - floodEnd > args.drain * 1000 || now - movedAt > STALL_MS) break
      await sleep(100)
    }
    result.windowSeconds = (performance.now() - started) / 1000
    result.othersCpu = others.stop()
    result.serverConnections = server.accepted(name)
    // Every page at once, at the end of the window (a busy page answers late: it gets longer).
    const finals = await Promise.all(
      pages.map((p) =>
        Promise.all([readPage(p, FINAL_READ_TIMEOUT), taskMs(p, FINAL_READ_TIMEOUT)]).then(
          ([state, cpu]) => ({ state, cpu, seconds: (performance.now() - started) / 1000 }),
          (error: unknown) => new Error(`did not answer: ${(error as Error).message}`),
        ),
      ),
    )
    let followers = 0
    for (const [i, final] of finals.entries()) {
      const p = pages[i]!
      if (final instanceof Error) {
        result.pages.push({
          variant: v.name,
          role: v.pages === 1 ? '' : `page ${i + 1}`,
          connections: Number.NaN,
          commits: Number.NaN,
          frames: Number.NaN,
          distinct: latest[i]!,
          delivered: Number.NaN,
          dup: Number.NaN,
          outOfOrder: Number.NaN,
          outOfRange: Number.NaN,
          cpuMs: Number.NaN,
          seconds: Number.NaN,
          caughtUp: false,
          errors: p.errors,
          note: final.message,
        })
        continue
      }
      const { state: after, cpu, seconds } = final
      const role = v.pages === 1 ? '' : after.connections > 0 ? 'leader' : `follower ${++followers}`
      result.pages.push({
        variant: v.name,
        role,
        connections: after.connections,
        commits: after.commits - before[i]!.state.commits,
        frames: after.frames - before[i]!.state.frames,
        distinct: after.distinct,
        delivered: after.delivered,
        dup: after.dup,
        outOfOrder: after.outOfOrder,
        outOfRange: after.outOfRange,
        cpuMs: cpu - before[i]!.cpu,
        seconds,
        caughtUp: after.distinct >= flood.sent,
        errors: [...after.errors, ...p.errors],
      })
    }
  } catch (error) {
    result.failure = (error as Error).message
  } finally {
    await withTimeout(context.close(), 20_000, 'close the context').catch((error: unknown) => log(String(error)))
  }
  return result
}

// --- main

async function main(): Promise<number> {
  let args: RenderArgs
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    if (error.message) log(`bench/render: ${error.message}`)
    log(USAGE)
    return error.message ? 2 : 0
  }
  const all = variants(args.followers)
  const chosen = all.filter((v, i) => i === 0 || args.only.length === 0 || args.only.some((part) => v.name.toLowerCase().includes(part)))

  let server: Server | undefined
  let browser: Browser | undefined
  let cleaning: Promise<void> | undefined
  const cleanup = () =>
    (cleaning ??= (async () => {
      await withTimeout(browser?.close() ?? Promise.resolve(), 20_000, 'close the browser').catch((error: unknown) => log(String(error)))
      await withTimeout(server?.close() ?? Promise.resolve(), 5000, 'close the server').catch((error: unknown) => log(String(error)))
    })())
  // A hard limit: whatever hangs, the browser and the server go and the process ends.
  const limit = 60_000 + chosen.reduce((sum, v) => sum + v.pages * OPEN_TIMEOUT + (args.seconds * 1.5 + args.drain + 30) * 1000, 0)
  const watchdog = setTimeout(() => {
    log(`bench/render: still running after ${limit / 1000} s; giving up`)
    void cleanup().finally(() => process.exit(3))
  }, limit)
  const interrupt = () => {
    log('bench/render: interrupted')
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)

  try {
    const started = Date.now()
    const idle = othersMeter()
    await sleep(1000)
    const busyBefore = idle.stop()
    log(`machine CPU used by other processes before the bench: ${Number.isFinite(busyBefore) ? `${Math.round(busyBefore * 100)}%` : 'unknown'}`)
    log(`bundling the page (tabwire from ${args.src ?? 'src'})`)
    server = await startServer(await bundlePage(args.src))
    log(`server at ${server.url}`)
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000, handleSIGINT: false, handleSIGTERM: false })
    const results: VariantResult[] = []
    for (const v of chosen) {
      log(`${v.name}: ${v.pages} page(s), ${fmt(args.rate)} msgs/s for ${args.seconds} s${args.batch > 1 ? `, ${args.batch} per frame` : ''}`)
      const r = await runVariant(browser, server, v, args)
      results.push(r)
      log(
        `  sent ${fmt(r.sent)} in ${fmt(r.floodSeconds, 1)} s; ${r.pages.map((p) => `${p.role || 'page'} ${fmt(p.distinct)} msgs, ${fmt(p.commits)} commits`).join('; ')}${r.failure ? ` (${r.failure})` : ''}`,
      )
    }
    const out = [
      `bench:render — Chromium ${browser.version()}, ${fmt(args.rate)} msgs/s for ${args.seconds} s per stream, ${args.batch === 1 ? 'one message per WebSocket frame / SSE event' : `${args.batch} messages per frame / event`}, production React`,
      `tabwire from ${args.src ?? 'src'}; other processes used ${Number.isFinite(busyBefore) ? `${Math.round(busyBefore * 100)}%` : 'an unknown share'} of the machine's CPU just before the run`,
      '',
      report(results, results.find((r) => r.variant.kind === 'ruw')),
      '',
      'Per variant: server connections · sent rate · ticks held back (socket full) · drain after the flood · window · CPU other processes used',
      ...results.map(
        (r) =>
          `- ${r.variant.name}: ${r.serverConnections} conn · ${fmt(r.sent / Math.max(r.floodSeconds, 1e-3))} msgs/s sent · ${fmt(r.heldBack)} held back · ` +
          `drain ${Number.isFinite(r.drainSeconds) ? `${fmt(r.drainSeconds, 1)} s` : `not caught up within ${args.drain} s`} · window ${fmt(r.windowSeconds, 1)} s · others ${fmt(r.othersCpu * 100)}%` +
          (r.failure ? ` · ${r.failure}` : '') +
          r.pages.map((p) => (p.note ? ` · ${p.role}: ${p.note}` : '')).join('') +
          (r.pages.some((p) => p.errors.length) ? ` · errors: ${[...new Set(r.pages.flatMap((p) => p.errors))].slice(0, 3).join('; ')}` : ''),
      ),
      '',
      'Columns: commits = commits of the consumer component (a useLayoutEffect without deps) from the flood start to the',
      "page's last reading, at the end of the drain (a page busy with a backlog answers later); commits/s = per second of",
      "that span; frames = requestAnimationFrame callbacks in it; delivered = distinct seqs the consumer got (tabwire:",
      'onMessage; react-use-websocket: lastMessage changes it committed; raw: ws.onmessage); \'*\' = not caught up when the',
      'drain ended (the rest counts as lost); lost = sent − delivered; dup = repeats; ooo = out of order; CPU ms =',
      'renderer main-thread task time (CDP Performance.getMetrics TaskDuration) in that span, × ruw its ratio to',
      'react-use-websocket; µs/msg = CPU per delivered message, × ruw/msg its ratio. Each page has a renderer',
      'process of its own (also the pages of one shared variant).',
    ]
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
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    log(`bench/render: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exitCode = 1
  },
)
