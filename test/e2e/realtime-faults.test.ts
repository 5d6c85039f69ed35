/**
 * `useRealtime` in real Chromium against the demo server, under faults: WebSocket blocked at
 * the server (the tabs move to SSE with POST and back), and the server's logs restarted. As in realtime.test.ts, the tabs of one browser context put every channel they
 * hold on one connection (`/api/realtime`), with the client's default options and the demo
 * page's `?probe=` (a faster probe back to WebSocket than the library's 5 s).
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { expectExactlyOnceInOrder, launchChromium } from './helpers.ts'
import { A, allSwitched, B, C, D, expectOncePerChannel, expectReceiving, expectServer, fresh, type RtParams, rtRecording, union } from './realtime-helpers.ts'

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
    for (const tab of three) await tab.page.locator('[data-realtime-status="open"][data-transport="sse"]').waitFor()
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

describe('the server restarts its logs', () => {
  it('every tab gets a reset per channel, then the new epoch from where it reset: no event twice, none out of order', async (test) => {
    const { expect } = test
    const { demo, tabs } = await fresh(browser, test)
    const three = await tabs.openAll([A, C, D])
    const channels = union(A, C, D)
    await expectServer(demo, { websocket: 1, sse: 0 }, channels)
    await expectReceiving(three, 3)
    const old = demo.realtime.stats().epoch

    await three[2]!.page.locator('button[data-action="restart-log"]').dispatchEvent('click')
    await expect.poll(() => demo.realtime.stats().epoch).not.toBe(old)
    const epoch = demo.realtime.stats().epoch
    await expect
      .poll(async () => (await Promise.all(three.map(async (t) => (await rtRecording(t)).resets.map((r) => `${t.n} ${r.channel} ${r.epoch}`)))).flat().sort())
      .toEqual(three.flatMap((t) => t.channels.map((c) => `${t.n} ${c} ${epoch}`)).sort())
    await expectReceiving(three, 5)
    for (const tab of three) {
      const { ids } = await rtRecording(tab)
      for (const channel of tab.channels) {
        const list = ids[channel]!
        const at = list.findIndex((id) => id.startsWith(`${epoch}.`))
        expect(at, `tab ${tab.n} ${channel}: events of the new epoch`).toBeGreaterThan(0)
        expectExactlyOnceInOrder(list.slice(0, at), `tab ${tab.n} ${channel} before the restart`)
        expectExactlyOnceInOrder(list.slice(at), `tab ${tab.n} ${channel} after the restart`)
      }
    }
    await expectServer(demo, { websocket: 1, sse: 0 }, channels)
    expect(tabs.errors()).toEqual([])
  }, 40_000)
})
