/**
 * Helpers for the realtime e2e tests (realtime.test.ts): tabs of one browser context that
 * show only the demo's Realtime panel, each with a channel set of its own (`?channels=`),
 * and remember which realtime connections they opened, so a test can tell the leader tab.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { expect, type TestContext } from 'vitest'
import type { Demo } from '../../demo/server.ts'
import type { LobbyPost, RealtimeRecording } from '../../demo/shared.ts'
import type { RealtimeClient } from '../../src/core/index.ts'
import { appUrl, expectExactlyOnceInOrder, startTestDemo } from './helpers.ts'
import { pollFor } from './tabs-helpers.ts'

export { pollFor }

/** The Realtime panel's `<ConnectionStatus>`: `data-state` is the client's status, `data-transport` its transport. */
export const REALTIME_STATUS = '[data-realtime] > [data-tabwire-connection]'

/** Channel sets of the tabs: each its own, overlapping. */
export const A = ['prices:ACME', 'notifications']
export const B = ['prices:BOLT', 'room:lobby']
export const C = ['prices:ACME', 'prices:FLUX']
export const D = ['notifications', 'prices:NOVA']
export const union = (...sets: (readonly string[])[]): string[] => [...new Set(sets.flat())]

export interface RtTab {
  /** 1, 2, 3… in the order the test opened them. */
  n: number
  page: Page
  channels: readonly string[]
  /** Uncaught errors of the page (there must be none). */
  errors: Error[]
  alive: boolean
}

/** A realtime connection a tab opened, as Chromium saw it. */
export interface RtOpened {
  tab: RtTab
  transport: 'websocket' | 'sse'
  at: number
}

/** The demo page's settings in these tests (`?only=realtime`: no other stream competes). */
export interface RtParams {
  /** First delay before probing WebSocket again while on SSE, ms (the library's default is 5000). */
  probe?: number
  maxProbe?: number
  [name: string]: string | number | undefined
}

/**
 * A demo server of the test's own (10 ms between quotes: each symbol's channel gets ~5
 * events a second, notifications 10) and one browser context: tabs share locks and
 * channels only within a context.
 */
export async function fresh(browser: Browser, { onTestFinished }: TestContext, params: RtParams = {}): Promise<{ demo: Demo; tabs: RtTabs }> {
  const [demo, context] = await Promise.all([startTestDemo({ quoteInterval: 10 }), browser.newContext()])
  onTestFinished(async () => {
    await context.close()
    await demo.close()
  })
  return { demo, tabs: new RtTabs(context, demo, params) }
}

export class RtTabs {
  readonly all: RtTab[] = []
  readonly opened: RtOpened[] = []

  constructor(
    readonly context: BrowserContext,
    readonly demo: Demo,
    readonly params: RtParams = {},
  ) {}

  /** Opens the realtime page in a new tab, holding `channels`, and waits until it is open and receiving. */
  async open(channels: readonly string[]): Promise<RtTab> {
    const page = await this.context.newPage()
    const tab: RtTab = { n: this.all.length + 1, page, channels, errors: [], alive: true }
    this.all.push(tab)
    page.on('pageerror', (error) => tab.errors.push(error))
    page.on('close', () => void (tab.alive = false))
    page.on('crash', () => void (tab.alive = false))
    // Listened to before the first navigation: the first tab leads from its first request.
    page.on('request', (request) => {
      const url = new URL(request.url())
      if (url.pathname === '/api/realtime' && request.method() === 'GET' && request.resourceType() !== 'websocket') {
        this.opened.push({ tab, transport: 'sse', at: Date.now() })
      }
    })
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).pathname === '/api/realtime') this.opened.push({ tab, transport: 'websocket', at: Date.now() })
    })
    const params = Object.fromEntries(Object.entries(this.params).filter((e): e is [string, string | number] => e[1] !== undefined))
    await page.goto(appUrl(this.demo, { only: 'realtime', channels: channels.join(','), ...params }))
    await page.locator(`${REALTIME_STATUS}[data-state="open"]`).waitFor({ timeout: 10_000 })
    return tab
  }

  /** Opens one tab per channel set, one after the other: the first one leads. */
  async openAll(sets: readonly (readonly string[])[]): Promise<RtTab[]> {
    const tabs: RtTab[] = []
    for (const channels of sets) tabs.push(await this.open(channels))
    return tabs
  }

  live(): RtTab[] {
    return this.all.filter((t) => t.alive)
  }

  /** The live tab that opened the newest realtime WebSocket (or SSE stream): the leader. */
  leader(): RtTab {
    const last = this.opened.at(-1)
    if (!last?.tab.alive) throw new Error(`no live realtime leader (the last connection was opened by tab ${last?.tab.n})`)
    return last.tab
  }

  errors(): string[] {
    return this.all.flatMap((t) => t.errors.map((e) => `tab ${t.n}: ${e.message}`))
  }
}

/** What the tab's Realtime panel recorded so far (`window.__tabwire.realtime`). */
export function rtRecording(tab: RtTab): Promise<RealtimeRecording> {
  return tab.page.evaluate(() => (window as unknown as { __tabwire: { realtime: RealtimeRecording } }).__tabwire.realtime)
}

/** Event ids delivered so far per channel, in the tab. */
export async function counts(tab: RtTab): Promise<Record<string, number>> {
  const { ids } = await rtRecording(tab)
  return Object.fromEntries(tab.channels.map((c) => [c, ids[c]?.length ?? 0]))
}

/** Channels the server appends to by itself (the lobby has only what someone publishes). */
export const flowing = (tab: RtTab): readonly string[] => tab.channels.filter((c) => c !== 'room:lobby')

/**
 * Waits until every tab delivered at least `more` events beyond what it has now on each of
 * `channels` (default: those of its own the server appends to): they keep receiving.
 */
export async function expectReceiving(tabs: readonly RtTab[], more: number, channels = flowing, timeout = 15_000): Promise<void> {
  const before = await Promise.all(tabs.map(counts))
  const which = channels
  const lagging = async () => {
    const now = await Promise.all(tabs.map(counts))
    return tabs.flatMap((t, i) => which(t).flatMap((c) => ((now[i]![c] ?? 0) - (before[i]![c] ?? 0) >= more ? [] : [`tab ${t.n} ${c}`])))
  }
  await expect.poll(lagging, { timeout, interval: 100 }).toEqual([])
}

/**
 * Every channel of every tab: each event id of its log exactly once, in order (a channel the
 * server appends to must have events), and no event of a channel the tab does not hold.
 */
export async function expectOncePerChannel(tabs: readonly RtTab[]): Promise<{ events: number }> {
  let events = 0
  for (const tab of tabs) {
    const { ids } = await rtRecording(tab)
    expect(Object.keys(ids).filter((c) => !tab.channels.includes(c)), `tab ${tab.n}: channels it does not hold`).toEqual([])
    for (const channel of tab.channels) {
      if (!flowing(tab).includes(channel) && !ids[channel]?.length) continue
      expectExactlyOnceInOrder(ids[channel] ?? [], `tab ${tab.n} ${channel}`)
      events += ids[channel]!.length
    }
  }
  return { events }
}

/**
 * When each tab's realtime client was first open on `transport` at or after `since` (the
 * page's clock, ms since the epoch), or undefined where it was not yet.
 */
export async function switchedAt(tabs: readonly RtTab[], transport: 'websocket' | 'sse', since: number): Promise<(number | undefined)[]> {
  return Promise.all(
    tabs.map(async (tab) => (await rtRecording(tab)).transports.find((t) => t.at >= since && t.transport === transport && t.status === 'open')?.at),
  )
}

/** Waits until every tab is open on `transport` after `since`; returns the ms from `since` to the last tab's switch. */
export async function allSwitched(tabs: readonly RtTab[], transport: 'websocket' | 'sse', since: number, timeout: number): Promise<number> {
  const times = await pollFor(
    async () => {
      const at = await switchedAt(tabs, transport, since)
      return at.every((t) => t !== undefined) ? (at as number[]) : undefined
    },
    `every tab open on ${transport}`,
    timeout,
  )
  return Math.max(...times) - since
}

/** The server's realtime connections per transport and subscriptions per channel, once they stop changing. */
export async function expectServer(demo: Demo, clients: { websocket: number; sse: number }, channels: readonly string[], timeout = 10_000): Promise<void> {
  const want = { clients, channels: Object.fromEntries([...channels].sort().map((c) => [c, 1])) }
  await expect.poll(() => ({ clients: demo.realtime.stats().clients, channels: demo.realtime.stats().channels }), { timeout }).toEqual(want)
}

/** Polls the server's realtime stats until they are `expected`, then checks they stay so for `ms`. */
export async function expectSteadyServer(demo: Demo, clients: { websocket: number; sse: number }, channels: readonly string[], ms: number): Promise<void> {
  await expectServer(demo, clients, channels)
  const want = JSON.stringify({ clients, channels: Object.fromEntries([...channels].sort().map((c) => [c, 1])) })
  const changes: string[] = []
  const end = Date.now() + ms
  while (Date.now() < end) {
    const { clients: c, channels: ch } = demo.realtime.stats()
    const now = JSON.stringify({ clients: c, channels: ch })
    if (now !== want) changes.push(now)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  expect(changes, `the server stays at ${want} for ${ms} ms`).toEqual([])
}

/**
 * Publishes `count` lobby messages from the tab through the page's client (as the Lobby form
 * does), one every 20 ms, cids `<tag>-0`, `<tag>-1`…; resolves to their acknowledged ids.
 */
export function publishFrom(tab: RtTab, count: number, tag: string): Promise<string[]> {
  return tab.page.evaluate(
    async ({ count, tag }) => {
      const room = (window as unknown as { __realtime: RealtimeClient }).__realtime.channel<unknown, LobbyPost>('room:lobby')
      const acks: Promise<string>[] = []
      for (let i = 0; i < count; i++) {
        acks.push(room.publish({ from: tag, text: `message ${i}`, cid: `${tag}-${i}` }, { ack: true }))
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      try {
        return await Promise.all(acks)
      } finally {
        room.release()
      }
    },
    { count, tag },
  )
}

/** Each of `publishFrom`'s messages is in the server's lobby log exactly once, acknowledged with its id there. */
export function expectPublishedOnce(demo: Demo, count: number, tag: string, acked: readonly string[]): void {
  const entries = demo.realtime.room.map((e) => ({ id: e.id, post: JSON.parse(e.data) as LobbyPost }))
  const cids = Array.from({ length: count }, (_, i) => `${tag}-${i}`)
  const found = cids.map((cid) => entries.filter((e) => e.post.cid === cid))
  expect(found.flatMap((f, i) => (f.length === 1 ? [] : [`${cids[i]}: ${f.length} times`])), 'each publish in the log exactly once').toEqual([])
  expect(acked, 'each acknowledged with the id it was appended as').toEqual(found.map((f) => f[0]!.id))
}
