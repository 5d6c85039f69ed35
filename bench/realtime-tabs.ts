/**
 * Tabs of bench/realtime.ts: opening a page of the bench in a browser context, reading what
 * it recorded, and waiting for conditions on it (polled, with timeouts).
 */
import type { BrowserContext, Page } from 'playwright-core'
import type { PageRecord } from './realtime-page.ts'

export interface Tab {
  n: number
  page: Page
  channels: string[]
  /** Uncaught page errors and the library's `[tabwire]` console warnings. */
  problems: string[]
  closed: boolean
}

/** What the bench polls: per channel the seq of the last delivered id and the count, and the client's state. */
export interface Summary {
  status: string
  transport: string | undefined
  leading: boolean
  /** Date.now() of the last state change. */
  stateAt: number
  last: Record<string, { seq: number; at: number; count: number }>
}

export const log = (message: string) => void process.stderr.write(`${message}\n`)
export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))
const EVAL_TIMEOUT = 10_000

export function withTimeout<T>(promise: Promise<T>, timeout: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`timed out after ${timeout} ms: ${what}`)), timeout)))
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/** Polls `probe` every `every` ms until it returns something other than undefined. */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeout: number, what: string, every = 20): Promise<T> {
  const end = Date.now() + timeout
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(every)
  }
}

export async function openTab(context: BrowserContext, base: string, n: number, channels: string[], query: Record<string, string> = {}): Promise<Tab> {
  const page = await context.newPage()
  const tab: Tab = { n, page, channels, problems: [], closed: false }
  page.on('pageerror', (error) => tab.problems.push(`tab ${n}: page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.text().includes('[tabwire]')) tab.problems.push(`tab ${n}: ${message.type()}: ${message.text()}`)
  })
  const url = new URL(base)
  url.searchParams.set('ch', channels.join(','))
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
  await page.goto(url.toString(), { waitUntil: 'load', timeout: 15_000 })
  await until(() => page.evaluate(() => ('__rt' in window ? true : undefined)), 10_000, `tab ${n}'s script`)
  return tab
}

export const summary = (tab: Tab): Promise<Summary> =>
  withTimeout(
    tab.page.evaluate(() => {
      const r = (window as unknown as { __rt: PageRecord }).__rt
      const state = r.states.at(-1) ?? [0, 'idle', undefined]
      const last: Summary['last'] = {}
      for (const [name, list] of Object.entries(r.msgs)) {
        let i = list.length - 1
        while (i >= 0 && list[i]![0] === null) i--
        const id = i >= 0 ? list[i]![0]! : ''
        last[name] = { seq: id ? Number(id.slice(id.lastIndexOf('.') + 1)) : -1, at: i >= 0 ? list[i]![2] : 0, count: list.length }
      }
      return { status: state[1], transport: state[2], stateAt: state[0], leading: r.leading, last }
    }),
    EVAL_TIMEOUT,
    `tab ${tab.n}: summary`,
  )

export const readRecord = (tab: Tab): Promise<PageRecord> =>
  withTimeout(
    tab.page.evaluate(() => (window as unknown as { __rt: PageRecord }).__rt),
    EVAL_TIMEOUT,
    `tab ${tab.n}: read the record`,
  )

/**
 * The first delivery (Date.now() in the page) at or after `since` on a channel of the tab,
 * made while the client's transport was `transport` (its latest state change to it at or
 * after `since`), or undefined.
 */
export const deliveredOver = (tab: Tab, transport: string, since: number): Promise<{ stateAt: number; at: number } | undefined> =>
  withTimeout(
    tab.page.evaluate(
      ([kind, after]) => {
        const r = (window as unknown as { __rt: PageRecord }).__rt
        const states = r.states
        const state = states.at(-1)
        if (!state || state[2] !== kind || state[1] !== 'open') return undefined
        // The state change onto `kind` that is still current.
        let i = states.length - 1
        while (i > 0 && states[i - 1]![2] === kind) i--
        const stateAt = states[i]![0]
        if (stateAt < after) return undefined
        let at = Number.POSITIVE_INFINITY
        for (const list of Object.values(r.msgs)) for (const m of list) if (m[0] !== null && m[2] >= stateAt) at = Math.min(at, m[2])
        return Number.isFinite(at) ? { stateAt, at } : undefined
      },
      [transport, since] as const,
    ),
    EVAL_TIMEOUT,
    `tab ${tab.n}: deliveries over ${transport}`,
  )

/** Whether every open tab delivered, on each of its channels, an event past `heads` (seq per channel); with `transport`, also on it. */
export async function allPast(tabs: readonly Tab[], heads: Record<string, number>, transport?: string): Promise<true | undefined> {
  for (const tab of tabs) {
    if (tab.closed) continue
    const s = await summary(tab)
    if (transport && (s.transport !== transport || s.status !== 'open')) return undefined
    for (const name of tab.channels) if ((s.last[name]?.seq ?? -1) <= (heads[name] ?? 0)) return undefined
  }
  return true
}
