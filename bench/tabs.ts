/**
 * Cross-tab sharing in a real browser: N tabs of the demo app in ONE Chromium context, with
 * `share: 'tabs'` (one connection per stream per browser, a leader tab relays) beside the
 * per-tab baseline `share: 'tab'` (one connection per stream per tab).
 *
 * Measures the server's connection count per stream, the failover time after the leader
 * tab closes and after its renderer crashes, the extra latency a follower sees behind the
 * leader on a steady stream, and lost or duplicated events in the tabs. Builds the demo app
 * to a temporary directory and serves it on loopback (port 0).
 *
 * Run: node_modules/.bin/node bench/tabs.ts [--tabs 8] [--runs 20] [--steady 5] [--interval 20]
 * (Node 24: types are stripped). Progress goes to stderr, the tables to stdout.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core'
import { build } from 'vite'
import { type Demo, type StreamRequest, startDemo } from '../demo/server.ts'
import type { Recording, StreamName } from '../demo/shared.ts'
import { chromiumArgs, chromiumPath } from '../test/chromium.ts'
import { type BenchArgs, checkIds, type IdCheck, ms, parseArgs, quantile, seqOf, spread, type Spread, table, USAGE, UsageError } from './tabs-lib.ts'

type Mode = 'tabs' | 'tab'
type Kind = 'close' | 'crash'

const STREAMS: readonly StreamName[] = ['quotes', 'notifications', 'chat']
const SSE_STREAMS = ['quotes', 'notifications'] as const
/** The server's SSE heartbeat and `retry:` (ms), and ms between notifications. */
const SERVER = { heartbeat: 250, retry: 300, notifyInterval: 100 }
/** The page's settings: idle timeout, backoff base; hidden tabs never let go (headless tabs are never hidden anyway). */
const PAGE = { idle: 1000, delay: 200, pauseHidden: 0 }
/** How long one tab may take to load the app, and then to open its streams. */
const LOAD_TIMEOUT = 15_000
const OPEN_TIMEOUT = 10_000
/** The baseline is expected to stall: give each of its tabs less time. */
const BASELINE_LOAD_TIMEOUT = 4000
const BASELINE_OPEN_TIMEOUT = 3000
/** How long a failover may take before the run counts as failed. */
const FAILOVER_TIMEOUT = 10_000
/** Any single page.evaluate. */
const EVAL_TIMEOUT = 5000

const log = (message: string) => void process.stderr.write(`${message}\n`)
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))
/** Node's clock, ms since the epoch, sub-ms: comparable with the page's `performance.timeOrigin + now()`. */
const now = () => performance.timeOrigin + performance.now()

function withTimeout<T>(promise: Promise<T>, timeout: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${timeout} ms: ${what}`)), timeout)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/** Polls `probe` every `every` ms until it returns something other than undefined. */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeout: number, what: string, every = 10): Promise<T> {
  const end = Date.now() + timeout
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(every)
  }
}

// --- CPU use (Linux): other work on the machine skews every number, so the bench says how much there was

/** Per-process CPU ticks (utime + stime) and parents, from /proc/<pid>/stat. */
function processTicks(): Map<number, { ppid: number; ticks: number }> {
  const procs = new Map<number, { ppid: number; ticks: number }>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // After "pid (comm) ": state ppid … utime stime at 11 and 12.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      procs.set(Number(name), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) })
    } catch {
      // The process ended meanwhile.
    }
  }
  return procs
}

/** The machine's idle and total CPU ticks so far, from /proc/stat. */
function machineTicks(): { idle: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
  return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal }
}

/** Shares of the machine's CPU time (all cores), 0..1: this bench with its browser, and every other process. */
interface CpuShares {
  own: number
  others: number
}

/**
 * Measures, on Linux, how much of the machine's CPU this process and its descendants (the
 * browser, its renderers) used, and how much everything else did, from its creation to
 * `stop()`. Processes are sampled every 500 ms, so one that ends (a closed tab's renderer)
 * still counts up to its last sample. Elsewhere every share is NaN.
 */
function cpuMeter(): { stop(): CpuShares } {
  let machine: { idle: number; total: number }
  try {
    machine = machineTicks()
  } catch {
    return { stop: () => ({ own: Number.NaN, others: Number.NaN }) }
  }
  const first = new Map<number, number>()
  const last = new Map<number, number>()
  const mine = new Set<number>()
  const sample = (initial: boolean) => {
    const procs = processTicks()
    const isMine = (pid: number): boolean => {
      for (let p = pid, hops = 0; p > 1 && hops < 64; p = procs.get(p)?.ppid ?? 0, hops++) if (p === process.pid || mine.has(p)) return true
      return false
    }
    for (const [pid, p] of procs) {
      // A process born after the start counts from zero.
      if (!first.has(pid)) first.set(pid, initial ? p.ticks : 0)
      last.set(pid, p.ticks)
      if (isMine(pid)) mine.add(pid)
    }
  }
  sample(true)
  const timer = setInterval(() => sample(false), 500)
  // A meter left running (an error on the way) never keeps the process alive.
  timer.unref()
  let result: CpuShares | undefined
  return {
    stop() {
      if (result) return result
      clearInterval(timer)
      sample(false)
      const now = machineTicks()
      const total = now.total - machine.total
      if (total <= 0) return { own: Number.NaN, others: Number.NaN }
      const busy = total - (now.idle - machine.idle)
      let own = 0
      for (const pid of mine) own += last.get(pid)! - first.get(pid)!
      own = Math.min(busy, own)
      return (result = { own: own / total, others: Math.max(0, busy - own) / total })
    },
  }
}

interface Tab {
  /** In order of opening, from 1. */
  n: number
  page: Page
  errors: string[]
  crashed: boolean
  loaded: boolean
  open: Record<StreamName, boolean>
  /** When (Node clock) this tab last sent a quotes stream request: the leader's tab did last. */
  quotesRequestAt: number
  /** How far this renderer's clock is ahead of the wall clock (ms), measured when it opened. */
  offset: number
}

/**
 * Bench instrumentation, injected before the app's scripts: records when this tab is
 * granted a Web Lock (tabwire holds one per shared stream for the whole leadership).
 */
function recordLockGrants(): void {
  const grants: { name: string; at: number }[] = []
  ;(window as unknown as { __benchLocks: typeof grants }).__benchLocks = grants
  const request = LockManager.prototype.request as (this: LockManager, name: string, ...rest: unknown[]) => Promise<unknown>
  LockManager.prototype.request = function (this: LockManager, name: string, ...rest: unknown[]) {
    const callback = rest.at(-1) as (lock: Lock | null) => unknown
    const wrapped = (lock: Lock | null) => {
      if (lock) grants.push({ name, at: performance.timeOrigin + performance.now() })
      return callback(lock)
    }
    return request.call(this, name, ...rest.slice(0, -1), wrapped)
  } as LockManager['request']
}

/** When the tab was first granted a lock at or after `since` (its own clock), or null. */
const lockGrantedSince = (tab: Tab, since: number) =>
  evaluate(
    tab,
    (after: number) => {
      const grants = (window as unknown as { __benchLocks?: { at: number }[] }).__benchLocks ?? []
      const at = grants.filter((g) => g.at >= after).map((g) => g.at)
      return at.length ? Math.min(...at) : null
    },
    since,
    'read the lock grants',
  )

/** What the page recorded, the parts the bench reads. */
type PageRecording = Pick<Recording, 'ids' | 'times' | 'errors' | 'resets'>

const evaluate = <R, A>(tab: Tab, fn: (arg: A) => R, arg: A, what: string): Promise<R> =>
  withTimeout(tab.page.evaluate(fn as (arg: unknown) => R, arg as unknown), EVAL_TIMEOUT, `tab ${tab.n}: ${what}`)

const readRecording = (tab: Tab) =>
  evaluate(
    tab,
    () => {
      const r = (window as unknown as { __tabwire: Recording }).__tabwire
      return { ids: r.ids, times: r.times, errors: r.errors, resets: r.resets } satisfies PageRecording
    },
    undefined,
    'read the recording',
  )

/** The seq of the newest quote the tab delivered, or -1. */
const lastQuoteSeq = (tab: Tab) =>
  evaluate(
    tab,
    () => {
      const id = (window as unknown as { __tabwire: Recording }).__tabwire.ids.quotes.at(-1)
      return id ? Number(id.slice(id.lastIndexOf('.') + 1)) : -1
    },
    undefined,
    'read the last quote id',
  )

/** The first quote the tab delivered with a seq above `above`: its id and time, or null. */
const firstQuoteAbove = (tab: Tab, above: number) =>
  evaluate(
    tab,
    (threshold: number) => {
      const { ids, times } = (window as unknown as { __tabwire: Recording }).__tabwire
      let found = -1
      for (let i = ids.quotes.length - 1; i >= 0; i--) {
        const id = ids.quotes[i]!
        if (Number(id.slice(id.lastIndexOf('.') + 1)) > threshold) found = i
        else break
      }
      return found < 0 ? null : { id: ids.quotes[found]!, time: times.quotes[found]! }
    },
    above,
    'look for a new quote',
  )

/**
 * How far a process's `timeOrigin + now()` is ahead of the wall clock (`Date.now()`), ms.
 * Over a 20 ms busy loop, each `Date.now()`, clock, `Date.now()` triple that stays within one
 * millisecond `a` bounds the offset to (clock - a - 1, clock - a]; the bounds of all such
 * triples are intersected. (A triple split by preemption spans two milliseconds and is
 * skipped: a plain min or mean of clock - Date.now() is thrown off by ms-long preemptions
 * on a busy 2-core machine.) Runs in Node and, by its source, in the page: self-contained.
 */
function measureClockOffset(): number {
  let lo = Number.NEGATIVE_INFINITY
  let hi = Number.POSITIVE_INFINITY
  const end = performance.now() + 20
  while (performance.now() < end) {
    const a = Date.now()
    const clock = performance.timeOrigin + performance.now()
    if (Date.now() !== a) continue
    lo = Math.max(lo, clock - a - 1)
    hi = Math.min(hi, clock - a)
  }
  // The page's clock is coarsened (and jittered) to 0.1 ms: the bounds may cross a little.
  return Number.isFinite(lo) && Number.isFinite(hi) ? (lo + hi) / 2 : Number.NaN
}

const clockOffset = (tab: Tab) => evaluate(tab, measureClockOffset, undefined, 'measure the clock')

interface Failover {
  kind: Kind
  /** Action → first quote delivered in a surviving tab that the old leader could not have relayed. */
  ms: number
  /** Action → a lock granted to the tab that then sent the new quotes request (NaN if not seen). */
  lockMs: number
  /** Action → the new quotes stream request at the server (Date.now() resolution). */
  requestMs: number
  /** Action → every surviving tab has delivered such a quote. */
  allMs: number
  /** Quotes stream requests the server got in this run (1 is a clean handover). */
  requests: number
  /** Tabs (besides the leader) whose renderer died with it. */
  collateral: number
  /** Whether the new quotes request carried a Last-Event-ID (a resume, not a fresh start). */
  resumed: boolean
  /**
   * The old leader's newest seq (read just before the action) minus the seq the new leader
   * resumed from: above 0, the new leader had not heard every quote the old one relayed.
   */
  behind: number
}

/** How far the renderers' clocks are ahead of the wall clock during the steady window. */
interface Clocks {
  /** The smallest and the largest offset (ms). */
  range: [number, number]
  /** The largest change of one tab's offset from the window's start to its end (ms). */
  drift: number
}

interface ModeResult {
  mode: Mode
  /** The column's heading. */
  label: string
  /** Whether failovers were measured (shared mode, full tab count). */
  failoversRun: boolean
  opened: number
  loaded: number
  /** Tabs whose stream reached `open` when opened. */
  opens: Record<StreamName, number>
  /** Connections at the end of the steady window. */
  clients: Record<StreamName, number>
  /** Smallest and largest connection count sampled (every 25 ms) from the first tab to the end. */
  clientRange: Record<StreamName, [number, number]>
  /** Stream requests at the server during the mode. */
  requests: Record<StreamName, number>
  steady: Spread & {
    requesterFirst: number
    requester: number | undefined
    /** Quotes the server published during the window (its quote timer runs late on a busy machine). */
    published: number
    /** Shares of the machine's CPU time during the window used by this bench and by other processes, 0..1. */
    cpu: CpuShares
  }
  failovers: Failover[]
  failedRuns: string[]
  ids: Record<(typeof SSE_STREAMS)[number], { tabs: number; checks: IdCheck[] }>
  hookErrors: Map<string, number>
  resets: number
  pageErrors: string[]
  clocks: Clocks
  tabsAtEnd: number
  seconds: number
  /** CPU shares (this bench / others) over the whole column. */
  cpu: CpuShares
}

function pageUrl(demo: Demo, mode: Mode): string {
  const url = new URL(demo.url)
  for (const [key, value] of Object.entries({ ...PAGE, share: mode })) url.searchParams.set(key, String(value))
  return url.toString()
}

async function openTab(context: BrowserContext, url: string, n: number, loadTimeout: number, openTimeout: number): Promise<Tab> {
  const page = await context.newPage()
  const tab: Tab = { n, page, errors: [], crashed: false, loaded: false, open: { quotes: false, notifications: false, chat: false }, quotesRequestAt: 0, offset: 0 }
  page.on('pageerror', (error) => tab.errors.push(error.message))
  page.on('crash', () => void (tab.crashed = true))
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/quotes') tab.quotesRequestAt = now()
  })
  try {
    await page.goto(url, { timeout: loadTimeout, waitUntil: 'domcontentloaded' })
    await page.locator('[data-stream="quotes"]').waitFor({ timeout: loadTimeout })
    tab.loaded = true
    tab.offset = await clockOffset(tab)
  } catch {
    return tab
  }
  const end = Date.now() + openTimeout
  await Promise.all(
    STREAMS.map(async (stream) => {
      try {
        await page.locator(`[data-stream="${stream}"] > [data-tabwire-connection][data-state="open"]`).waitFor({ timeout: Math.max(1, end - Date.now()) })
        tab.open[stream] = true
      } catch {
        // Reported as a tab whose stream did not open.
      }
    }),
  )
  return tab
}

/** Requests the server got after `after` (an element of demo.requests, or undefined for all). */
function requestsAfter(demo: Demo, after: StreamRequest | undefined): StreamRequest[] {
  const all = demo.requests
  const at = after ? all.lastIndexOf(after) : -1
  return all.slice(at + 1)
}

async function runMode(browser: Browser, demo: Demo, mode: Mode, label: string, args: BenchArgs, measureFailovers: boolean): Promise<ModeResult> {
  const started = Date.now()
  const cpuRun = cpuMeter()
  const baseline = mode === 'tab'
  const url = pageUrl(demo, mode)
  const context = await browser.newContext()
  await context.addInitScript(recordLockGrants)
  const tabs: Tab[] = []
  const gone: Tab[] = []
  let opened = 0
  const firstRequest = demo.requests.at(-1)
  const clientRange = Object.fromEntries(STREAMS.map((s) => [s, [Number.POSITIVE_INFINITY, 0]])) as Record<StreamName, [number, number]>
  let sampling = false
  const sampler = setInterval(() => {
    if (!sampling) return
    const clients = demo.stats().clients
    for (const s of STREAMS) clientRange[s] = [Math.min(clientRange[s][0], clients[s]), Math.max(clientRange[s][1], clients[s])]
  }, 25)
  const open = async () => {
    const tab = await openTab(context, url, ++opened, baseline ? BASELINE_LOAD_TIMEOUT : LOAD_TIMEOUT, baseline ? BASELINE_OPEN_TIMEOUT : OPEN_TIMEOUT)
    tabs.push(tab)
    return tab
  }
  try {
    log(`[${mode}] ${label}: opening ${args.tabs} tabs`)
    for (let i = 0; i < args.tabs; i++) {
      const tab = await open()
      const streams = STREAMS.filter((s) => tab.open[s])
      log(`[${mode}]   tab ${tab.n}: ${tab.loaded ? `loaded, open: ${streams.join(', ') || 'none'}` : 'the app did not load'}`)
      if (i === 0) sampling = true
    }
    const opens = Object.fromEntries(STREAMS.map((s) => [s, tabs.filter((t) => t.open[s]).length])) as Record<StreamName, number>
    const loaded = tabs.filter((t) => t.loaded)

    // --- steady stream: who delivers when
    await sleep(700)
    // Each renderer's clock against the wall clock, before and after the window: delivery
    // times are compared on the wall clock, so clocks of different processes can be compared.
    const offsetsOf = () => Promise.all(loaded.map((t) => clockOffset(t).catch(() => Number.NaN)))
    const nodeBefore = measureClockOffset()
    const before = await offsetsOf()
    log(`[${mode}] steady stream for ${args.steady} s`)
    const cpuWindow = cpuMeter()
    const headFrom = seqOf(demo.stats().heads.quotes)
    const from = now() - nodeBefore
    await sleep(args.steady * 1000)
    const to = now() - measureClockOffset()
    const published = seqOf(demo.stats().heads.quotes) - headFrom
    const cpu = cpuWindow.stop()
    const clients = demo.stats().clients
    const after = await offsetsOf()
    const offsets = before.map((b, i) => (b + after[i]!) / 2)
    const known = offsets.filter(Number.isFinite)
    const clocks: Clocks = {
      range: known.length ? [Math.min(...known), Math.max(...known)] : [Number.NaN, Number.NaN],
      drift: Math.max(0, ...before.map((b, i) => Math.abs(after[i]! - b)).filter(Number.isFinite)),
    }
    const recordings = await Promise.all(loaded.map(async (t, i) => ({ tab: t, offset: offsets[i]!, rec: await readRecording(t).catch(() => undefined) })))
    const deliveries = recordings.flatMap(({ tab, offset, rec }) =>
      rec && Number.isFinite(offset) ? [{ tab: tab.n, ids: rec.ids.quotes, times: rec.times.quotes.map((t) => t - offset) }] : [],
    )
    const steadySpread = spread(deliveries, from, to)
    const requester = loaded.filter((t) => t.quotesRequestAt > 0).sort((a, b) => b.quotesRequestAt - a.quotesRequestAt)[0]
    const steady = {
      ...steadySpread,
      published,
      cpu,
      requester: requester?.n,
      requesterFirst: requester ? (steadySpread.firstBy.get(requester.n) ?? 0) : 0,
    }
    log(
      `[${mode}] connections: ${STREAMS.map((s) => `${s} ${clients[s]}`).join(', ')}; ${steady.comparedIds} quotes compared (${published} published) ` +
        `in ${steady.receivingTabs} tabs; CPU: ${Math.round(cpu.own * 100)}% this bench, ${Math.round(cpu.others * 100)}% others`,
    )

    // --- failovers (shared mode only)
    const failovers: Failover[] = []
    const failedRuns: string[] = []
    if (measureFailovers) {
      for (const kind of ['close', 'crash'] as const) {
        log(`[${mode}] failover after leader ${kind}: ${args.runs} runs`)
        for (let run = 1; run <= args.runs; run++) {
          try {
            const result = await failover(kind)
            failovers.push(result)
            log(
              `[${mode}]   ${kind} #${run}: ${ms(result.ms)} ms (lock after ${ms(result.lockMs)} ms, request after ${ms(result.requestMs)} ms, ` +
                `all tabs after ${ms(result.allMs)} ms, ${result.requests} request(s), resume point ${result.behind > 0 ? `${result.behind} behind` : `${-result.behind} ahead of`} the old leader's newest)`,
            )
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error)
            failedRuns.push(`${kind} #${run}: ${message}`)
            log(`[${mode}]   ${kind} #${run}: FAILED: ${message}`)
          }
          await refill()
        }
      }
    }

    // --- what every surviving tab delivered over the whole run
    const survivors = tabs.filter((t) => t.loaded && !t.crashed)
    const finals = await Promise.all(survivors.map(async (t) => ({ tab: t, rec: await readRecording(t).catch(() => undefined) })))
    const ids = Object.fromEntries(
      SSE_STREAMS.map((s) => {
        const checks = finals.flatMap(({ rec }) => (rec && rec.ids[s].length > 0 ? [checkIds(rec.ids[s])] : []))
        return [s, { tabs: checks.length, checks }]
      }),
    ) as ModeResult['ids']
    const hookErrors = new Map<string, number>()
    let resets = 0
    for (const { rec } of finals) {
      for (const e of rec?.errors ?? []) hookErrors.set(`${e.stream}: ${e.kind}`, (hookErrors.get(`${e.stream}: ${e.kind}`) ?? 0) + 1)
      resets += rec?.resets.length ?? 0
    }
    const requests = Object.fromEntries(STREAMS.map((s) => [s, requestsAfter(demo, firstRequest).filter((r) => r.stream === s).length])) as Record<StreamName, number>
    const pageErrors = [...tabs, ...gone].flatMap((t) => t.errors.map((e) => `tab ${t.n}: ${e}`))
    return {
      mode,
      label,
      failoversRun: measureFailovers,
      opened: args.tabs,
      loaded: loaded.length,
      opens,
      clients,
      clientRange,
      requests,
      steady,
      failovers,
      failedRuns,
      ids,
      hookErrors,
      resets,
      pageErrors,
      clocks,
      tabsAtEnd: survivors.length,
      seconds: (Date.now() - started) / 1000,
      cpu: cpuRun.stop(),
    }
  } finally {
    cpuRun.stop()
    sampling = false
    clearInterval(sampler)
    await withTimeout(context.close(), 15_000, 'close the browser context').catch((error: unknown) => log(`[${mode}] ${String(error)}`))
  }

  /** The tab holding the quotes connection: the live tab that sent the latest quotes request. */
  function leaderTab(): Tab {
    const live = tabs.filter((t) => !t.crashed && t.quotesRequestAt > 0)
    const leader = live.sort((a, b) => b.quotesRequestAt - a.quotesRequestAt)[0]
    if (!leader) throw new Error('no tab has made a quotes request')
    return leader
  }

  async function failover(kind: Kind): Promise<Failover> {
    await until(() => (demo.stats().clients.quotes === 1 ? true : undefined), 3000, 'one quotes connection before the run')
    const leader = leaderTab()
    const survivors = tabs.filter((t) => t !== leader)
    let cdp: CDPSession | undefined
    if (kind === 'crash') cdp = await context.newCDPSession(leader.page)
    // The leader is ahead of its followers: its newest id is the highest any tab had.
    const before = await lastQuoteSeq(leader)
    const lastRequest = demo.requests.at(-1)
    const nodeOffset = measureClockOffset()
    // The action's time on the wall clock (every time below is converted to it).
    const t0 = now() - nodeOffset
    let closing: Promise<void> | undefined
    if (kind === 'close') closing = leader.page.close()
    else void cdp!.send('Page.crash').catch(() => {})
    try {
      const request = await until(
        () => requestsAfter(demo, lastRequest).find((r) => r.stream === 'quotes'),
        FAILOVER_TIMEOUT,
        `a new quotes request after the leader's ${kind}`,
        2,
      )
      // A quote above what the new leader resumed from came over its new connection; above
      // `before` it is also newer than anything the old leader had.
      const threshold = Math.max(before, seqOf(request.lastEventId))
      const alive = () => survivors.filter((t) => !t.crashed)
      const firsts = await until(
        async () => {
          const found = await Promise.all(alive().map(async (t) => ({ tab: t, first: await firstQuoteAbove(t, threshold) })))
          return found.every((f) => f.first) ? found : undefined
        },
        FAILOVER_TIMEOUT,
        `every surviving tab to deliver a quote above seq ${threshold}`,
        20,
      )
      const times = firsts.map((f) => f.first!.time - f.tab.offset)
      // The tab that sent the new quotes request, and when it was granted a lock.
      const newLeader = alive()
        .filter((t) => t.quotesRequestAt > t0 + nodeOffset)
        .sort((a, b) => a.quotesRequestAt - b.quotesRequestAt)[0]
      const granted = newLeader ? await lockGrantedSince(newLeader, t0 + newLeader.offset) : null
      return {
        kind,
        ms: Math.min(...times) - t0,
        lockMs: granted === null || !newLeader ? Number.NaN : granted - newLeader.offset - t0,
        requestMs: request.at - t0,
        allMs: Math.max(...times) - t0,
        requests: requestsAfter(demo, lastRequest).filter((r) => r.stream === 'quotes').length,
        collateral: survivors.filter((t) => t.crashed).length,
        resumed: request.lastEventId !== null,
        behind: before - seqOf(request.lastEventId),
      }
    } finally {
      await closing?.catch(() => {})
      // (No cdp.detach(): on a crashed page it hangs until the page is closed, which also ends the session.)
      for (const t of [leader, ...survivors.filter((s) => s.crashed)]) {
        if (kind === 'crash') await withTimeout(t.page.close(), 5000, 'close a crashed tab').catch(() => {})
        tabs.splice(tabs.indexOf(t), 1)
        gone.push(t)
      }
    }
  }

  /** Back to N tabs, all streams open, one connection per stream. */
  async function refill(): Promise<void> {
    while (tabs.length < args.tabs) {
      const tab = await open()
      if (!STREAMS.every((s) => tab.open[s])) log(`[${mode}]   fresh tab ${tab.n}: not every stream opened (${STREAMS.filter((s) => !tab.open[s]).join(', ')})`)
    }
    await until(
      () => {
        const c = demo.stats().clients
        return c.quotes === 1 && c.notifications === 1 && c.chat === 1 ? true : undefined
      },
      3000,
      'one connection per stream',
    ).catch(() => log(`[${mode}]   connections after refill: ${JSON.stringify(demo.stats().clients)}`))
    await sleep(150)
  }
}

// --- report

function sum(checks: readonly IdCheck[], key: 'lost' | 'duplicated' | 'outOfOrder' | 'delivered'): number {
  return checks.reduce((n, c) => n + c[key], 0)
}

function report(args: BenchArgs, browserVersion: string, busyBefore: number, columns: readonly ModeResult[]): string {
  const row = (label: string, f: (r: ModeResult) => string) => [label, ...columns.map(f)]
  /** A failover row: no leader in the baseline, none measured in the extra shared column. */
  const failoverRow = (label: string, f: (r: ModeResult) => string) =>
    row(label, (r) => (r.mode === 'tab' ? 'n/a (no leader)' : r.failoversRun ? f(r) : 'not measured'))
  const failoverCell = (kind: Kind) => (r: ModeResult) => {
    const runs = r.failovers.filter((f) => f.kind === kind)
    const failed = r.failedRuns.filter((f) => f.startsWith(kind)).length
    if (runs.length === 0) return failed ? `all ${failed} runs failed` : '—'
    const v = runs.map((f) => f.ms)
    return `${ms(quantile(v, 0.5))} / ${ms(Math.max(...v))} ms (n=${runs.length}${failed ? `, ${failed} failed` : ''})`
  }
  /** p50 / max of one part of the failovers of a kind. */
  const failoverPart = (kind: Kind, part: 'lockMs' | 'requestMs' | 'allMs') => (r: ModeResult) => {
    const v = r.failovers.filter((f) => f.kind === kind).map((f) => f[part]).filter(Number.isFinite)
    return v.length ? `${ms(quantile(v, 0.5))} / ${ms(Math.max(...v))} ms` : '—'
  }
  const latency = (r: ModeResult) =>
    r.steady.deltas.length ? `${ms(quantile(r.steady.deltas, 0.5), 2)} / ${ms(quantile(r.steady.deltas, 0.99), 2)} / ${ms(Math.max(...r.steady.deltas), 2)} ms` : '—'
  const perTab = (r: ModeResult) => {
    const p50s = [...r.steady.byTab.values()].map((d) => quantile(d, 0.5))
    return p50s.length ? `${ms(Math.min(...p50s), 2)} … ${ms(Math.max(...p50s), 2)} ms` : '—'
  }
  const loss = (s: (typeof SSE_STREAMS)[number]) => (r: ModeResult) => {
    const { tabs, checks } = r.ids[s]
    return `${sum(checks, 'lost')} / ${sum(checks, 'duplicated')} / ${sum(checks, 'outOfOrder')} (${tabs} tabs, ${sum(checks, 'delivered')} ids)`
  }
  const firstBy = (r: ModeResult) => {
    if (!r.steady.comparedIds) return '—'
    const top = [...r.steady.firstBy].sort((a, b) => b[1] - a[1])
    const parts = top.slice(0, 3).map(([tab, n]) => `tab ${tab} ${Math.round((100 * n) / r.steady.comparedIds)}%`)
    return parts.join(', ') + (top.length > 3 ? ', …' : '')
  }

  const rows: string[][] = [
    row('Tabs opened / app loaded / all 3 streams open', (r) => `${r.opened} / ${r.loaded} / ${Math.min(r.opens.quotes, r.opens.notifications, r.opens.chat)}`),
    row('Tabs with quotes / notifications / chat open', (r) => `${r.opens.quotes} / ${r.opens.notifications} / ${r.opens.chat}`),
    row('Server connections: quotes / notifications / chat', (r) => `${r.clients.quotes} / ${r.clients.notifications} / ${r.clients.chat}`),
    row('  min–max sampled (25 ms) over the whole run', (r) => STREAMS.map((s) => `${r.clientRange[s][0]}–${r.clientRange[s][1]}`).join(' / ')),
    row('  stream requests: quotes / notifications / chat', (r) => `${r.requests.quotes} / ${r.requests.notifications} / ${r.requests.chat}`),
    ...(['close', 'crash'] as const).flatMap((kind) => [
      failoverRow(`Failover after leader ${kind === 'close' ? 'close' : 'renderer crash'}, p50 / max`, failoverCell(kind)),
      failoverRow('  action → lock granted to the new leader', failoverPart(kind, 'lockMs')),
      failoverRow('  action → its quotes request at the server', failoverPart(kind, 'requestMs')),
      failoverRow('  action → every surviving tab has a new quote', failoverPart(kind, 'allMs')),
    ]),
    failoverRow('  runs with more than one new quotes request', (r) => String(r.failovers.filter((f) => f.requests > 1).length)),
    failoverRow('  other tabs killed by a crash', (r) => String(r.failovers.reduce((n, f) => n + f.collateral, 0))),
    failoverRow('  new leader resumed with a Last-Event-ID', (r) => `${r.failovers.filter((f) => f.resumed).length} of ${r.failovers.length} runs`),
    failoverRow("  old leader's newest − resume point (max)", (r) => {
      if (!r.failovers.length) return '—'
      const max = Math.max(...r.failovers.map((f) => f.behind))
      return `${max} quotes${max <= 0 ? ' (never behind)' : ` (behind in ${r.failovers.filter((f) => f.behind > 0).length} runs)`}`
    }),
    row('Follower delay behind first tab, p50 / p99 / max', latency),
    row('  p50 of each tab behind (best … worst)', perTab),
    row('  ids compared × other tabs (samples)', (r) => `${r.steady.comparedIds} × ${Math.max(0, r.steady.receivingTabs - 1)} (${r.steady.deltas.length})`),
    row('  tabs receiving quotes; quotes published', (r) => `${r.steady.receivingTabs} of ${r.loaded} loaded; ≈${r.steady.published} in ${args.steady} s`),
    row('  tab that delivered first', firstBy),
    row('  first = tab of the latest quotes request', (r) => (r.steady.comparedIds ? `${Math.round((100 * r.steady.requesterFirst) / r.steady.comparedIds)}% (tab ${r.steady.requester ?? '?'})` : '—')),
    row('  machine CPU: this bench / other processes', (r) =>
      Number.isFinite(r.steady.cpu.own) ? `${Math.round(r.steady.cpu.own * 100)}% / ${Math.round(r.steady.cpu.others * 100)}%` : '—',
    ),
    row('  renderer clocks ahead of wall clock (drift)', (r) => `${ms(r.clocks.range[0], 2)} … ${ms(r.clocks.range[1], 2)} ms (${ms(r.clocks.drift, 2)} ms)`),
    row('Quotes lost / duplicated / out of order', loss('quotes')),
    row('Notifications lost / duplicated / out of order', loss('notifications')),
    row('Hook errors (onError) in surviving tabs', (r) => (r.hookErrors.size ? [...r.hookErrors].map(([k, n]) => `${k} ×${n}`).join(', ') : 'none')),
    row('Uncaught page errors (all tabs)', (r) => String(r.pageErrors.length)),
    row('Time for this column; CPU this bench / others', (r) =>
      `${r.seconds.toFixed(0)} s; ${Number.isFinite(r.cpu.own) ? `${Math.round(r.cpu.own * 100)}% / ${Math.round(r.cpu.others * 100)}%` : '—'}`,
    ),
  ]

  const out = [
    `tabwire cross-tab sharing: ${args.tabs} tabs in one Chromium context (${browserVersion}), Node ${process.version}, ${cpus().length} cores` +
      ` (${Number.isFinite(busyBefore) ? `${Math.round(busyBefore * 100)}%` : 'unknown'} busy in the second before the bench started)`,
    `demo server on loopback: a quote every ${args.interval} ms, a notification every ${SERVER.notifyInterval} ms, SSE heartbeat ${SERVER.heartbeat} ms, retry ${SERVER.retry} ms;`,
    `page: ?idle=${PAGE.idle}&delay=${PAGE.delay}&pauseHidden=${PAGE.pauseHidden} (leader heartbeat: the default); ${args.runs} failover runs per kind; steady window ${args.steady} s`,
    '',
    table(['', ...columns.map((r) => r.label)], rows),
    '',
    'Definitions',
    '- Failover: from the moment the bench sends the action (page.close() of the leader tab, or CDP Page.crash on',
    '  its renderer, reply not awaited) to the first delivery, in any surviving tab, of a quote whose seq is above',
    "  both the highest seq any tab had just before the action (the leader's newest) and the Last-Event-ID the new",
    '  leader resumed from: a quote the old leader cannot have relayed. The parts: when the tab that then sent',
    '  the new quotes request was granted a Web Lock (the bench wraps navigator.locks.request in the page), when',
    '  the server got that request (ms resolution), and when every surviving tab had such a quote. The leader is',
    '  the tab that sent the latest quotes request; after each run a fresh tab is opened to keep N tabs.',
    "  \"Old leader's newest − resume point\": the seq the old leader had just before the action minus the",
    "  Last-Event-ID of the new leader's request; 0 or below (the old leader went on relaying until it went)",
    '  means the new leader had heard everything the old one had before the action.',
    '- Follower delay: over the steady window, for each quote id delivered by every tab that received quotes,',
    "  each other tab's delivery time minus the earliest tab's (in shared mode the leader's, as the 'tab that",
    "  delivered first' rows check). In the baseline every tab has its own connection, so this is the spread",
    '  between independent streams.',
    "- Clocks: delivery times are the page's `performance.timeOrigin + now()` (0.1 ms resolution), each renderer's",
    "  clock moved onto the wall clock by its measured offset (shown); the bench's own times likewise.",
    '- CPU: shares of the machine\'s CPU time (all cores) used by this process with the browser it started,',
    '  and by everything else; other work on the machine slows the tabs and the server, and skews every number.',
    '- Lost / duplicated / out of order: per tab alive at the end, against the contiguous seq range from its first',
    '  id to its last (`<epoch>.<seq>`): seqs missing, ids delivered more than once, and deliveries below an',
    '  earlier one; summed over tabs.',
  ]
  const notes: string[] = []
  for (const r of columns) {
    if (r.failedRuns.length) notes.push(`${r.label}: failed runs:`, ...r.failedRuns.map((f) => `  ${f}`))
    if (r.pageErrors.length) notes.push(`${r.label}: page errors:`, ...r.pageErrors.slice(0, 5).map((e) => `  ${e}`))
    for (const s of SSE_STREAMS) {
      const bad = r.ids[s].checks.filter((c) => c.lost || c.duplicated || c.outOfOrder || c.epochs > 1 || c.malformed)
      if (bad.length) notes.push(`${r.label}: ${s}: ${bad.length} tab(s) with gaps or repeats, e.g. ${JSON.stringify(bad[0])}`)
    }
    if (r.resets) notes.push(`${r.label}: ${r.resets} reset event(s) delivered`)
  }
  const base = columns.find((r) => r.mode === 'tab')
  if (base && (base.loaded < base.opened || base.steady.receivingTabs < base.loaded)) {
    notes.push(
      `share: 'tab': Chromium opens at most 6 HTTP/1.1 connections per host and each tab holds 2 SSE streams: ${base.steady.receivingTabs} of ${base.opened} tabs`,
      `  received quotes, ${base.opens.notifications} had notifications open, and ${base.opened - base.loaded} could not even load the app (the page request waits`,
      '  for a free connection, for as long as the streams stay open). The chat WebSocket does not count against the limit.',
    )
  }
  const extra = columns.find((r) => r.mode === 'tabs' && !r.failoversRun)
  if (extra) {
    notes.push(
      `The last column runs share: 'tabs' with as many tabs as the baseline could load (${extra.opened}), steady stream only: the same`,
      '  number of busy renderers as the baseline, for a like-for-like look at the follower delay.',
    )
  }
  if (notes.length) out.push('', 'Notes', ...notes)
  return out.join('\n')
}

// --- main

async function main(): Promise<number> {
  let args: BenchArgs
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    if (error.message) log(`bench/tabs: ${error.message}`)
    log(USAGE)
    return error.message ? 2 : 0
  }

  let dist: string | undefined
  let demo: Demo | undefined
  let browser: Browser | undefined
  /** Closes the browser and the server and removes the built app; the first call does it, later ones wait for it. */
  let cleaning: Promise<void> | undefined
  const cleanup = () =>
    (cleaning ??= (async () => {
      await withTimeout(browser?.close() ?? Promise.resolve(), 20_000, 'close the browser').catch((error: unknown) => log(String(error)))
      await withTimeout(demo?.close() ?? Promise.resolve(), 10_000, 'close the demo server').catch((error: unknown) => log(String(error)))
      if (dist) await rm(dist, { recursive: true, force: true }).catch((error: unknown) => log(`could not remove ${dist}: ${String(error)}`))
    })())
  // A hard limit: whatever hangs, the browser and the server go and the process ends.
  const limit = 120_000 + args.tabs * 20_000 + args.runs * 2 * 15_000 + args.steady * 2000
  const watchdog = setTimeout(() => {
    log(`bench/tabs: still running after ${limit / 1000} s; giving up`)
    void cleanup().finally(() => process.exit(3))
  }, limit)
  const interrupt = () => {
    log('bench/tabs: interrupted')
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)

  try {
    const started = Date.now()
    // Other work on the machine skews every number here: say how busy it was before the bench.
    const idle = cpuMeter()
    await sleep(1000)
    const busyBefore = idle.stop().others
    log(`machine CPU busy before the bench: ${Number.isFinite(busyBefore) ? `${Math.round(busyBefore * 100)}%` : 'unknown'}`)
    dist = await mkdtemp(join(tmpdir(), 'tabwire-bench-'))
    log(`building the demo app to ${dist}`)
    await build({
      configFile: fileURLToPath(new URL('../demo/vite.config.ts', import.meta.url)),
      logLevel: 'warn',
      build: { outDir: dist, emptyOutDir: true },
    })
    demo = await startDemo({ port: 0, dist, quoteInterval: args.interval, ...SERVER })
    log(`demo server at ${demo.url}`)
    // Ctrl-C and SIGTERM are ours (see `interrupt`): Playwright's own handlers would exit before the cleanup is done.
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000, handleSIGINT: false, handleSIGTERM: false })
    const columns: ModeResult[] = []
    const run = async (mode: Mode, label: string, tabs: number, failovers: boolean) => {
      const result = await runMode(browser!, demo!, mode, label, { ...args, tabs }, failovers)
      columns.push(result)
      // The next column starts from no connections.
      await until(() => (Object.values(demo!.stats().clients).every((c) => c === 0) ? true : undefined), 5000, 'the connections to close').catch(() =>
        log(`connections still open after closing the context: ${JSON.stringify(demo!.stats().clients)}`),
      )
      return result
    }
    await run('tabs', `share: 'tabs', ${args.tabs} tabs`, args.tabs, true)
    const base = await run('tab', `share: 'tab' (baseline), ${args.tabs} tabs`, args.tabs, false)
    // As many shared tabs as the baseline could load: the same number of busy renderers.
    if (base.loaded >= 2 && base.loaded < args.tabs) await run('tabs', `share: 'tabs', ${base.loaded} tabs (same load)`, base.loaded, false)
    const version = browser.version()
    process.stdout.write(`${report(args, `Chromium ${version}`, busyBefore, columns)}\n`)
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
    log(`bench/tabs: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exitCode = 1
  },
)
