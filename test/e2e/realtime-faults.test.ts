/**
 * `useRealtime` in real Chromium against the demo server, under faults: WebSocket blocked at
 * the server: the tabs move to SSE with POST and back, also across a leader change. As in realtime.test.ts, the tabs of one browser context put every channel they
 * hold on one connection (`/api/realtime`), with the client's default options and the demo
 * page's `?probe=` (a faster probe back to WebSocket than the library's 5 s).
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { launchChromium } from './helpers.ts'
import { A, allSwitched, B, counts, D, expectOncePerChannel, expectPublishedOnce, expectReceiving, expectServer, fresh, pollFor, publishFrom, REALTIME_STATUS, type RtParams, type RtTab, union } from './realtime-helpers.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

/** The bound the fallback to SSE must keep, generous for a loaded 2-core machine. */
const FALLBACK_MS = 10_000
/** The tests' probe back to WebSocket: first after up to 300 ms, at most 1.5 s apart. */
const PROBE: RtParams = { probe: 300, maxProbe: 1500 }

describe('WebSocket blocked at the server', () => {
  it(`every tab falls back to SSE within ${FALLBACK_MS / 1000} s and comes back to WebSocket when unblocked, 0 lost and 0 duplicated`, async (test) => {
    const { expect } = test
    const { demo, tabs } = await fresh(browser, test, PROBE)
    const three = await tabs.openAll([A, B, D])
    const channels = union(A, B, D)
    await expectServer(demo, { websocket: 1, sse: 0 }, channels)
    await expectReceiving(three, 3)

    // Through the page's fault panel, as a user would.
    const blockedAt = Date.now()
    await three[1]!.page.locator('button[data-action="block-websocket"]').dispatchEvent('click')
    await expect.poll(() => demo.realtime.stats().blocked).toBe(true)
    const fallback = await allSwitched(three, 'sse', blockedAt, FALLBACK_MS + 5000)
    expect(fallback, `every tab on SSE within ${FALLBACK_MS} ms`).toBeLessThanOrEqual(FALLBACK_MS)
    await expectServer(demo, { websocket: 0, sse: 1 }, channels)
    // The page shows it: the transport, and the server's connections per transport.
    for (const tab of three) await tab.page.locator(`${REALTIME_STATUS}[data-state="open"][data-transport="sse"]`).waitFor()
    await three[0]!.page.locator('[data-realtime-clients="0/1"]').waitFor()
    await expectReceiving(three, 5)
    await expectOncePerChannel(three)

    const unblockedAt = Date.now()
    await three[1]!.page.locator('button[data-action="block-websocket"][aria-pressed="true"]').dispatchEvent('click')
    const back = await allSwitched(three, 'websocket', unblockedAt, FALLBACK_MS + 5000)
    expect(back, `every tab back on WebSocket within ${FALLBACK_MS} ms (probe every ≤ ${PROBE.maxProbe} ms)`).toBeLessThanOrEqual(FALLBACK_MS)
    await expectServer(demo, { websocket: 1, sse: 0 }, channels)
    await expectReceiving(three, 5)
    const { events } = await expectOncePerChannel(three)
    const sse = tabs.opened.filter((o) => o.transport === 'sse')
    console.log(`[realtime] WebSocket blocked: every tab on SSE after ${fallback} ms; unblocked: back on WebSocket after ${back} ms; ${events} events in 3 tabs, 0 lost, 0 duplicated (${sse.length} SSE stream opened)`)
    expect(sse.map((o) => o.tab.n), 'one SSE stream, by the leader').toEqual([1])
    expect(tabs.errors()).toEqual([])
  }, 60_000)
})

describe('the leader closes while WebSocket is blocked', () => {
  it("the next leader goes to SSE too; nothing is lost or duplicated, and a follower's publishes over POST are taken once", async (test) => {
    const { expect } = test
    const { demo, tabs } = await fresh(browser, test, PROBE)
    const lobby = ['room:lobby', 'prices:ACME']
    const three = await tabs.openAll([lobby, A, lobby])
    const [leader, other, follower] = three as [RtTab, RtTab, RtTab]
    const channels = union(lobby, A)
    await expectServer(demo, { websocket: 1, sse: 0 }, channels)
    demo.blockWebSocket(true)
    await allSwitched(three, 'sse', 0, FALLBACK_MS)
    await expectServer(demo, { websocket: 0, sse: 1 }, channels)

    const COUNT = 10
    const published = publishFrom(follower, COUNT, 'sse')
    await pollFor(() => (demo.realtime.room.length >= 2 ? true : undefined), 'the first publishes on the server')
    const closedAt = Date.now()
    await leader.page.close()
    const ids = await published
    const rest = [other, follower]
    const moved = await allSwitched(rest, 'sse', closedAt, FALLBACK_MS)
    await expectServer(demo, { websocket: 0, sse: 1 }, channels)
    expectPublishedOnce(demo, COUNT, 'sse', ids)
    await expectReceiving(rest, 5)
    await expect.poll(async () => (await counts(follower))['room:lobby'], { timeout: 10_000 }).toBe(COUNT)
    const { events } = await expectOncePerChannel(rest)
    console.log(`[realtime] leader closed while WebSocket is blocked: the next leader on SSE after ${moved} ms; ${COUNT} publishes over POST each in the log once; ${events} events, 0 lost, 0 duplicated`)
    expect(tabs.opened.filter((o) => o.transport === 'sse').map((o) => o.tab.n), 'SSE streams: the first leader, then the next').toEqual([1, 2])
    expect(tabs.errors()).toEqual([])
  }, 60_000)
})
