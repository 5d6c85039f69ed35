/**
 * The demo scaled out, in real Chromium: a real redis-server, two demo instances in
 * processes of their own behind the round-robin proxy (demo/scale.ts), three tabs of one
 * browser context. Killing the instance that serves the tabs' streams moves every stream
 * to the other instance, which resumes it from Redis: each tab's ids are exactly the
 * server's log from its first id to its last. A FLUSHALL gives every tab a reset.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, inject, it, type TestContext } from 'vitest'
import { type ScaleDemo, startScaleDemo } from '../../demo/scale.ts'
import { startDemo } from '../../demo/server.ts'
import type { StreamName } from '../../demo/shared.ts'
import { createRedisLog, type Replay } from '../../src/server/index.ts'
import { type RedisServer, startRedis } from '../server/redis-server.ts'
import { FAST, IDLE, launchChromium, parseId } from './helpers.ts'
import { deliveries, pollFor, recordingOf, sayIn, type Tab, Tabs } from './tabs-helpers.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

/** Rounds of kill and restart. */
const ROUNDS = 4
/** Quotes each tab must get after a kill before the round ends (40 a second with FAST). */
const MORE = 20
const SSE = ['quotes', 'notifications'] as const satisfies readonly StreamName[]
const ONE_EACH = { quotes: 1, notifications: 1, chat: 1 }
const REALTIME = ['prices:ACME', 'notifications']

async function fresh({ onTestFinished }: TestContext): Promise<{ redis: RedisServer; demo: ScaleDemo; tabs: Tabs }> {
  const redis = await startRedis()
  onTestFinished(() => redis.stop())
  const [demo, context] = await Promise.all([startScaleDemo({ ...FAST, port: 0, dist: inject('demoDist'), redis: redis.url, instances: 2 }, startDemo), browser.newContext()])
  onTestFinished(async () => {
    await context.close()
    await demo.close()
  })
  const url = new URL(demo.url)
  // The idle timeout well above the heartbeats: the kills are what moves the streams here.
  for (const [key, value] of Object.entries({ idle: IDLE * 3, delay: 200, channels: REALTIME.join(',') })) url.searchParams.set(key, String(value))
  return { redis, demo, tabs: new Tabs(context, url.toString()) }
}

/** POSTs an admin route of the proxy, as the fault panel would. */
async function admin(demo: ScaleDemo, path: string): Promise<unknown> {
  const response = await fetch(`${demo.url}api/admin/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`)
  return response.json()
}

/** The connections of each live instance, by instance number. */
async function clientsByInstance(demo: ScaleDemo): Promise<Record<number, Record<string, number>>> {
  const up = demo.instances().filter((i) => i.up)
  const all = await Promise.all(up.map(async (i) => [i.n, (await demo.instanceStats(i.n)).clients] as const))
  return Object.fromEntries(all)
}

/** The ids of the server's log `key` from `first` on (the newest 10,000). */
async function logFrom(redis: RedisServer, key: string, first: string): Promise<string[]> {
  const log = createRedisLog({ url: redis.url, key, capacity: 10_000 })
  try {
    const ids = [first]
    // A long replay comes page by page (more()).
    for (let replay: Replay | undefined = await log.since(first); replay; replay = 'entries' in replay ? await replay.more?.() : undefined) {
      if ('reset' in replay) throw new Error(`${key}: ${first} is no longer in the log (${replay.reset})`)
      ids.push(...replay.entries.map((e) => e.id))
    }
    return ids
  } finally {
    log.close()
  }
}

/** Each tab's ids of a log are the log's own, from the tab's first id to its last: none lost, none twice. */
async function expectTheServersLog({ expect }: TestContext, redis: RedisServer, tabs: readonly Tab[], key: string, ids: (tab: Tab) => Promise<string[]>) {
  for (const tab of tabs) {
    const got = await ids(tab)
    expect(got.length, `tab ${tab.n} ${key}: events`).toBeGreaterThan(0)
    const log = await logFrom(redis, key, got[0]!)
    const differ = got.findIndex((id, i) => id !== log[i])
    expect(differ === -1 ? 'the same' : `#${differ}: ${got[differ]} where the log has ${log[differ]}`, `tab ${tab.n} ${key}`).toBe('the same')
  }
}

describe('two demo instances on one Redis behind a round-robin proxy', () => {
  it(`killing the instance the tabs use, ${ROUNDS} times: every tab resumes on the other with no gap and no duplicate`, async (test) => {
    const { expect } = test
    const { redis, demo, tabs } = await fresh(test)
    const three = await tabs.openMany(3)
    const resumed: number[] = []
    const texts: string[] = []

    for (let round = 1; round <= ROUNDS; round++) {
      // The instance that holds the (one, shared) quotes connection.
      const serving = await pollFor(async () => {
        const found = Object.entries(await clientsByInstance(demo)).find(([, clients]) => clients.quotes === 1)
        return found && Number(found[0])
      }, 'the instance serving the quotes', 10_000)
      const other = serving === 1 ? 2 : 1
      const before = await Promise.all(three.map(async (t) => (await deliveries(t, 'quotes')).ids.length))
      const after = (await admin(demo, `instances/${serving}/kill`)) as { n: number; up: boolean }[]
      // The route answers once the process exited: what the tabs get from now on, the survivor sent.
      const dead = Date.now()
      expect(after.find((i) => i.n === serving)?.up, `round ${round}: instance ${serving} down`).toBe(false)

      // Every stream now on the survivor, every tab receiving from it.
      await expect.poll(() => clientsByInstance(demo), { timeout: 10_000, message: `round ${round}` }).toEqual({ [other]: ONE_EACH })
      await expect
        .poll(async () => Promise.all(three.map(async (t, i) => (await deliveries(t, 'quotes')).ids.length - before[i]! >= MORE)), { timeout: 15_000 })
        .toEqual([true, true, true])
      for (const tab of three) {
        const { times } = await deliveries(tab, 'quotes')
        resumed.push(Math.round(times.find((time) => time > dead)! - dead))
      }
      // A chat message through the survivor reaches every tab once.
      const text = `round ${round}`
      texts.push(text)
      await sayIn(three[round % 3]!, text)

      // Back through the fault panel's button (it lists the instances behind the proxy).
      await three[round % 3]!.page.locator(`[data-action="start-instance"][data-instance="${serving}"]`).click()
      await expect.poll(() => demo.instances().every((i) => i.up), { timeout: 10_000, message: `round ${round}: instance ${serving} back` }).toBe(true)
    }

    console.info(`ms from a killed instance's exit to the next quote, per tab: ${resumed.join(', ')} (max ${Math.max(...resumed)})`)
    expect(demo.instances().map((i) => i.starts)).toEqual([1 + ROUNDS / 2, 1 + ROUNDS / 2])
    await expect
      .poll(async () =>
        Promise.all(
          three.map(async (t) => {
            const { chat } = await recordingOf(t)
            return texts.map((text) => chat.filter((m) => m.text === text).length)
          }),
        ),
      )
      .toEqual(three.map(() => texts.map(() => 1)))
    // Nothing lost, nothing twice, in each tab and on each endpoint: compared with the server's log in Redis.
    await expectTheServersLog(test, redis, three, 'tabwire-demo:quotes', async (t) => (await deliveries(t, 'quotes')).ids)
    await expectTheServersLog(test, redis, three, 'tabwire-demo:notifications', async (t) => (await deliveries(t, 'notifications')).ids)
    for (const channel of REALTIME) {
      await expectTheServersLog(test, redis, three, `tabwire-demo:realtime:${channel}`, async (t) => (await recordingOf(t)).realtime.ids[channel] ?? [])
    }
    for (const tab of three) {
      const rec = await recordingOf(tab)
      expect(rec.resets, `tab ${tab.n}: resets`).toEqual([])
      expect(rec.realtime.resets, `tab ${tab.n}: realtime resets`).toEqual([])
      // Each quote id of the tab was a move or live, never twice: 4 kills, one epoch.
      expect(new Set(rec.ids.quotes.map((id) => parseId(id).epoch)).size).toBe(1)
    }
    expect(tabs.errors()).toEqual([])
  }, 120_000)

  it('FLUSHALL: every tab gets a reset to the new epoch, then every event of it once', async (test) => {
    const { expect } = test
    const { redis, tabs } = await fresh(test)
    const three = await tabs.openMany(3)
    const before = await recordingOf(three[0]!)
    const old = { quotes: parseId(before.ids.quotes.at(-1)!).epoch, notifications: parseId(before.ids.notifications.at(-1)!).epoch }

    await redis.run('FLUSHALL')
    await expect
      .poll(async () => Promise.all(three.map(async (t) => (await recordingOf(t)).resets.map((r) => r.stream).sort())), { timeout: 15_000 })
      .toEqual(three.map(() => ['chat', 'notifications', 'quotes']))
    await expect
      .poll(async () => Promise.all(three.map(async (t) => [...new Set((await recordingOf(t)).realtime.resets.map((r) => r.channel))].sort())), { timeout: 15_000 })
      .toEqual(three.map(() => [...REALTIME].sort()))
    for (const tab of three) {
      const rec = await recordingOf(tab)
      for (const stream of SSE) {
        const reset = rec.resets.find((r) => r.stream === stream)!
        expect(reset.epoch, `tab ${tab.n} ${stream}`).not.toBe(old[stream])
        // Before the reset, the old epoch; after it, only the new one.
        const epochs = rec.ids[stream].map((id) => parseId(id).epoch)
        const cut = epochs.findIndex((e) => e === reset.epoch)
        expect(epochs.slice(cut).every((e) => e === reset.epoch), `tab ${tab.n} ${stream}: only the new epoch after the reset`).toBe(true)
      }
    }
    // The new epoch's events, each once, in every tab: the server's log again.
    await expect
      .poll(async () => Promise.all(three.map(async (t) => (await deliveries(t, 'quotes')).ids.filter((id) => parseId(id).epoch !== old.quotes).length >= MORE)), { timeout: 15_000 })
      .toEqual([true, true, true])
    await expectTheServersLog(test, redis, three, 'tabwire-demo:quotes', async (t) => (await deliveries(t, 'quotes')).ids.filter((id) => parseId(id).epoch !== old.quotes))
    expect(tabs.errors()).toEqual([])
  }, 60_000)
})
