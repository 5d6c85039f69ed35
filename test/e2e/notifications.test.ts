/**
 * The demo's notifications (tabwire/components' notification center over `/api/notifications`,
 * shared across tabs) in 3 tabs of one browser context: a notification is listed in every
 * tab's inbox and toasts in exactly one tab, the focused one; marking it read in one tab
 * marks it read in all.
 *
 * Playwright emulates focus in every page it opens (each says `document.hasFocus()`), so
 * each tab's emulation is switched off here: then `bringToFront()` moves the real focus, with
 * its focus and blur events, as a user clicking between windows would.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest'
import { NOTICES } from '../../demo/market.ts'
import type { Demo } from '../../demo/server.ts'
import { type App, appUrl, launchChromium, openApp, startTestDemo } from './helpers.ts'
import { focusEmulation } from './tabs-helpers.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

declare global {
  interface Window {
    /** The ids of the toasts this page has shown, in order (test/e2e/notifications.test.ts). */
    __toasted: string[]
  }
}

/**
 * Records every toast the page shows, however briefly: a toast goes after 5 s, and a test on
 * a busy machine may look later than that.
 */
const watchToasts = (page: Page) =>
  page.evaluate(() => {
    window.__toasted = []
    const seen = (node: Node) => {
      if (!(node instanceof HTMLElement)) return
      for (const toast of [node, ...node.querySelectorAll<HTMLElement>('[data-tabwire-toast]')]) {
        if (toast.matches('[data-tabwire-toast]')) window.__toasted.push(toast.dataset.id ?? '')
      }
    }
    new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(seen))).observe(document.body, { childList: true, subtree: true })
  })

const toasted = (app: App) => app.page.evaluate(() => window.__toasted)
const focused = (apps: readonly App[]) => Promise.all(apps.map((app) => app.page.evaluate(() => document.hasFocus())))
const inboxItem = (app: App, id: string) => app.page.locator(`[data-testid="notifications"] [data-tabwire-inbox-item][data-id="${id}"]`)
/** Text as read out: one space between words (a visually hidden part is a line of its own in `innerText`). */
const text = (s: string) => s.replace(/\s+/g, ' ').trim()
/** The header's unread count ("2 unread"). */
const unread = async (app: App) => text(await app.page.locator('[data-tabwire-unread]').innerText())
const itemState = async (app: App, id: string) => ((await inboxItem(app, id).count()) ? await inboxItem(app, id).getAttribute('data-state') : 'missing')

/** 3 tabs of the demo, focus emulation off, on a server that sends a notification only when told. */
async function threeTabs({ onTestFinished }: TestContext): Promise<{ demo: Demo; apps: App[] }> {
  // No notification on a timer (an hour apart); quotes slow: the tabs have less to do.
  const [demo, context] = await Promise.all([startTestDemo({ notifyInterval: 3_600_000, quoteInterval: 500 }), browser.newContext()])
  onTestFinished(async () => {
    await context.close()
    await demo.close()
  })
  const apps: App[] = []
  for (let n = 0; n < 3; n++) {
    const app = await openApp(context, appUrl(demo, { name: `tab${n}` }))
    const emulate = await focusEmulation(app.page)
    await emulate(false)
    await watchToasts(app.page)
    apps.push(app)
  }
  return { demo, apps }
}

/** Has the server send one notification; resolves with its id (the SSE event id), once every tab lists it. */
async function notify({ expect }: TestContext, demo: Demo, apps: readonly App[]): Promise<string> {
  const before = demo.stats().heads.notifications
  // One notification: a "flood" of 1 at 1,000 a second.
  demo.flood(1000, 0.001, 'notifications')
  await expect.poll(() => demo.stats().heads.notifications).not.toBe(before)
  const id = demo.stats().heads.notifications!
  for (const app of apps) await expect.poll(() => itemState(app, id), { timeout: 10_000 }).toBe('unread')
  return id
}

describe('the demo notifications in 3 tabs', () => {
  it('toast in the focused tab only, listed in every inbox, read in one tab → read in all', async (test) => {
    const { expect } = test
    const { demo, apps } = await threeTabs(test)

    // The second tab (a follower of the stream: the first one opened leads it) takes the focus.
    await apps[1]!.page.bringToFront()
    await expect.poll(() => focused(apps)).toEqual([false, true, false])
    const first = await notify(test, demo, apps)
    // The toast and the inbox item are one commit: once every inbox lists it, every toast that will show has.
    expect(await Promise.all(apps.map(toasted))).toEqual([[], [first], []])
    for (const app of apps) {
      expect(text(await inboxItem(app, first).locator('[data-tabwire-inbox-title]').innerText())).toBe(`Unread: ${NOTICES[0]!.title}`)
      expect(await unread(app)).toBe('1 unread')
    }

    // The focus moves: the next notification toasts in the third tab, and only there.
    await apps[2]!.page.bringToFront()
    await expect.poll(() => focused(apps)).toEqual([false, false, true])
    const second = await notify(test, demo, apps)
    expect(await Promise.all(apps.map(toasted))).toEqual([[], [first], [second]])
    for (const app of apps) expect(await unread(app)).toBe('2 unread')

    // Read in the first tab (not the focused one) → read in every tab.
    await inboxItem(apps[0]!, first).getByRole('button', { name: 'Mark as read' }).click()
    for (const app of apps) {
      await expect.poll(() => itemState(app, first)).toBe('read')
      expect(await itemState(app, second)).toBe('unread')
      expect(await unread(app)).toBe('1 unread')
    }
    expect(apps.flatMap((app) => app.errors)).toEqual([])
  })
})
