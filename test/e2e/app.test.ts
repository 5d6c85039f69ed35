import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest'
import type { Demo } from '../../demo/server.ts'
import {
  appUrl,
  chatCounts,
  expectExactlyOnceInOrder,
  idCount,
  launchChromium,
  openApp,
  recording,
  say,
  startTestDemo,
  streamStatus,
  waitOpen,
} from './helpers.ts'
import { connectChat } from './ws-client.ts'

/** Makes the page see itself hidden or visible, as a background tab would. */
const setHidden = (page: Page, hidden: boolean) =>
  page.evaluate((hidden) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden })
    document.dispatchEvent(new Event('visibilitychange'))
  }, hidden)

/** What the page's role badge says: streams this tab leads, of the shared streams held. */
const role = async (page: Page) => {
  const badge = page.locator('.role')
  return (await badge.count()) ? `${await badge.getAttribute('data-leads')} of ${await badge.getAttribute('data-of')}` : 'none'
}

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

/** A server and a browser context of the test's own. */
async function fresh({ onTestFinished }: TestContext): Promise<{ demo: Demo; context: BrowserContext }> {
  const [demo, context] = await Promise.all([startTestDemo(), browser.newContext()])
  onTestFinished(async () => {
    await context.close()
    await demo.close()
  })
  return { demo, context }
}

describe('the demo app', () => {
  it('renders live ticker values and untrusted notification text as text', async (test) => {
    const { expect } = test
    const { demo, context } = await fresh(test)
    const { page, errors } = await openApp(context, appUrl(demo))
    const ticker = page.getByTestId('ticker')

    await expect.poll(() => ticker.locator('tr[data-symbol]').count()).toBeGreaterThanOrEqual(8)
    const row = ticker.locator('tr[data-symbol]').first()
    // Symbol, price, and the change since the last quote as an arrow and in words (none for a first quote).
    await expect.poll(() => row.innerText()).toMatch(/^[A-Z]{4}\s+\d+\.\d\d\s+(▲\s+up|▼\s+down|–\s+unchanged)\s+\d+\.\d\d$/)
    // Live: the table keeps changing.
    const before = await ticker.locator('tbody').innerText()
    await expect.poll(() => ticker.locator('tbody').innerText()).not.toBe(before)
    const rec = await recording(page)
    expectExactlyOnceInOrder(rec.ids.quotes, 'quotes')
    expect(rec.ids.quotes[0]!.split('.')[0]).toBe(demo.stats().epochs.quotes)

    // The server sends markup in a notification: it shows as text, nothing runs.
    const list = page.getByTestId('notifications')
    await expect.poll(() => list.innerText()).toContain('<img src=x onerror="window.__xss=1"> rendered as text')
    expect(await list.locator('img, b').count()).toBe(0)
    expect(await page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined()
    expect(errors).toEqual([])
  })

  it('a lone tab in the default mode sends its mount-effect subscription with its first socket: a post made as soon as it shows open arrives', async (test) => {
    const { expect } = test
    const { demo, context } = await fresh(test)
    const { page, errors } = await openApp(context, appUrl(demo, { name: 'alone', idle: 5000 }))
    // The chat subscribes from "now" (no `since`): a subscription still held back in the
    // tab (it was, for 250 ms, as if another leader might have taken it) misses this post.
    const poster = await connectChat(demo.url.slice(0, -1))
    poster.socket.send(JSON.stringify({ type: 'publish', channel: 'room', data: { from: 'poster', text: 'right away', cid: 'r1' } }))
    await expect.poll(async () => chatCounts(await recording(page), ['right away'])).toEqual([1])
    poster.socket.close()
    expect(errors).toEqual([])
  })

  it('works in several tabs: one connection per stream for the whole browser, and a shared chat room', async (test) => {
    const { expect } = test
    const { demo, context } = await fresh(test)
    const [a, b] = await Promise.all([openApp(context, appUrl(demo, { name: 'alice' })), openApp(context, appUrl(demo, { name: 'bob' }))])

    // The tabs share each stream (share: 'tabs', the default), as the server and the fault panel see it.
    await expect.poll(() => demo.stats().clients).toEqual({ quotes: 1, notifications: 1, chat: 1 })
    await expect.poll(() => b.page.locator('[data-clients="chat"]').innerText()).toMatch(/^1 connection/)

    await say(a.page, 'hello from alice')
    await say(b.page, 'hi alice <script>window.__xss=1</script>')
    for (const { page } of [a, b]) {
      await expect.poll(async () => chatCounts(await recording(page), ['hello from alice', 'hi alice <script>window.__xss=1</script>'])).toEqual([1, 1])
      await expect.poll(() => page.getByTestId('chat').innerText()).toContain('bob: hi alice <script>window.__xss=1</script>')
    }
    expect(await a.page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined()

    // Each page tells whether it leads, from the browser's lock manager: one tab holds all 3
    // streams. Once it closes, the other takes them over.
    await expect.poll(() => Promise.all([a, b].map(({ page }) => role(page)))).toEqual(expect.arrayContaining(['3 of 3', '0 of 3']))
    const [leader, follower] = (await role(a.page)) === '3 of 3' ? [a, b] : [b, a]
    expect(await follower.page.locator('.role').innerText()).toMatch(/^this tab follows/)
    expect([...a.errors, ...b.errors]).toEqual([])
    await leader.page.close()
    await expect.poll(() => role(follower.page)).toBe('3 of 3')
    expect(await follower.page.locator('.role').innerText()).toMatch(/^this tab leads/)
    await expect.poll(() => demo.stats().clients).toEqual({ quotes: 1, notifications: 1, chat: 1 })
    expect(follower.errors).toEqual([])
  })

  it("with share: 'tab', each tab has its own connections, and a hidden tab lets go of its SSE streams", async (test) => {
    const { expect } = test
    const { demo, context } = await fresh(test)
    const [a, b] = await Promise.all([
      openApp(context, appUrl(demo, { share: 'tab', pauseHidden: 200 })),
      openApp(context, appUrl(demo, { share: 'tab', pauseHidden: 200 })),
    ])
    await expect.poll(() => demo.stats().clients).toEqual({ quotes: 2, notifications: 2, chat: 2 })
    for (const { page } of [a, b]) await expect.poll(() => role(page)).toBe('0 of 0')

    // A browser allows 6 HTTP/1.1 connections per host: a hidden tab lets go of its SSE
    // streams, and resumes them from its last id when shown. (Headless tabs are never
    // hidden: the page is told so, as the browser would.)
    await setHidden(b.page, true)
    await b.page.locator(streamStatus('quotes', 'paused')).waitFor()
    await expect.poll(() => demo.stats().clients).toEqual({ quotes: 1, notifications: 1, chat: 2 })
    const hiddenAt = await idCount(b.page, 'quotes')
    await setHidden(b.page, false)
    await waitOpen(b.page)
    await expect.poll(() => idCount(b.page, 'quotes')).toBeGreaterThan(hiddenAt + 10)
    expectExactlyOnceInOrder((await recording(b.page)).ids.quotes, 'quotes of the tab that was hidden')
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})
