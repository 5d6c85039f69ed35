/**
 * The three browser measurements of bench/realtime.ts: server connections for many tabs, the
 * fallback to SSE and the move back, and losses across leader changes and transport moves.
 */
import type { Browser } from 'playwright-core'
import { type ChannelCheck, checkChannel, subsetOf } from './realtime-lib.ts'
import type { PageRecord } from './realtime-page.ts'
import type { BenchServer } from './realtime-server.ts'
import { allPast, deliveredOver, log, openTab, readRecord, sleep, summary, type Tab, until } from './realtime-tabs.ts'

const heads = (server: BenchServer, channels: readonly string[]) => Object.fromEntries(channels.map((c) => [c, server.head(c)]))

async function closeContext(tabs: Tab[], context: { close(): Promise<void> }, server: BenchServer, problems: string[]) {
  for (const t of tabs) problems.push(...t.problems)
  await context.close()
  await until(() => (server.stats().clients.websocket + server.stats().clients.sse === 0 ? true : undefined), 5000, 'the connections to close').catch((e: Error) => log(e.message))
}

// --- 1. connections

export interface ConnectionsResult {
  share: 'tabs' | 'tab'
  tabs: number
  /** Tabs that delivered events on all their channels. */
  flowing: number
  websocket: number
  sse: number
  maxConnections: number
  upgrades: number
  /** Channels with a live subscription at the server, and subscriptions in all. */
  channels: number
  subscriptions: number
  maxSubscriptions: number
  union: number
  transports: string[]
}

export async function measureConnections(browser: Browser, server: BenchServer, share: 'tabs' | 'tab', count: number, problems: string[]): Promise<ConnectionsResult> {
  server.resetCounters()
  const context = await browser.newContext()
  const tabs: Tab[] = []
  try {
    for (let n = 0; n < count; n++) tabs.push(await openTab(context, server.url, n, subsetOf(n), share === 'tab' ? { share: 'tab' } : {}))
    const start = heads(server, tabs.flatMap((t) => t.channels))
    await until(() => allPast(tabs, start), 20_000, 'events on every channel of every tab').catch((e: Error) => log(e.message))
    await sleep(1000)
    const stats = server.stats()
    const summaries = await Promise.all(tabs.map(summary))
    const after = heads(server, tabs.flatMap((t) => t.channels))
    const union = new Set(tabs.flatMap((t) => t.channels))
    const live = Object.values(stats.subscriptions)
    return {
      share,
      tabs: count,
      flowing: summaries.filter((s, i) => tabs[i]!.channels.every((c) => (s.last[c]?.seq ?? -1) >= (start[c] ?? 0) && (s.last[c]?.seq ?? -1) > (after[c] ?? 0) - 20)).length,
      websocket: stats.clients.websocket,
      sse: stats.clients.sse,
      maxConnections: stats.maxConnections,
      upgrades: stats.upgradesAccepted,
      channels: live.filter((n) => n > 0).length,
      subscriptions: live.reduce((a, b) => a + b, 0),
      maxSubscriptions: stats.maxSubscriptions,
      union: union.size,
      transports: [...new Set(summaries.map((s) => `${s.status}/${s.transport ?? '-'}`))],
    }
  } finally {
    await closeContext(tabs, context, server, problems)
  }
}

// --- 2. fallback and move back

export interface FallbackRun {
  /** Page load → transport 'sse' / → the first event over it (ms); WebSocket blocked from the start. */
  loadState: number
  load: number
  /** Block + cut of the open WebSocket → 'sse' / → first event over it (ms). */
  dropState: number
  drop: number
  /** With `fallback.probe` 500: unblock → 'websocket' / → first event over it (ms), and upgrades refused while blocked (failed probes and attempts). */
  backState: number
  back: number
  refused: number
  /** Lost + duplicated + out of order in the drop runs' tab. */
  faults: number
}

/** Far above the 3 s goal: past it the run counts as timed out. */
const FALLBACK_TIMEOUT = 10_000

export async function measureFallback(browser: Browser, server: BenchServer, run: number, problems: string[]): Promise<FallbackRun> {
  const channels = subsetOf(run)
  const result: FallbackRun = { loadState: NaN, load: NaN, dropState: NaN, drop: NaN, backState: NaN, back: NaN, refused: 0, faults: 0 }
  const faults = (record: PageRecord, toEnd: boolean) =>
    channels.map((c) => checkChannel(record.msgs[c] ?? [], server.entries(c), toEnd)).reduce((a, c) => a + c.lost + c.duplicated + c.outOfOrder + c.corrupt, 0)
  const session = async (query: Record<string, string>, body: (tab: Tab) => Promise<void>) => {
    const context = await browser.newContext()
    const tabs: Tab[] = []
    try {
      tabs.push(await openTab(context, server.url, run, channels, query))
      await body(tabs[0]!)
    } catch (error) {
      log(`fallback run ${run + 1}: ${(error as Error).message}`)
    } finally {
      server.blockWebSockets(false)
      await closeContext(tabs, context, server, problems)
    }
  }
  const flowingOnWs = (tab: Tab) => until(() => deliveredOver(tab, 'websocket', 0), FALLBACK_TIMEOUT, 'events over a WebSocket')
  const blockAndDrop = () => {
    const at = Date.now()
    server.blockWebSockets(true)
    server.dropWebSockets()
    return at
  }

  // a. WebSocket blocked from page load, default options.
  server.blockWebSockets(true)
  await session({}, async (tab) => {
    const origin = await tab.page.evaluate(() => performance.timeOrigin)
    const got = await until(() => deliveredOver(tab, 'sse', 0), FALLBACK_TIMEOUT, 'events over SSE after load')
    result.loadState = got.stateAt - origin
    result.load = got.at - origin
  })
  // b. Open on WebSocket, then blocked and cut, default options.
  await session({}, async (tab) => {
    await flowingOnWs(tab)
    const at = blockAndDrop()
    const got = await until(() => deliveredOver(tab, 'sse', at), FALLBACK_TIMEOUT, 'events over SSE after the cut')
    result.dropState = got.stateAt - at
    result.drop = got.at - at
    await sleep(300)
    result.faults += faults(await readRecord(tab), false)
  })
  // c. The same with fallback.probe 500, then unblocked: the move back.
  await session({ probe: '500' }, async (tab) => {
    await flowingOnWs(tab)
    const before = server.stats().upgradesRefused
    const cut = blockAndDrop()
    await until(() => deliveredOver(tab, 'sse', cut), FALLBACK_TIMEOUT, 'events over SSE after the cut')
    await sleep(1000)
    result.refused = server.stats().upgradesRefused - before
    const at = Date.now()
    server.blockWebSockets(false)
    const got = await until(() => deliveredOver(tab, 'websocket', at), FALLBACK_TIMEOUT * 3, 'events over a WebSocket after unblocking')
    result.backState = got.stateAt - at
    result.back = got.at - at
    await sleep(300)
    result.faults += faults(await readRecord(tab), false)
  })
  return result
}

// --- 3. losses across leader changes and transport moves

export interface ChurnResult {
  /** Per channel: tabs that held it, and their checks summed. */
  perChannel: Map<string, { tabs: number; check: ChannelCheck }>
  leaderChanges: number
  /** Leader close → every open tab delivered a newer event on each channel (ms). */
  leaderRecovery: number[]
  switches: number
  /** Block + cut → every tab on SSE with newer events; unblock → every tab on WebSocket with newer events (ms). */
  toSse: number[]
  toWs: number[]
  /** Anything that did not go as planned (no leader found, timeouts). */
  incidents: string[]
  resets: string[]
  errors: string[]
  tabsOpened: number
  seconds: number
}

export async function measureChurn(browser: Browser, server: BenchServer, count: number, leaderChanges: number, switches: number, problems: string[]): Promise<ChurnResult> {
  const started = Date.now()
  const context = await browser.newContext()
  const tabs: Tab[] = []
  const records = new Map<Tab, PageRecord>()
  const result: ChurnResult = { perChannel: new Map(), leaderChanges: 0, leaderRecovery: [], switches: 0, toSse: [], toWs: [], incidents: [], resets: [], errors: [], tabsOpened: 0, seconds: 0 }
  const open = () => tabs.filter((t) => !t.closed)
  const channelsNow = () => [...new Set(open().flatMap((t) => t.channels))]
  const query = { probe: '500' }
  const wait = async (what: string, transport?: string) => {
    const from = Date.now()
    const h = heads(server, channelsNow())
    return until(() => allPast(open(), h, transport), 20_000, what, 50).then(
      () => Date.now() - from,
      (e: Error) => (result.incidents.push(e.message), NaN),
    )
  }
  try {
    for (let n = 0; n < count; n++) tabs.push(await openTab(context, server.url, n, subsetOf(n), query))
    await wait('events on every tab at the start')
    const total = leaderChanges + switches
    for (let i = 0; i < total; i++) {
      const isSwitch = Math.floor(((i + 1) * switches) / total) > Math.floor((i * switches) / total)
      if (isSwitch) {
        log(`  switch ${result.switches + 1}/${switches}`)
        const cut = Date.now()
        server.blockWebSockets(true)
        server.dropWebSockets()
        const toSse = await wait(`every tab on SSE (switch ${result.switches + 1})`, 'sse')
        result.toSse.push(Number.isNaN(toSse) ? NaN : Date.now() - cut)
        await sleep(500)
        const at = Date.now()
        server.blockWebSockets(false)
        const toWs = await wait(`every tab back on WebSocket (switch ${result.switches + 1})`, 'websocket')
        result.toWs.push(Number.isNaN(toWs) ? NaN : Date.now() - at)
        result.switches++
        if (Number.isNaN(toWs) && (await wait('events on every tab, on any transport').then(Number.isNaN))) {
          result.incidents.push(`stopped after switch ${result.switches}: the tabs did not get events again within 20 s of unblocking WebSockets`)
          break
        }
        continue
      }
      log(`  leader change ${result.leaderChanges + 1}/${leaderChanges}`)
      const summaries = await Promise.all(open().map(async (t) => [t, await summary(t)] as const))
      const leaders = summaries.filter(([, s]) => s.leading)
      if (leaders.length !== 1) result.incidents.push(`before leader change ${result.leaderChanges + 1}: ${leaders.length} tabs lead`)
      const leader = leaders[0]?.[0] ?? open()[0]!
      records.set(leader, await readRecord(leader))
      const at = Date.now()
      leader.closed = true
      await leader.page.close()
      tabs.push(await openTab(context, server.url, tabs.length, subsetOf(tabs.length), query))
      const recovered = await wait(`events on every tab after leader change ${result.leaderChanges + 1}`)
      result.leaderRecovery.push(Number.isNaN(recovered) ? NaN : Date.now() - at)
      result.leaderChanges++
    }
    // Stop the stream and let every tab catch up with the log's end.
    server.stopTicking()
    await until(
      async () => {
        for (const t of open()) {
          const s = await summary(t)
          if (t.channels.some((c) => s.last[c]?.seq !== server.head(c))) return undefined
        }
        return true
      },
      10_000,
      'every tab to reach the end of the logs',
    ).catch((e: Error) => result.incidents.push(e.message))
    for (const t of open()) records.set(t, await readRecord(t))
    for (const [tab, record] of records) {
      result.resets.push(...record.resets.map((r) => `tab ${tab.n}: ${r}`))
      result.errors.push(...record.errors.map((e) => `tab ${tab.n}: ${e}`))
      for (const c of tab.channels) {
        const check = checkChannel(record.msgs[c] ?? [], server.entries(c), !tab.closed)
        const entry = result.perChannel.get(c) ?? { tabs: 0, check: { delivered: 0, lost: 0, duplicated: 0, outOfOrder: 0, corrupt: 0, snapshots: 0 } }
        entry.tabs++
        for (const k of Object.keys(check) as (keyof ChannelCheck)[]) entry.check[k] += check[k]
        result.perChannel.set(c, entry)
      }
    }
    result.tabsOpened = tabs.length
    return result
  } finally {
    result.seconds = (Date.now() - started) / 1000
    await closeContext(tabs, context, server, problems)
  }
}
