/**
 * The fixture of lifecycle.test.ts and flood.test.ts: a loopback server (127.0.0.1, port 0)
 * of its own, serving a small test page (lifecycle-page.tsx, bundled here with esbuild
 * from this repo's src/), SSE streams with resume and a WebSocket channel
 * (tabwire/server's), and the helpers to drive tabs of one Chromium context.
 *
 * Why not the demo app: these tests need what the demo does not have — a page the back/
 * forward cache accepts (the demo's html is `no-store`), a stream a test can flood at
 * 50,000 events/s in big writes, a sandboxed iframe, counters of lock requests and React
 * commits, and a WebSocket with `messageId`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { type Browser, type BrowserContext, chromium, type Frame, type Page } from 'playwright-core'
import { createMemoryLog, createWebSocketHandler, type ReplayLog } from '../../src/server/index.ts'
import { chromiumArgs, chromiumPath } from '../chromium.ts'

/** What the page records (`window.__rec`); made by PAGE_SCRIPT, filled by lifecycle-page.tsx. */
export interface PageRecording {
  kind: string
  /** The status the consumer rendered last, and each change of it. */
  status: string
  statuses: { status: string; at: number }[]
  /** Deliveries to onMessage, the first and highest seq, repeats (a seq not above the one before) and gaps. */
  count: number
  first: number
  last: number
  repeats: number
  gaps: number
  /** Every delivered seq in order, and when (unless `?keep=0`). */
  seqs: number[]
  times: number[]
  /** React commits of the consumer, and animation frames of the page. */
  commits: number
  frames: number
  /** What onError got, and unexpected frames. */
  errors: string[]
  /** Uncaught errors and unhandled rejections of the page. */
  uncaught: string[]
  /** Stream connections this page opened (fetch, EventSource, WebSocket to /sse/ or /ws). */
  connections: { path: string; at: number }[]
  /** Calls of navigator.locks.request, and the names of their rejections. */
  lockRequests: number
  lockErrors: string[]
  pageshows: { persisted: boolean; at: number }[]
  pagehides: { persisted: boolean; at: number }[]
  /** With `?probe=1`: a 25 ms timer chain; how late its worst tick ran (ms), and how many ran. */
  probe: { ticks: number; worst: number }
}

/** Runs before the bundle: the recording, and counters the library cannot see past. */
const PAGE_SCRIPT = `window.__rec = { kind: '', status: '', statuses: [], count: 0, first: 0, last: 0, repeats: 0, gaps: 0, seqs: [], times: [],
  commits: 0, frames: 0, errors: [], uncaught: [], connections: [], lockRequests: 0, lockErrors: [], pageshows: [], pagehides: [],
  probe: { ticks: 0, worst: 0 } };
(() => {
  const rec = window.__rec;
  const streamPath = (u) => { try { const p = new URL(String(u), location.href).pathname; return p.startsWith('/sse/') || p === '/ws' ? p : null } catch { return null } };
  const count = (u) => { const p = streamPath(u); if (p) rec.connections.push({ path: p, at: Date.now() }) };
  const W = window.WebSocket;
  window.WebSocket = class extends W { constructor(u, p) { super(u, p); count(u) } };
  const E = window.EventSource;
  window.EventSource = class extends E { constructor(u, i) { super(u, i); count(u) } };
  const f = window.fetch;
  window.fetch = function (input, init) { count(input instanceof Request ? input.url : input); return f.call(this, input, init) };
  const locks = navigator.locks;
  if (locks && typeof locks.request === 'function') {
    const request = locks.request.bind(locks);
    locks.request = function (...args) {
      rec.lockRequests++;
      let p;
      try { p = request(...args) } catch (e) { rec.lockErrors.push(String(e && e.name)); throw e }
      p.catch((e) => rec.lockErrors.push(String(e && e.name)));
      return p;
    };
  }
  addEventListener('pageshow', (e) => rec.pageshows.push({ persisted: e.persisted, at: Date.now() }));
  addEventListener('pagehide', (e) => rec.pagehides.push({ persisted: e.persisted, at: Date.now() }));
  addEventListener('error', (e) => rec.uncaught.push(String(e.message)));
  addEventListener('unhandledrejection', (e) => rec.uncaught.push('unhandled rejection: ' + String(e.reason && (e.reason.stack || e.reason))));
  if (new URLSearchParams(location.search).get('probe') === '1') {
    let due = performance.now() + 25;
    const tick = () => {
      const now = performance.now();
      rec.probe.ticks++;
      rec.probe.worst = Math.max(rec.probe.worst, now - due);
      due = now + 25;
      setTimeout(tick, 25);
    };
    setTimeout(tick, 25);
  }
})();`

/** Not `no-store`: a page with a no-store main resource never enters the back/forward cache. */
const html = `<!doctype html><html><head><meta charset="utf-8"><title>tabwire lifecycle</title><script>${PAGE_SCRIPT}</script></head>
<body><div id="root"></div><script src="/page.js"></script></body></html>`
const otherHtml = '<!doctype html><html><head><meta charset="utf-8"><title>elsewhere</title></head><body><p>another page of the origin</p></body></html>'

let bundled: Promise<string> | undefined

/** lifecycle-page.tsx bundled for production (the flood measures the library, not React's development build). */
function bundle(): Promise<string> {
  bundled ??= build({
    entryPoints: [fileURLToPath(new URL('./lifecycle-page.tsx', import.meta.url))],
    bundle: true,
    format: 'iife',
    target: 'es2022',
    jsx: 'automatic',
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  }).then((result) => result.outputFiles[0]!.text)
  return bundled
}

/** An SSE request as the server saw it. */
export interface SseRequest {
  stream: string
  lastEventId: string | null
  /** The `Origin` header: `'null'` from the sandboxed (opaque-origin) iframe; none from a same-origin GET. */
  origin: string | null
  at: number
  /** When it ended (the client went), or undefined while open. */
  closedAt: number | undefined
}

interface SseStream {
  /** Seqs 1..n were published. */
  n: number
  clients: Set<ServerResponse>
}

export interface FixtureOptions {
  /** ms between two events of the `ticks` SSE stream and of the WebSocket channel. @defaultValue 20 */
  tickMs?: number
}

/** The server: `/` (the page, `?kind=…`), `/other.html`, `/page.js`, `/sse/ticks`, `/sse/flood`, WS `/ws`. */
export async function startFixture(options: FixtureOptions = {}) {
  const js = await bundle()
  const tickMs = options.tickMs ?? 20
  const streams = new Map<string, SseStream>([
    ['ticks', { n: 0, clients: new Set() }],
    ['flood', { n: 0, clients: new Set() }],
  ])
  const requests: SseRequest[] = []
  const sockets = new Set<Socket>()
  const event = (seq: number) => `id:${seq}\ndata:${seq}\n\n`
  /** Seqs from..to as one string: one write, however many events. */
  const events = (from: number, to: number) => {
    let text = ''
    for (let s = from; s <= to; s++) text += event(s)
    return text
  }
  const publish = (name: string, count: number) => {
    const stream = streams.get(name)!
    const from = stream.n + 1
    stream.n += count
    if (!stream.clients.size) return
    const text = events(from, stream.n)
    for (const res of stream.clients) res.write(text)
  }

  const sse = (req: IncomingMessage, res: ServerResponse, name: string) => {
    const stream = streams.get(name)
    if (!stream) return void res.writeHead(404).end()
    const header = req.headers['last-event-id']
    const lastEventId = typeof header === 'string' ? header : null
    const request: SseRequest = { stream: name, lastEventId, origin: req.headers.origin ?? null, at: Date.now(), closedAt: undefined }
    requests.push(request)
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'access-control-allow-origin': '*',
    })
    // Replay, then live: everything after the client's id, in one write (no seam: same tick).
    const after = lastEventId !== null && /^\d+$/.test(lastEventId) ? Math.min(Number(lastEventId), stream.n) : stream.n
    res.write(`retry: 500\n\n${after < stream.n ? events(after + 1, stream.n) : ''}`)
    stream.clients.add(res)
    res.on('close', () => {
      request.closedAt = Date.now()
      stream.clients.delete(res)
    })
  }

  const channel: ReplayLog = createMemoryLog({ capacity: 5000 })
  const ws = createWebSocketHandler({ channels: { ticks: channel }, heartbeat: 0 })
  const upgrades: number[] = []

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    if (req.method === 'OPTIONS') {
      // The sandboxed iframe's requests are cross-origin (its origin is opaque).
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': '*, last-event-id',
        'access-control-allow-methods': 'GET',
        'access-control-max-age': '600',
      })
      return void res.end()
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
      return void res.end(html)
    }
    if (path === '/other.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
      return void res.end(otherHtml)
    }
    if (path === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' })
      return void res.end(js)
    }
    if (path.startsWith('/sse/') && req.method === 'GET') return sse(req, res, path.slice(5))
    res.writeHead(404).end()
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/ws') return void socket.destroy()
    upgrades.push(Date.now())
    ws.handleUpgrade(req, socket, head)
  })
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => done())
  })
  const { port } = server.address() as AddressInfo
  const ticker = setInterval(() => {
    publish('ticks', 1)
    channel.append(JSON.stringify({ at: Date.now() }))
  }, tickMs)

  return {
    url: `http://127.0.0.1:${port}`,
    /** Every SSE request so far, in order. */
    requests,
    /** Open SSE streams of `name` now. */
    live: (name: string) => streams.get(name)!.clients.size,
    /** Seqs published on an SSE stream so far. */
    published: (name: string) => streams.get(name)!.n,
    /** WebSocket upgrades so far (ms since the epoch), and sockets open now. */
    upgrades,
    wsClients: () => ws.clients,
    /**
     * Publishes `rate` events a second on `/sse/flood` for `seconds`, a write every 10 ms
     * (hundreds of events per write, as a busy server's socket would carry them). Resolves
     * with the number published.
     */
    flood(rate: number, seconds: number): Promise<number> {
      return new Promise((done) => {
        const start = performance.now()
        const total = Math.round(rate * seconds)
        let sent = 0
        const timer = setInterval(() => {
          const due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000))
          if (due > sent) publish('flood', due - sent)
          sent = Math.max(sent, due)
          if (sent >= total) {
            clearInterval(timer)
            done(sent)
          }
        }, 10)
      })
    },
    close: () =>
      new Promise<void>((done) => {
        clearInterval(ticker)
        ws.close()
        for (const socket of sockets) socket.destroy()
        server.close(() => done())
      }),
  }
}

export type Fixture = Awaited<ReturnType<typeof startFixture>>

/**
 * Chromium as the other e2e tests launch it; with `bfcache`, without the
 * `--disable-back-forward-cache` Playwright adds by default.
 */
export function launch({ bfcache = false } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: chromiumArgs,
    ...(bfcache && { ignoreDefaultArgs: ['--disable-back-forward-cache'] }),
  })
}

export interface Tab {
  n: number
  page: Page
  /** Uncaught errors Playwright saw in the page (there must be none). */
  errors: string[]
}

/** Opens `url` in a new tab of `context` and waits until its consumer shows the stream open. */
export async function openTab(context: BrowserContext, url: string, n = context.pages().length + 1): Promise<Tab> {
  const page = await context.newPage()
  const tab: Tab = { n, page, errors: [] }
  page.on('pageerror', (error) => tab.errors.push(error.message))
  await page.goto(url)
  await waitOpen(page)
  return tab
}

export async function waitOpen(target: Page | Frame, timeout = 15_000): Promise<void> {
  await target.locator('[data-testid="consumer"][data-state="open"]').first().waitFor({ timeout })
}

/** A copy of what the page (or frame) recorded, without the long arrays unless asked. */
export function readRec(target: Page | Frame, withSeqs = false): Promise<PageRecording> {
  return target.evaluate(
    (all) => {
      const r = window.__rec
      return all ? r : { ...r, seqs: [], times: [] }
    },
    withSeqs,
  )
}

/** The tab's seqs delivered after `since` (ms since the epoch). */
export async function seqsSince(target: Page | Frame, since = 0): Promise<number[]> {
  return target.evaluate((t) => {
    const r = window.__rec
    return r.seqs.filter((_, i) => r.times[i]! >= t)
  }, since)
}

/** Problems with a run of seqs that must go up by exactly one each (empty: exactly once, in order). */
export function contiguity(seqs: readonly number[]): string[] {
  const problems: string[] = []
  for (let i = 1; i < seqs.length && problems.length < 5; i++) {
    if (seqs[i] !== seqs[i - 1]! + 1) problems.push(`#${i}: ${seqs[i]} after ${seqs[i - 1]}`)
  }
  return problems
}

/** Problems with a run of seqs that must go up (gaps allowed): repeats and steps back. */
export function repeatsIn(seqs: readonly number[]): string[] {
  const problems: string[] = []
  for (let i = 1; i < seqs.length && problems.length < 5; i++) {
    if (seqs[i]! <= seqs[i - 1]!) problems.push(`#${i}: ${seqs[i]} after ${seqs[i - 1]}`)
  }
  return problems
}

/** Polls `read` every 20 ms until it gives something, for up to `timeout` ms. */
export async function pollFor<T>(read: () => T | undefined | Promise<T | undefined>, what: string, timeout = 5000): Promise<T> {
  const end = Date.now() + timeout
  for (;;) {
    const value = await read()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))
