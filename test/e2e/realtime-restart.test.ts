/**
 * The demo server restarts its logs (new epochs) under tabs that share one realtime
 * connection (`/api/realtime`, the client's default options): each tab hears a reset per
 * channel and goes on in the new epoch, never repeating an event.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { expectExactlyOnceInOrder, launchChromium } from './helpers.ts'
import { A, C, D, expectReceiving, expectServer, fresh, rtRecording, union } from './realtime-helpers.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
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
