/**
 * Helpers for the cross-tab e2e tests (tabs.test.ts): tabs of one browser context that
 * remember which stream connections they opened (so a test can tell the leader tab), and
 * the measurement of a leader change.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { expect } from 'vitest'
import type { Demo } from '../../demo/server.ts'
import type { Recording, StreamName } from '../../demo/shared.ts'
import { chromiumArgs, chromiumPath } from '../chromium.ts'
import { expectExactlyOnceInOrder, parseId, waitOpen } from './helpers.ts'

export interface Tab {
  /** 1, 2, 3… in the order the test opened them (for messages). */
  n: number
  page: Page
  /** Uncaught errors of the page (there must be none). */
  errors: Error[]
  /** False once the tab was closed, crashed or navigated away from the app. */
  alive: boolean
}

/** A stream connection a tab opened: an SSE request, or the chat WebSocket. */
interface Opened {
  tab: Tab
  stream: StreamName
  at: number
}

/**
 * The app's tabs in one browser context (contexts do not share Web Locks or
 * BroadcastChannel). Only a stream's leader opens its connection, so the tab that opened a
 * stream's connection last is that stream's leader.
 */
export class Tabs {
  readonly all: Tab[] = []
  readonly opened: Opened[] = []

  constructor(
    readonly context: BrowserContext,
    readonly url: string,
    /** Runs on each new tab before it loads the app. */
    readonly prepare?: (page: Page) => Promise<void>,
  ) {}

  /** Opens the app in a new tab and waits until every stream is open (as the tab sees it). */
  async open(): Promise<Tab> {
    const page = await this.context.newPage()
    await this.prepare?.(page)
    const tab: Tab = { n: this.all.length + 1, page, errors: [], alive: true }
    this.all.push(tab)
    page.on('pageerror', (error) => tab.errors.push(error))
    // Listened to before the first navigation: the first tab leads from its first request.
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname
      if (path === '/api/quotes') this.opened.push({ tab, stream: 'quotes', at: Date.now() })
      if (path === '/api/notifications') this.opened.push({ tab, stream: 'notifications', at: Date.now() })
    })
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).pathname === '/api/chat') this.opened.push({ tab, stream: 'chat', at: Date.now() })
    })
    page.on('close', () => void (tab.alive = false))
    page.on('crash', () => void (tab.alive = false))
    await page.goto(this.url)
    await waitOpen(page)
    return tab
  }

  /** Opens `count` tabs one after the other: the first one leads every stream, the others queue in order. */
  async openMany(count: number): Promise<Tab[]> {
    const tabs: Tab[] = []
    for (let i = 0; i < count; i++) tabs.push(await this.open())
    return tabs
  }

  live(): Tab[] {
    return this.all.filter((t) => t.alive)
  }

  /** The live tab that opened `stream`'s connection last: its leader. */
  leader(stream: StreamName = 'quotes'): Tab {
    const last = this.opened.filter((o) => o.stream === stream).at(-1)
    if (!last?.tab.alive) throw new Error(`no live leader for ${stream} (its connection was last opened by tab ${last?.tab.n})`)
    return last.tab
  }

  /** Every uncaught error of every tab, with the tab's number. */
  errors(): string[] {
    return this.all.flatMap((t) => t.errors.map((e) => `tab ${t.n}: ${e.message}`))
  }
}

/**
 * Sends a chat message from the tab, as `say` does, but submits with a DOM click: a real
 * Playwright click in a tab that is not in front goes through Chromium's input pipeline
 * and took 5–30 s on a busy 2-core machine. The app's submit handler runs either way.
 */
export async function sayIn(tab: Tab, text: string): Promise<void> {
  await tab.page.getByRole('textbox', { name: 'Chat message' }).fill(text)
  await tab.page.getByRole('button', { name: 'Send' }).dispatchEvent('click')
}

/**
 * Submits the chat text already typed in the tab at the end of one long task that lasts
 * until the chat socket went away and a new one (a new leader's) is connected, as the
 * server sees it. Synchronous requests do not run the event loop, so during the task the
 * tab hears nothing on its BroadcastChannels: the send leaves while the tab still follows
 * the old leader, and the new leader's frames are waiting for it. Returns when it sent.
 */
export function sendAfterLongTask(tab: Tab): Promise<number> {
  return tab.page.evaluate(() => {
    const chatSockets = () => {
      const xhr = new XMLHttpRequest()
      xhr.open('GET', '/api/admin/stats', false)
      xhr.send()
      return (JSON.parse(xhr.responseText) as { clients: { chat: number } }).clients.chat
    }
    const until = (ok: () => boolean, ms: number) => {
      const end = Date.now() + ms
      while (!ok() && Date.now() < end) {
        const pause = Date.now() + 10
        while (Date.now() < pause);
      }
    }
    until(() => chatSockets() === 0, 3000)
    until(() => chatSockets() === 1, 8000)
    document.querySelector<HTMLButtonElement>('form.say button[type=submit]')!.click()
    return Date.now()
  })
}

/** What the page recorded so far (`window.__tabwire`). */
export function recordingOf(tab: Tab): Promise<Recording> {
  return tab.page.evaluate(() => (window as unknown as { __tabwire: Recording }).__tabwire)
}

/** The ids one stream delivered in the tab, with their delivery times (ms since the epoch). */
export function deliveries(tab: Tab, stream: StreamName): Promise<{ ids: string[]; times: number[] }> {
  return tab.page.evaluate((s) => {
    const rec = (window as unknown as { __tabwire: Recording }).__tabwire
    return { ids: rec.ids[s], times: rec.times[s] }
  }, stream)
}

/** The highest seq of `stream` any of `tabs` delivered (0 if none). */
export async function newestSeq(tabs: readonly Tab[], stream: StreamName): Promise<number> {
  const all = await Promise.all(tabs.map((t) => deliveries(t, stream)))
  return Math.max(0, ...all.flatMap(({ ids }) => ids.map((id) => parseId(id).seq)))
}

/** Every quote and notification exactly once, in order, in each tab. */
export async function expectEveryEventOnce(tabs: readonly Tab[], streams: readonly StreamName[] = ['quotes', 'notifications']): Promise<void> {
  for (const tab of tabs) {
    const rec = await recordingOf(tab)
    for (const stream of streams) expectExactlyOnceInOrder(rec.ids[stream], `tab ${tab.n} ${stream}`)
  }
}

/** Polls the server's live connection counts until they are `expected`, then checks they stay so for `ms`. */
export async function expectSteadyClients(demo: Demo, expected: Record<StreamName, number>, ms: number): Promise<void> {
  await expect.poll(() => demo.stats().clients, { timeout: 5000 }).toEqual(expected)
  const changes: string[] = []
  const start = Date.now()
  while (Date.now() - start < ms) {
    const clients = demo.stats().clients
    if (JSON.stringify(clients) !== JSON.stringify(expected)) changes.push(`+${Date.now() - start} ms: ${JSON.stringify(clients)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  expect(changes, `connections per stream stay ${JSON.stringify(expected)} for ${ms} ms`).toEqual([])
}

export interface Failover {
  /** ms from the action to the server's first new request for the stream. */
  request: number
  /** ms from the action to the first newer event delivered by the new leader in a surviving tab. */
  delivered: number
  /** The tab that leads the stream now. */
  leader: Tab
  /** The newest seq any tab had delivered just before the action. */
  before: number
  /** The `Last-Event-ID` the new leader resumed from. */
  resumedFrom: string | null
}

/**
 * Times a leader change of `stream`: `act` does something to the leader (close, crash…)
 * and returns when it did it (ms since the epoch). The new leader is delivering once a
 * surviving tab delivers an event newer than any the tabs had before the action, at or
 * after the new leader's request: what the old leader relayed before it died does not count.
 */
export async function failover(
  demo: Demo,
  tabs: Tabs,
  survivors: readonly Tab[],
  act: () => Promise<number>,
  stream: 'quotes' | 'notifications' = 'quotes',
): Promise<Failover> {
  const before = await newestSeq(tabs.live(), stream)
  const at = await act()
  const request = await pollFor(() => demo.requests.find((r) => r.stream === stream && r.at >= at), `a new ${stream} request`)
  const delivered = await pollFor(async () => {
    const firsts = await Promise.all(
      survivors.map(async (tab) => {
        const { ids, times } = await deliveries(tab, stream)
        const i = ids.findIndex((id, i) => parseId(id).seq > before && times[i]! >= request.at)
        return i < 0 ? undefined : times[i]!
      }),
    )
    const found = firsts.filter((t): t is number => t !== undefined)
    return found.length ? Math.min(...found) : undefined
  }, `a ${stream} event newer than seq ${before} in a surviving tab`)
  return { request: request.at - at, delivered: Math.round(delivered - at), leader: tabs.leader(stream), before, resumedFrom: request.lastEventId }
}

/** Polls `read` every 20 ms until it gives something, for up to `timeout` ms. */
export async function pollFor<T>(read: () => T | undefined | Promise<T | undefined>, what: string, timeout = 5000): Promise<T> {
  const end = Date.now() + timeout
  for (;;) {
    const value = await read()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Crashes the tab's renderer (CDP `Page.crash`, whose answer never comes) and returns when
 * it was asked. Each tab of a context has a renderer process of its own here (checked with
 * `SystemInfo.getProcessInfo`, and the other tabs run on), so no extra flag is needed.
 */
export async function crash(tab: Tab): Promise<number> {
  const cdp = await tab.page.context().newCDPSession(tab.page)
  const crashed = tab.page.waitForEvent('crash', { timeout: 5000 })
  const at = Date.now()
  cdp.send('Page.crash').catch(() => {})
  await crashed
  return at
}

/**
 * A Chromium of the test's own, driven over CDP without Playwright's default overrides.
 *
 * Why: Playwright turns on focus emulation in every page of its contexts, and Chromium
 * implements it as a *visible* capturer of the tab, so the tab can never be hidden, and
 * `Page.setWebLifecycleState({ state: 'frozen' })` then does nothing at all (no
 * visibilitychange, no freeze event, the page keeps running). `connectOverCDP` with
 * `noDefaults` leaves the default context's pages alone; a test then gives each tab focus
 * emulation itself (see {@link focusEmulation}) and can take it away from one tab again.
 * The remote-debugging port listens on 127.0.0.1 only.
 */
export async function launchChromiumOverCdp(): Promise<{ browser: Browser; context: BrowserContext; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tabwire-tabs-'))
  const child = spawn(
    chromiumPath,
    [
      ...chromiumArgs,
      '--headless',
      // As Playwright's own launch does: hidden tabs keep their timers at full speed.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      `--user-data-dir=${dir}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const cleanUp = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill()
    await exited
    // Its helper processes may still be writing to the profile for a moment.
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
  }
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let text = ''
      child.stderr!.on('data', (chunk: Buffer) => {
        text += chunk
        const match = /DevTools listening on (ws:\/\/127\.0\.0\.1:\S+)/.exec(text)
        if (match) resolve(match[1]!)
      })
      child.once('exit', (code) => reject(new Error(`chromium exited (${code}) before it listened: ${text.slice(-500)}`)))
      setTimeout(() => reject(new Error(`chromium did not listen within 15 s: ${text.slice(-500)}`)), 15_000).unref()
    })
    const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true })
    return {
      browser,
      context: browser.contexts()[0]!,
      async close() {
        await browser.close().catch(() => {})
        await cleanUp()
      },
    }
  } catch (error) {
    await cleanUp()
    throw error
  }
}

/**
 * Turns Chromium's focus emulation on for a tab, through a CDP session of its own (kept
 * open: the emulation ends with the session), and returns a switch for it. While on, the
 * tab counts as visible and focused, like every tab Playwright opens.
 */
export async function focusEmulation(page: Page): Promise<(enabled: boolean) => Promise<void>> {
  const cdp = await page.context().newCDPSession(page)
  const set = async (enabled: boolean) => void (await cdp.send('Emulation.setFocusEmulationEnabled', { enabled }))
  await set(true)
  return set
}
