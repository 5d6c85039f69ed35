/** Helpers for the e2e tests: the demo server on port 0, real Chromium, and the page's recording. */
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { expect, inject } from 'vitest'
import { type Demo, type DemoOptions, startDemo } from '../../demo/server.ts'
import { chromiumArgs, chromiumPath } from '../chromium.ts'
import type { Recording, StreamName } from '../../demo/shared.ts'

export const STREAMS: readonly StreamName[] = ['quotes', 'notifications', 'chat']

/** The page's idle timeout (ms) in these tests: `?idle=`. */
export const IDLE = 1000
/** The base of the WebSocket backoff (ms): `?delay=`. SSE streams use the server's `retry:`. */
export const DELAY = 200
/** The server's SSE `retry:` hint (ms): the base of the SSE backoff. */
export const RETRY = 300

/** Quick streams, so a test sees plenty of events in a second; heartbeats well below IDLE. */
export const FAST: DemoOptions = { quoteInterval: 25, notifyInterval: 100, heartbeat: 250, retry: RETRY }

/** The demo server on a free port, serving the app built by the global setup. */
export function startTestDemo(options: DemoOptions = {}): Promise<Demo> {
  return startDemo({ port: 0, dist: inject('demoDist'), ...FAST, ...options })
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs })
}

/** The app's URL with the test settings (and any others). */
export function appUrl(demo: Demo, params: Record<string, string | number> = {}): string {
  const url = new URL(demo.url)
  for (const [key, value] of Object.entries({ idle: IDLE, delay: DELAY, ...params })) url.searchParams.set(key, String(value))
  return url.toString()
}

export interface App {
  page: Page
  /** Uncaught errors of the page (there must be none). */
  errors: Error[]
}

/** Opens the app in a new tab of `context` and waits until every stream is open. */
export async function openApp(context: BrowserContext, url: string, streams: readonly StreamName[] = STREAMS): Promise<App> {
  const page = await context.newPage()
  const errors: Error[] = []
  page.on('pageerror', (error) => errors.push(error))
  await page.goto(url)
  await waitOpen(page, streams)
  return { page, errors }
}

export async function waitOpen(page: Page, streams: readonly StreamName[] = STREAMS): Promise<void> {
  for (const stream of streams) await page.locator(streamStatus(stream, 'open')).waitFor({ timeout: 10_000 })
}

/** A selector of the `<ConnectionStatus>` of `stream` (`data-state` is its status): in `state`, or in any but `not`. */
export function streamStatus(stream: StreamName, state?: string, { not }: { not?: string } = {}): string {
  return `[data-stream="${stream}"] > [data-tabwire-connection]${state ? `[data-state="${state}"]` : ''}${not ? `:not([data-state="${not}"])` : ''}`
}

/** A copy of what the page recorded so far (`window.__tabwire`). */
export function recording(page: Page): Promise<Recording> {
  return page.evaluate(() => (window as unknown as { __tabwire: Recording }).__tabwire)
}

/** How many event ids the page recorded for `stream` (cheaper to poll than the whole recording). */
export function idCount(page: Page, stream: StreamName): Promise<number> {
  return page.evaluate((s) => (window as unknown as { __tabwire: Recording }).__tabwire.ids[s].length, stream)
}

/** `<epoch>.<seq>` apart. */
export function parseId(id: string): { epoch: string; seq: number } {
  const match = /^([A-Za-z0-9_-]+)\.(\d+)$/.exec(id)
  if (!match) throw new Error(`not a log id: '${id}'`)
  return { epoch: match[1]!, seq: Number(match[2]) }
}

/**
 * Every id of one log exactly once and in order: one epoch, and each seq one more than the
 * one before. (Ids start wherever the page joined the live stream.)
 */
export function expectExactlyOnceInOrder(ids: readonly string[], label: string): void {
  expect(ids.length, `${label}: no events`).toBeGreaterThan(0)
  const parsed = ids.map(parseId)
  const epochs = new Set(parsed.map((p) => p.epoch))
  expect([...epochs], `${label}: one epoch`).toHaveLength(1)
  const first = parsed[0]!.seq
  const problems = parsed.flatMap((p, i) => (p.seq === first + i ? [] : [`#${i}: ${ids[i]} (expected seq ${first + i})`]))
  expect(problems.slice(0, 5), `${label}: ids out of order, missing or repeated`).toEqual([])
}

/** Types a chat message in the page and sends it. */
export async function say(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Chat message' }).fill(text)
  await page.getByRole('button', { name: 'Send' }).click()
}

/** Clicks a fault panel button (`data-action`). */
export async function fault(page: Page, action: 'drop' | 'restart-log' | 'stall'): Promise<void> {
  await page.locator(`button[data-action="${action}"]`).click()
}

/** How often each chat text was delivered to the page. */
export function chatCounts(rec: Recording, texts: readonly string[]): number[] {
  return texts.map((text) => rec.chat.filter((m) => m.text === text).length)
}
