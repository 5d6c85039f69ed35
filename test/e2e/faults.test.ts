import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest'
import type { Recording, StreamName } from '../../demo/shared.ts'
import {
  appUrl,
  chatCounts,
  expectExactlyOnceInOrder,
  fault,
  idCount,
  IDLE,
  launchChromium,
  openApp,
  parseId,
  RETRY,
  recording,
  STREAMS,
  say,
  startTestDemo,
  streamStatus,
} from './helpers.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

/** A server and a tab of the test's own (each test breaks its server on purpose), every stream open and flowing. */
async function freshApp({ expect, onTestFinished }: TestContext) {
  const [demo, context] = await Promise.all([startTestDemo(), browser.newContext()])
  onTestFinished(async () => {
    await context.close()
    await demo.close()
  })
  const app = await openApp(context, appUrl(demo))
  await expect.poll(async () => {
    const rec = await recording(app.page)
    return rec.ids.quotes.length >= 5 && rec.ids.notifications.length >= 2
  }).toBe(true)
  return { demo, ...app }
}

const errorsSince = (rec: Recording, stream: StreamName, t: number, kind?: string) =>
  rec.errors.filter((e) => e.stream === stream && e.at >= t && (!kind || e.kind === kind))

describe('fault panel', () => {
  it('drop every connection: the page resumes and gets every event id exactly once, in order', async (test) => {
    const { expect } = test
    const { demo, page, errors } = await freshApp(test)
    const sent = Date.now()
    await fault(page, 'drop')
    await say(page, 'said while the socket was dropped')

    // Every stream saw the cut (an error after the click) and came back with new events.
    const before = await recording(page)
    await expect
      .poll(async () => {
        const rec = await recording(page)
        return STREAMS.map((s) => errorsSince(rec, s, sent).length > 0) + ` ${rec.ids.quotes.length - before.ids.quotes.length >= 10}`
      })
      .toBe('true,true,true true')
    await expect.poll(() => idCount(page, 'notifications')).toBeGreaterThan(before.ids.notifications.length + 3)

    const rec = await recording(page)
    expectExactlyOnceInOrder(rec.ids.quotes, 'quotes')
    expectExactlyOnceInOrder(rec.ids.notifications, 'notifications')
    expect(rec.resets).toEqual([])
    // They came back by resuming: the new requests carried the last id the page had seen.
    for (const stream of ['quotes', 'notifications'] as const) {
      const resumed = demo.requests.filter((r) => r.stream === stream && r.at >= sent)
      expect(resumed.length, stream).toBeGreaterThan(0)
      for (const r of resumed) expect(rec.ids[stream], `${stream} resumed from an id it saw`).toContain(r.lastEventId)
    }
    // A message sent as the socket drops (sent just before, or queued and sent after) arrives once.
    await expect.poll(async () => chatCounts(await recording(page), ['said while the socket was dropped'])).toEqual([1])
    await page.locator(streamStatus('chat', 'open')).waitFor()
    expect(errors).toEqual([])
  })

  it('stall the streams: the idle timeout finds each dead stream and reconnects within the configured time', async (test) => {
    const { expect } = test
    const { demo, page, errors } = await freshApp(test)
    await fault(page, 'stall')
    // Timed from the moment the server stalled (a click and a request take a while on a busy machine).
    await expect.poll(() => demo.faults.some((f) => f.action === 'stall')).toBe(true)
    const stalled = demo.faults.find((f) => f.action === 'stall')!.at

    // Back means: a timeout error, then `open` again, for every stream.
    const reopened = (rec: Recording, stream: StreamName) => {
      const timeout = errorsSince(rec, stream, stalled, 'timeout')[0]
      const open = timeout && rec.statuses.find((s) => s.stream === stream && s.status === 'open' && s.at >= timeout.at)
      return timeout && open ? { timeout: timeout.at - stalled, open: open.at - stalled } : undefined
    }
    await expect.poll(async () => {
      const rec = await recording(page)
      return STREAMS.every((s) => reopened(rec, s))
    }).toBe(true)

    const rec = await recording(page)
    for (const stream of STREAMS) {
      const { timeout, open } = reopened(rec, stream)!
      // Silence is noticed after IDLE ms without bytes; the last bytes came up to a
      // heartbeat (250 ms SSE, IDLE/3 WebSocket) before the stall.
      expect(timeout, `${stream}: timed out after (ms)`).toBeGreaterThanOrEqual(IDLE - IDLE / 3 - 100)
      expect(timeout, `${stream}: timed out after (ms)`).toBeLessThanOrEqual(IDLE + 700)
      // Then one backoff delay (full jitter under RETRY, or the page's DELAY for the socket).
      expect(open, `${stream}: open again after (ms)`).toBeLessThanOrEqual(IDLE + RETRY + 1200)
    }
    // Nothing lost while the streams were silent: they resumed from the last id.
    await expect.poll(() => idCount(page, 'quotes')).toBeGreaterThan(rec.ids.quotes.length + 10)
    const after = await recording(page)
    expectExactlyOnceInOrder(after.ids.quotes, 'quotes')
    expectExactlyOnceInOrder(after.ids.notifications, 'notifications')
    // The stalled streams were let go of on the server too.
    await expect.poll(() => demo.stats().clients).toEqual({ quotes: 1, notifications: 1, chat: 1 })
    expect(errors).toEqual([])
  })

  it('flood: every quote of a burst reaches the page exactly once, in order, and the table keeps up', async (test) => {
    const { expect } = test
    const { demo, page, errors } = await freshApp(test)
    const before = (await recording(page)).ids.quotes.length
    await page.getByRole('spinbutton', { name: 'Messages a second' }).fill('3000')
    await page.getByRole('spinbutton', { name: 'Seconds' }).fill('1')
    await page.locator('button[data-action="flood"]').click()

    // The burst itself lasts a second, and a page on a machine that busy may take several to
    // catch up: 5 s (the project's poll default) was not enough in a heavily loaded run.
    await expect.poll(() => idCount(page, 'quotes'), { timeout: 15_000 }).toBeGreaterThanOrEqual(before + 3000)
    expect(demo.stats().clients.quotes).toBe(1) // not cut as a slow client
    const rec = await recording(page)
    expectExactlyOnceInOrder(rec.ids.quotes, 'quotes')
    // The render was coalesced, not skipped: the counter shows the whole burst.
    const counter = page.getByText(/quotes received/)
    await expect.poll(async () => Number(/^(\d+)/.exec(await counter.innerText())?.[1])).toBeGreaterThanOrEqual(before + 3000)
    expect(errors).toEqual([])
  })

  it('restart the log: every stream sees the reset, then follows the new epoch', async (test) => {
    const { expect } = test
    const { demo, page, errors } = await freshApp(test)
    const old = demo.stats().epochs
    await say(page, 'before the restart')
    await expect.poll(async () => chatCounts(await recording(page), ['before the restart'])).toEqual([1])
    await fault(page, 'restart-log')

    await expect.poll(async () => (await recording(page)).resets.map((r) => r.stream).sort()).toEqual(['chat', 'notifications', 'quotes'])
    const epochs = demo.stats().epochs
    for (const stream of STREAMS) expect(epochs[stream], stream).not.toBe(old[stream])
    const resets = (await recording(page)).resets
    for (const reset of resets) {
      expect(reset, reset.stream).toMatchObject({ reason: 'epoch', epoch: epochs[reset.stream] })
      expect(parseId(reset.id!).epoch).toBe(epochs[reset.stream])
    }

    // Then the new log, exactly once and in order from right after the reset's head.
    await say(page, 'after the restart')
    await expect.poll(async () => chatCounts(await recording(page), ['before the restart', 'after the restart'])).toEqual([1, 1])
    await expect.poll(async () => (await recording(page)).ids.notifications.filter((id) => id.startsWith(`${epochs.notifications}.`)).length).toBeGreaterThan(2)
    const rec = await recording(page)
    for (const stream of STREAMS) {
      const reset = resets.find((r) => r.stream === stream)!
      const fresh = rec.ids[stream].filter((id) => parseId(id).epoch === epochs[stream])
      expectExactlyOnceInOrder(fresh, `${stream} after the reset`)
      expect(parseId(fresh[0]!).seq, `${stream} goes on right after the reset's head`).toBe(parseId(reset.id!).seq + 1)
      // Before the reset: only the old epoch.
      const stale = rec.ids[stream].slice(0, rec.ids[stream].length - fresh.length)
      expect(stale.every((id) => parseId(id).epoch === old[stream]), stream).toBe(true)
    }
    expect(await page.getByTestId('chat').innerText()).toContain('The room restarted (epoch)')
    expect(errors).toEqual([])
  })
})
