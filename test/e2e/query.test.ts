/**
 * tabwire/query in real Chromium: the demo's Orders panel (`?only=orders`) is a TanStack
 * query kept fresh by the bridge over the realtime channel `orders`, with `share: 'tabs'`.
 * Several tabs of one browser context (they share locks and BroadcastChannel only within
 * one), the real demo server: one change → one `GET /api/orders` in the whole browser; the
 * fetching tab killed mid-request → the others still get fresh data; a restart of the logs
 * (a `reset` per tab) → one refetch per browser; a tab that just fetched (holding the mark
 * of its post) goes to another page and back → restored from the back/forward cache.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest'
import type { Demo } from '../../demo/server.ts'
import type { OrdersRecording } from '../../demo/src/orders.tsx'
import { appUrl, startTestDemo } from './helpers.ts'
import { launch } from './lifecycle-fixture.ts'
import { crash, pollFor } from './tabs-helpers.ts'

const N = 4

let browser: Browser

beforeAll(async () => {
  // With the back/forward cache, as users have it (the last test needs it; the others do not mind).
  browser = await launch({ bfcache: true })
})
afterAll(async () => {
  await browser?.close()
})

interface OrdersTab {
  n: number
  page: Page
  errors: Error[]
  alive: boolean
}

/** A demo server of the test's own (no timed order changes: the test makes them) and N tabs of the Orders panel. */
async function fresh({ onTestFinished }: TestContext): Promise<{ demo: Demo; context: BrowserContext; tabs: OrdersTab[] }> {
  // Quotes and notifications slow: nothing in these pages follows them.
  const [demo, context] = await Promise.all([startTestDemo({ orderInterval: 0, quoteInterval: 500, notifyInterval: 1000 }), browser.newContext()])
  onTestFinished(async () => {
    await context.close()
    await demo.close()
  })
  const tabs: OrdersTab[] = []
  for (let n = 1; n <= N; n++) {
    const page = await context.newPage()
    // Every pageshow's `persisted`: true when the page came back from the back/forward cache.
    await page.addInitScript(() => addEventListener('pageshow', (event) => ((window as { __shows?: boolean[] }).__shows ??= []).push(event.persisted)))
    const tab: OrdersTab = { n, page, errors: [], alive: true }
    page.on('pageerror', (error) => tab.errors.push(error))
    page.on('crash', () => void (tab.alive = false))
    page.on('close', () => void (tab.alive = false))
    // QUERY_WINDOW=ms: the bridge gathers changes for that long instead of its default.
    await page.goto(appUrl(demo, { only: 'orders', ...(process.env.QUERY_WINDOW ? { window: process.env.QUERY_WINDOW } : {}) }))
    await page.locator('[data-testid="orders-state"][data-version="0"]').waitFor({ timeout: 5000 })
    tabs.push(tab)
  }
  // Every tab on the shared realtime connection, and the server holding the channel.
  await pollFor(async () => {
    const open = await Promise.all(tabs.map((t) => t.page.evaluate(() => window.__realtime.getSnapshot().status)))
    return open.every((s) => s === 'open') && (demo.realtime.stats().channels.orders ?? 0) > 0 ? true : undefined
  }, 'every tab open on the realtime connection, and the server holding channel `orders`')
  return { demo, context, tabs }
}

async function admin(demo: Demo, action: string, body: object = {}): Promise<void> {
  const response = await fetch(new URL(`/api/admin/${action}`, demo.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(response.status, `POST /api/admin/${action}`).toBe(200)
}

const requests = (demo: Demo) => demo.stats().orders.requests
const orders = (tab: OrdersTab) => tab.page.evaluate(() => window.__orders) as Promise<OrdersRecording>
const shown = (tab: OrdersTab) =>
  tab.page.locator('[data-testid="orders-state"]').evaluate((el) => ({ version: Number(el.dataset.version), request: Number(el.dataset.request) }))

/** Waits until every tab shows a list the server answered after `after` requests (and at `version`, if given); ms it took. */
async function untilFresh(tabs: readonly OrdersTab[], after: number, version?: number, timeout = 5000): Promise<number> {
  const start = Date.now()
  await pollFor(
    async () => {
      const seen = await Promise.all(tabs.map(shown))
      return seen.every((s) => s.request > after && (version === undefined || s.version === version)) ? true : undefined
    },
    `every tab showing a list fetched after request ${after}${version === undefined ? '' : ` at version ${version}`}`,
    timeout,
  )
  return Date.now() - start
}

/** Lets any second fetch show up (a tab that fell back to its own fetch would do it now). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300))

/** One change, made and waited out: its request count and delivery time. */
async function oneChange(demo: Demo, tabs: readonly OrdersTab[]): Promise<{ requests: number; ms: number; fetchers: number[] }> {
  const before = requests(demo)
  const fetchedBefore = await Promise.all(tabs.map(async (t) => (await orders(t)).fetches))
  await admin(demo, 'orders', { change: true })
  const version = demo.stats().orders.version
  const ms = await untilFresh(tabs, before, version)
  await settle()
  const fetchedAfter = await Promise.all(tabs.map(async (t) => (await orders(t)).fetches))
  if (process.env.QUERY_DEBUG) {
    for (const t of tabs) {
      const o = await orders(t)
      console.log(`[query] debug tab ${t.n}: heard v${version} at ${o.changes.find((c) => c.version === version)?.at.toFixed(1)}, fetches started ${o.started.slice(-2).map((x) => x.toFixed(1)).join(', ')}`)
    }
  }
  return { requests: requests(demo) - before, ms, fetchers: tabs.filter((_, i) => fetchedAfter[i]! > fetchedBefore[i]!).map((t) => t.n) }
}

/** Answers that take DELAY ms from now, after a first change: makes one change and returns once a tab fetches it. */
const DELAY = 800
async function slowChange(demo: Demo, tabs: readonly OrdersTab[]): Promise<{ before: number; version: number; fetching: OrdersTab[] }> {
  await oneChange(demo, tabs)
  await admin(demo, 'orders', { delay: DELAY })
  const before = requests(demo)
  await admin(demo, 'orders', { change: true })
  const version = demo.stats().orders.version
  const fetching = await pollFor(async () => {
    const inFlight = await Promise.all(tabs.map(async (t) => (await orders(t)).inFlight))
    const which = tabs.filter((_, i) => inFlight[i]! > 0)
    return which.length ? which : undefined
  }, 'the tab fetching the change')
  return { before, version, fetching }
}

/**
 * Sends the tab to another page of the origin, runs `meanwhile`, and brings it back. Not
 * restored from the back/forward cache: fails with Chromium's reasons.
 */
async function awayAndBack(tab: OrdersTab, demo: Demo, meanwhile: () => Promise<void>): Promise<void> {
  await tab.page.goto(new URL('/api/nope', demo.url).href)
  await meanwhile()
  await tab.page.goBack({ waitUntil: 'commit' })
  const persisted = await pollFor(
    () => tab.page.evaluate(() => (window as { __shows?: boolean[] }).__shows?.at(-1)).catch(() => undefined),
    'the pageshow of the page back',
  )
  if (!persisted) {
    const reasons = await tab.page.evaluate(() => JSON.stringify((performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming & { notRestoredReasons?: unknown }).notRestoredReasons))
    expect.fail(`tab ${tab.n} was not restored from the back/forward cache: notRestoredReasons ${reasons}`)
  }
}

describe('tabwire/query: one refetch per browser (demo Orders panel, share: tabs)', () => {
  it(`${N} tabs, one change event → exactly one GET /api/orders in the whole browser`, async (test) => {
    const { demo, tabs } = await fresh(test)
    const loaded = requests(demo)
    // Each tab fetched its list once when it opened (no change yet to share).
    expect(loaded).toBe(N)
    // A first change makes sure every tab's channel delivers, then the measured ones.
    const runs = [await oneChange(demo, tabs), await oneChange(demo, tabs), await oneChange(demo, tabs)]
    console.log(`[query] ${N} tabs, one change each: requests ${runs.map((r) => r.requests).join(', ')}; all tabs fresh after ${runs.map((r) => r.ms).join(', ')} ms; fetching tab ${runs.map((r) => r.fetchers.join('+')).join(', ')}`)
    for (const run of runs) {
      expect(run.requests, 'GET /api/orders for one change').toBe(1)
      expect(run.fetchers, 'tabs that fetched').toHaveLength(1)
    }
    // The fault panel shows the server's count.
    await expect.poll(() => tabs[0]!.page.locator('[data-testid="orders-requests"]').getAttribute('data-requests')).toBe(String(requests(demo)))
    expect(tabs.flatMap((t) => t.errors.map((e) => `tab ${t.n}: ${e.message}`))).toEqual([])
  }, 20_000)

  it('the fetching tab dies mid-request → the other tabs still get the fresh list', async (test) => {
    const { demo, tabs } = await fresh(test)
    const { before, version, fetching } = await slowChange(demo, tabs)
    expect(fetching.map((t) => t.n), 'tabs fetching').toHaveLength(1)
    expect(requests(demo) - before, 'requests while the fetching tab waits').toBe(1)
    const victim = fetching[0]!
    const killedAt = await crash(victim)
    // The answer is slow for the tab taking over too: all the more reason to see it through.
    const survivors = tabs.filter((t) => t !== victim)
    const ms = await untilFresh(survivors, before + 1, version, 5000 + DELAY)
    const took = Date.now() - killedAt
    await settle()
    const total = requests(demo) - before
    console.log(`[query] fetching tab ${victim.n} of ${N} crashed mid-request (${DELAY} ms answers): the ${survivors.length} others fresh ${took} ms after the crash (${ms} ms of polling); requests ${total} (the dead tab's and one more)`)
    expect(total, 'GET /api/orders: the dead tab\'s, and one survivor\'s').toBe(2)
    expect(survivors.flatMap((t) => t.errors.map((e) => `tab ${t.n}: ${e.message}`))).toEqual([])
  }, 20_000)

  it('the server restarts its logs (a reset per tab) → one refetch per browser', async (test) => {
    const { demo, tabs } = await fresh(test)
    await oneChange(demo, tabs)
    const before = requests(demo)
    const epoch = demo.realtime.stats().epoch
    await admin(demo, 'restart-log')
    expect(demo.realtime.stats().epoch).not.toBe(epoch)
    const ms = await untilFresh(tabs, before)
    await settle()
    const total = requests(demo) - before
    const resets = await Promise.all(tabs.map(async (t) => (await orders(t)).fetches))
    console.log(`[query] restart-log under ${N} tabs: requests ${total}; all tabs refetched data after ${ms} ms; fetches per tab so far ${resets.join(', ')}`)
    expect(total, 'GET /api/orders after a reset').toBe(1)
    // And changes still flow in the new epoch, one request each.
    expect((await oneChange(demo, tabs)).requests, 'GET /api/orders for a change after the restart').toBe(1)
    expect(tabs.flatMap((t) => t.errors.map((e) => `tab ${t.n}: ${e.message}`))).toEqual([])
  }, 20_000)

  it('the tab that just fetched (its mark still held) goes to another page while a change comes, and back: restored from the back/forward cache, fresh, one refetch per change after', async (test) => {
    const { demo, tabs } = await fresh(test)
    const { fetchers } = await oneChange(demo, tabs)
    const tab = tabs.find((t) => t.n === fetchers[0])!
    // At once, while it holds the mark of its post (5 s). A change while it is away makes
    // another tab ask the lock manager for marks, and Chromium evicts a cached page holding a
    // lock that another page requests or queries (`weblocks-contention`).
    const before = requests(demo)
    await awayAndBack(tab, demo, async () => {
      await admin(demo, 'orders', { change: true })
      await untilFresh(tabs.filter((t) => t !== tab), before, demo.stats().orders.version)
    })
    // Back: it catches up on the change it missed (it missed the post too, so it may fetch it
    // itself), and the next change is one request for the browser again.
    await untilFresh([tab], before, demo.stats().orders.version)
    const after = await oneChange(demo, tabs)
    console.log(`[query] tab ${tab.n} fetched, went away and came back from the back/forward cache; the next change: requests ${after.requests}, all fresh after ${after.ms} ms`)
    expect(after.requests, 'GET /api/orders for a change after the return').toBe(1)
    expect(tabs.flatMap((t) => t.errors.map((e) => `tab ${t.n}: ${e.message}`))).toEqual([])
  }, 20_000)

  it('the fetching tab goes to another page mid-request, and back: the others are not held up by its lock, it is restored, and all end fresh', async (test) => {
    const { demo, tabs } = await fresh(test)
    const { before, version, fetching } = await slowChange(demo, tabs)
    expect(fetching, 'tabs fetching').toHaveLength(1)
    const tab = fetching[0]!
    // Leaving lets go of the key's lock it fetches under: a cached page holding a lock that
    // the others queue for would be evicted (`weblocks-contention`).
    await awayAndBack(tab, demo, () => untilFresh(tabs.filter((t) => t !== tab), before, version, 5000 + DELAY).then(() => undefined))
    await untilFresh([tab], before, version, 5000 + DELAY)
    await admin(demo, 'orders', { delay: 0 })
    const after = await oneChange(demo, tabs)
    console.log(`[query] fetching tab ${tab.n} went away mid-request and came back from the back/forward cache; GETs for that change ${requests(demo) - before - after.requests}, the next change ${after.requests}`)
    expect(after.requests, 'GET /api/orders for a change after the return').toBe(1)
    expect(tabs.flatMap((t) => t.errors.map((e) => `tab ${t.n}: ${e.message}`))).toEqual([])
  }, 30_000)
})
