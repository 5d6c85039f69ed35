/**
 * The default mode (`share: 'tabs'`) through a page's life, in real Chromium: tabs of ONE
 * browser context (contexts share no locks or channels) against a loopback server of the
 * test's own (lifecycle-fixture.ts), with the hooks' default options.
 *
 * - Back/forward cache (issue 9, item 10): Chromium launched WITHOUT Playwright's
 *   `--disable-back-forward-cache`. A leader, then a follower, goes to another page of the
 *   origin and back: it must be restored from the cache (a pageshow with persisted=true),
 *   the other tab takes the stream over (leader case) and receives every event exactly
 *   once, and the restored tab rejoins as a follower and receives new events without
 *   opening a connection of its own. Held locks and open channels made every page
 *   ineligible before (`weblocks-contention`, `broadcastchannel-message`).
 * - A sandboxed iframe (opaque origin: the lock manager refuses with SecurityError) falls
 *   back to a connection of its own and streams, without a lock request loop (item 9).
 * - A WebSocket with `messageId`: leader changes (one while the next leader is busy in a
 *   long task) repeat nothing and lose nothing in any tab (item 4).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest'
import {
  contiguity,
  type Fixture,
  launch,
  openTab,
  pollFor,
  readRec,
  repeatsIn,
  seqsSince,
  sleep,
  startFixture,
  type Tab,
} from './lifecycle-fixture.ts'

let browser: Browser

beforeAll(async () => {
  // A browser with the back/forward cache, as users have it; the other tests of this file
  // do not mind it.
  browser = await launch({ bfcache: true })
})
afterAll(async () => {
  await browser?.close()
})

/**
 * How long the other tab may take to deliver a new event after the leader navigated away.
 * A handover of the lock takes ~20–100 ms and the new leader's first event a round trip;
 * 3 s leaves room for a 2-core machine whose cores are both busy elsewhere, and is still
 * below a follower's heartbeat timeout (4 s): a takeover only by timeout fails.
 */
const TAKEOVER_MS = 3000

/** A server and a browser context of the test's own. */
async function fresh({ onTestFinished }: TestContext, tickMs?: number): Promise<{ fx: Fixture; context: BrowserContext }> {
  const [fx, context] = await Promise.all([startFixture({ tickMs }), browser.newContext()])
  onTestFinished(async () => {
    await context.close()
    await fx.close()
  })
  return { fx, context }
}

/** Stream connections the page opened so far. */
const connections = async (page: Page) => (await readRec(page)).connections.length

/** Waits until the tab delivered `more` events after `since` (ms since the epoch). */
async function receives(page: Page, since: number, more = 20, timeout = 10_000): Promise<number[]> {
  return pollFor(
    async () => {
      const seqs = await seqsSince(page, since)
      return seqs.length >= more ? seqs : undefined
    },
    `${more} events after +${since}`,
    timeout,
  )
}

/**
 * Goes to another page of the origin and back, and returns when the page showed again.
 * Not restored from the back/forward cache: fails with Chromium's reasons.
 */
async function awayAndBack(tab: Tab, url: string, awayMs: number): Promise<{ leftAt: number; shownAt: number }> {
  const leftAt = Date.now()
  await tab.page.goto(`${url}/other.html`)
  await sleep(awayMs)
  // A page restored from the cache fires no load event.
  await tab.page.goBack({ waitUntil: 'commit' })
  const shown = await pollFor(
    () =>
      tab.page
        .evaluate(() => {
          const r = window.__rec
          // A fresh page has no recording yet, or one that never hid.
          return !r || !r.pagehides.length ? -1 : r.pageshows.find((p) => p.persisted)?.at
        })
        .catch(() => undefined),
    'the pageshow of the restored page',
  )
  if (shown === -1) {
    // A fresh load: the old page was not kept. Say why.
    await tab.page.waitForLoadState('load')
    const reasons = await tab.page.evaluate(() => JSON.stringify((performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming & { notRestoredReasons?: unknown }).notRestoredReasons))
    throw new Error(`tab ${tab.n} was not restored from the back/forward cache: notRestoredReasons ${reasons}`)
  }
  return { leftAt, shownAt: shown }
}

describe('back/forward cache, with the default share mode', () => {
  it(`the leader goes away and back: restored from the cache, the other tab takes over within ${TAKEOVER_MS} ms, every event once`, async (test) => {
    const { expect } = test
    const { fx, context } = await fresh(test)
    const url = `${fx.url}/?kind=sse`
    const leader = await openTab(context, url, 1)
    const other = await openTab(context, url, 2)
    // The first tab leads: it opened the one connection, the other none.
    await expect.poll(() => Promise.all([connections(leader.page), connections(other.page)])).toEqual([1, 0])
    expect(fx.live('ticks')).toBe(1)
    await receives(other.page, 0)

    const before = (await readRec(other.page)).last
    const leftAt = Date.now()
    const away = awayAndBack(leader, fx.url, 800)
    // The other tab connects, resuming from the last event it had, and delivers new ones.
    const request = await pollFor(() => fx.requests.find((r) => r.at >= leftAt), 'a new stream request', TAKEOVER_MS + 2000)
    // Its first event past the resume point: one its own connection brought.
    const resumedFrom = Number(request.lastEventId)
    const firstNew = await pollFor(
      () => other.page.evaluate((b) => window.__rec.times[window.__rec.seqs.findIndex((s) => s > b)], resumedFrom),
      'a new event in the other tab',
      TAKEOVER_MS + 2000,
    )
    const { shownAt } = await away
    console.info(
      `leader away: new request after ${request.at - leftAt} ms (Last-Event-ID ${request.lastEventId}, the other tab had ${before}), ` +
        `its first new event after ${firstNew - leftAt} ms; restored after ${shownAt - leftAt} ms`,
    )
    expect(firstNew - leftAt, 'ms until the other tab delivers a new event').toBeLessThan(TAKEOVER_MS)
    expect(resumedFrom, 'the new leader resumes from what it had').toBeGreaterThanOrEqual(before)
    expect(await connections(other.page)).toBe(1)

    // Restored: it rejoins as a follower and receives new events, without a connection of its own.
    const after = await receives(leader.page, shownAt)
    expect(contiguity(after), 'the restored tab, after it came back: every event once, in order').toEqual([])
    const rec = await readRec(leader.page, true)
    expect(repeatsIn(rec.seqs), 'the restored tab never repeats an event').toEqual([])
    expect(rec.pagehides.map((p) => p.persisted), 'it went into the cache').toEqual([true])
    expect(rec.connections, 'no connection after the restore').toHaveLength(1)
    expect(rec.status).toBe('open')
    // The other tab: every event exactly once, in order, across the handover.
    const others = await readRec(other.page, true)
    expect(contiguity(others.seqs), 'the other tab: every event once, in order').toEqual([])
    expect(others.last).toBeGreaterThan(after[0]!)
    // One connection: the server saw the first and the takeover's, nothing since.
    await sleep(500)
    expect(fx.requests, 'the first connection and the takeover').toHaveLength(2)
    expect(fx.live('ticks')).toBe(1)
    for (const r of [rec, others]) expect([...r.uncaught, ...r.errors]).toEqual([])
    expect([...leader.errors, ...other.errors]).toEqual([])
  }, 60_000)

  it('a follower goes away and back: restored from the cache, the leader goes on alone, then relays to it again', async (test) => {
    const { expect } = test
    const { fx, context } = await fresh(test)
    const url = `${fx.url}/?kind=sse`
    const leader = await openTab(context, url, 1)
    const follower = await openTab(context, url, 2)
    await expect.poll(() => Promise.all([connections(leader.page), connections(follower.page)])).toEqual([1, 0])
    await receives(follower.page, 0)

    const { leftAt, shownAt } = await awayAndBack(follower, fx.url, 800)
    console.info(`follower away: restored after ${shownAt - leftAt} ms`)
    const after = await receives(follower.page, shownAt)
    expect(contiguity(after), 'the restored follower, after it came back: every event once, in order').toEqual([])
    const rec = await readRec(follower.page, true)
    expect(repeatsIn(rec.seqs), 'the restored follower never repeats an event').toEqual([])
    expect(rec.pagehides.map((p) => p.persisted), 'it went into the cache').toEqual([true])
    expect(rec.connections, 'a follower opens no connection, before or after').toEqual([])
    expect(rec.status).toBe('open')

    // The leader never noticed: its one connection ran throughout.
    const led = await readRec(leader.page, true)
    expect(contiguity(led.seqs), 'the leader: every event once, in order').toEqual([])
    expect(led.last).toBeGreaterThan(after[0]!)
    expect(fx.requests, 'only the first connection').toHaveLength(1)
    expect(fx.requests[0]!.closedAt).toBeUndefined()
    for (const r of [rec, led]) expect([...r.uncaught, ...r.errors]).toEqual([])
    expect([...leader.errors, ...follower.errors]).toEqual([])
  }, 60_000)
})

describe('a lock manager that refuses the page', () => {
  it('a sandboxed iframe (opaque origin) falls back to a connection of its own, steadily, without a lock request loop', async (test) => {
    const { expect } = test
    const { fx, context } = await fresh(test)
    const host = await openTab(context, `${fx.url}/?kind=host`, 1)
    const frame = await pollFor(() => host.page.frames().find((f) => f !== host.page.mainFrame()), 'the iframe')
    await frame.locator('[data-testid="consumer"][data-state="open"]').waitFor({ timeout: 15_000 })

    const start = await readRec(frame)
    // It really was refused: Chromium's lock manager rejects an opaque origin.
    expect(start.lockErrors, 'the iframe was refused a lock').toContain('SecurityError')
    // ~1 s: its status stays open, it asks for no more locks, the server sees one connection from it.
    const statuses = new Set<string>()
    const end = Date.now() + 1000
    while (Date.now() < end) {
      statuses.add((await readRec(frame)).status)
      await sleep(50)
    }
    const rec = await readRec(frame, true)
    console.info(`sandboxed iframe: ${rec.lockRequests} lock request(s) (${rec.lockErrors.join(', ')}), statuses ${rec.statuses.map((s) => s.status).join(' → ')}`)
    expect([...statuses]).toEqual(['open'])
    expect(rec.statuses.map((s) => s.status)).toEqual(['idle', 'connecting', 'open'])
    expect(rec.lockRequests, 'lock requests: the one refused').toBe(start.lockRequests)
    expect(rec.lockRequests).toBeLessThanOrEqual(2)
    const fromFrame = fx.requests.filter((r) => r.origin === 'null')
    expect(fromFrame, 'one connection from the iframe').toHaveLength(1)
    expect(fromFrame[0]!.closedAt, 'still open').toBeUndefined()
    expect(rec.connections).toHaveLength(1)
    // It streams: every event once, in order, and more keep coming.
    expect(rec.count).toBeGreaterThan(20)
    expect(contiguity(rec.seqs)).toEqual([])
    // The host tab shares as usual (it leads its own stream): two connections in all.
    expect(fx.live('ticks')).toBe(2)
    const hostRec = await readRec(host.page)
    expect(hostRec.status).toBe('open')
    expect([...rec.errors, ...hostRec.errors], 'onError').toEqual([])
    // Playwright hears the iframe's unhandled rejections too (the page's own listener cannot:
    // the bundle is a cross-origin script to the opaque origin, so its errors are muted).
    expect([...rec.uncaught, ...hostRec.uncaught, ...host.errors], 'uncaught errors of the page and the iframe').toEqual([])
  }, 30_000)
})

describe('WebSocket with messageId', () => {
  it('three leader changes (one while the next leader is busy): no tab repeats or misses a message', async (test) => {
    const { expect } = test
    // A message every 5 ms: plenty in flight at each change.
    const { fx, context } = await fresh(test, 5)
    const url = `${fx.url}/?kind=ws`
    const tabs: Tab[] = []
    for (let n = 1; n <= 5; n++) tabs.push(await openTab(context, url, n))
    await receives(tabs[4]!.page, 0)
    const live = new Set(tabs)
    /** The live tab whose socket opened last. */
    const leaderNow = async () => {
      const opened = await Promise.all([...live].map(async (t) => ({ t, at: Math.max(0, ...(await readRec(t.page)).connections.map((c) => c.at)) })))
      return opened.sort((a, b) => b.at - a.at)[0]!.t
    }
    /** Every tab's record so far: exactly once and in order. */
    const check = async (tab: Tab, label: string) => {
      const rec = await readRec(tab.page, true)
      expect(repeatsIn(rec.seqs), `tab ${tab.n} ${label}: repeats`).toEqual([])
      expect(contiguity(rec.seqs), `tab ${tab.n} ${label}: every message once, in order`).toEqual([])
      expect([...rec.uncaught, ...rec.errors], `tab ${tab.n} ${label}`).toEqual([])
    }

    const changes: ['busy' | 'close' | 'crash', number][] = []
    for (const how of ['busy', 'close', 'crash'] as const) {
      const leader = await leaderNow()
      await check(leader, 'before it goes')
      live.delete(leader)
      const upgrades = fx.upgrades.length
      const at = Date.now()
      if (how === 'busy') {
        // The tab next in the lock queue is in a long task when the leader closes: the lock
        // grant and the old leader's last frames wait in its queue together.
        const next = tabs.find((t) => live.has(t))!
        const busy = next.page.evaluate(() => {
          const end = Date.now() + 800
          while (Date.now() < end);
        })
        await sleep(300)
        await leader.page.close()
        await busy
      } else if (how === 'close') await leader.page.close()
      else {
        const cdp = await context.newCDPSession(leader.page)
        const crashed = leader.page.waitForEvent('crash', { timeout: 5000 })
        cdp.send('Page.crash').catch(() => {})
        await crashed
      }
      await pollFor(() => (fx.upgrades.length > upgrades ? true : undefined), `a new socket after the ${how}`, 8000)
      changes.push([how, fx.upgrades[upgrades]! - at])
      // Every survivor receives on.
      const since = Date.now()
      for (const t of live) await receives(t.page, since, 50)
    }
    console.info(`ws leader changes: ${changes.map(([how, ms]) => `${how} → new socket after ${ms} ms`).join(', ')}`)
    for (const t of live) await check(t, 'after three changes')
    expect(fx.wsClients()).toBe(1)
    expect(fx.upgrades, 'one socket per leader').toHaveLength(4)
    expect(tabs.flatMap((t) => t.errors)).toEqual([])
  }, 60_000)
})
