/**
 * `useRealtime` in real Chromium against the demo server: the tabs of one browser context
 * put every channel they hold on one connection (`/api/realtime`), and a leader change
 * loses, repeats and re-publishes nothing. The tabs show only the demo's Realtime panel
 * (`?only=realtime`) with the client's default options (share 'tabs', transport 'auto'),
 * each with a channel set of its own (`?channels=`), and record every event id per channel
 * from `onMessage`. Faults: realtime-faults.test.ts.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { launchChromium } from './helpers.ts'
import { A, B, C, counts, D, expectOncePerChannel, expectReceiving, expectServer, expectPublishedOnce, expectSteadyServer, fresh, pollFor, publishFrom, REALTIME_STATUS, type RtTab, union } from './realtime-helpers.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

describe('channels of every tab on one connection', () => {
  it('4 tabs with different channel sets: the server sees 1 connection and exactly the union of their channels', async (test) => {
    const { expect } = test
    const { demo, tabs } = await fresh(browser, test)
    const four = await tabs.openAll([A, B, C, D])

    await expectSteadyServer(demo, { websocket: 1, sse: 0 }, union(A, B, C, D), 1500)
    expect(new Set(tabs.opened.map((o) => `${o.tab.n} ${o.transport}`)), 'only the first tab opened a connection').toEqual(new Set(['1 websocket']))
    // The page shows it too: the transport, and the server's count per transport.
    await expect.poll(() => four[3]!.page.locator(REALTIME_STATUS).getAttribute('data-transport')).toBe('websocket')
    await four[3]!.page.locator('[data-realtime-clients="1/0"]').waitFor()

    // Each price row shows a price: from the server's snapshot, or the leader's last message for a tab that joined later.
    for (const tab of four) {
      for (const channel of tab.channels.filter((c) => c.startsWith('prices:'))) {
        await expect.poll(() => tab.page.locator(`tr[data-channel="${channel}"] .price`).innerText(), { message: `tab ${tab.n} ${channel}` }).toMatch(/^\d+\.\d\d$/)
      }
    }
    await expectReceiving(four, 5)
    const { events } = await expectOncePerChannel(four)
    console.log(`[realtime] 4 tabs, union of ${union(A, B, C, D).length} channels on 1 WebSocket; ${events} events, each once per tab and channel`)
    expect(tabs.errors()).toEqual([])
  }, 40_000)
})

describe('the leader tab goes away', () => {
  it('closed while events flow: another tab leads within seconds, 0 lost and 0 duplicated per channel in every tab', async (test) => {
    const { expect } = test
    const { demo, tabs } = await fresh(browser, test)
    const four = await tabs.openAll([A, B, C, D])
    await expectServer(demo, { websocket: 1, sse: 0 }, union(A, B, C, D))
    await expectReceiving(four, 3)

    const leader = tabs.leader()
    expect(leader.n).toBe(1)
    const at = Date.now()
    await leader.page.close()
    const next = await pollFor(() => tabs.opened.find((o) => o.at >= at), 'a new leader connection')
    const rest = four.filter((t) => t !== leader)
    // What the closed tab alone held (A) goes; the rest keep theirs.
    const left = [...new Set(rest.flatMap((t) => t.channels))]
    await expectServer(demo, { websocket: 1, sse: 0 }, left)
    await expectReceiving(rest, 5)
    const { events } = await expectOncePerChannel(rest)
    console.log(`[realtime] leader closed: tab ${next.tab.n} connected after ${next.at - at} ms; ${events} events in 3 tabs, 0 lost, 0 duplicated`)
    expect(tabs.errors()).toEqual([])
  }, 40_000)

  it("a follower's publishes while the leader closes: each is in the channel's log exactly once, acknowledged, and delivered once to every tab", async (test) => {
    const { expect } = test
    const { demo, tabs } = await fresh(browser, test)
    const lobby = ['room:lobby', 'prices:ACME']
    const three = await tabs.openAll([lobby, lobby, lobby])
    await expectServer(demo, { websocket: 1, sse: 0 }, lobby)
    const [leader, follower, other] = three as [RtTab, RtTab, RtTab]
    expect(tabs.leader()).toBe(leader)

    // 30 publishes, one every 20 ms, through the page's client (as the Lobby form does), each
    // waiting for its acknowledgement; the leader closes after the first few left.
    const COUNT = 30
    const published = publishFrom(follower, COUNT, 'ws')
    await pollFor(() => (demo.realtime.room.length >= 3 ? true : undefined), 'the first publishes on the server')
    const closedAt = Date.now()
    await leader.page.close()
    const ids = await published
    const next = tabs.opened.find((o) => o.at >= closedAt)

    expectPublishedOnce(demo, COUNT, 'ws', ids)

    // Both remaining tabs delivered every lobby event once, in order.
    await expect
      .poll(async () => Promise.all([follower, other].map(async (t) => (await counts(t))['room:lobby'])), { timeout: 10_000 })
      .toEqual([COUNT, COUNT])
    await expectReceiving([follower, other], 3)
    await expectOncePerChannel([follower, other])
    console.log(`[realtime] ${COUNT} publishes from a follower across a leader change (tab ${next?.tab.n} connected ${next ? next.at - closedAt : '?'} ms after the close): each in the log once`)
    expect(tabs.errors()).toEqual([])
  }, 40_000)
})
