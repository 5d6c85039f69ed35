import { misuse } from '../core/errors'
import { createRealtime } from '../core/realtime/client'
import type { RealtimeClient, RealtimeOptions } from '../core/realtime/client-types'
import type { Registry } from '../core/registry'
import type { Timers } from '../core/runtime'
import type { TabShareInjectables } from '../core/tabs/types'
import { createSimulatedChannels, type SimulatedBroadcastChannel } from './tabs-channels'
import { createTabEnv, type TabControls } from './tabs-env'
import { type Macrotask, messageChannelTask } from './tabs-loop'
import { createSimulatedLocks, type SimulatedLockManager } from './tabs-locks'
import { tabWrapper, type TabWrapper } from './tabs-react'

export type { SimulatedBroadcastChannel } from './tabs-channels'
export type { SimulatedLockManager } from './tabs-locks'
export type { TabWrapper } from './tabs-react'
export type { TabControls } from './tabs-env'

/**
 * Where a simulated tab is: `visible` or `hidden` (running); `frozen` (Page Lifecycle
 * freeze: no tasks, no timers); `bfcache` (kept in the back/forward cache after `pagehide`);
 * `closed` or `crashed` (gone for good).
 */
export type TabState = 'visible' | 'hidden' | 'frozen' | 'bfcache' | 'closed' | 'crashed'

/** Options of {@link createTabs}. */
export interface CreateTabsOptions {
  /**
   * Gives each tab a realtime client (`createRealtime` with these options, on the tab's
   * locks, channels, timers and page), provided to `useRealtime` by the tab's `wrapper`.
   * @defaultValue none (no `RealtimeProvider` in the wrapper)
   * @example createTabs(3, { realtime: { url: 'ws://localhost/realtime' } })
   */
  realtime?: RealtimeOptions
  /**
   * How long (ms) a connection nobody in a tab holds stays open in that tab's registry.
   * @defaultValue 1000 (the library's default)
   */
  linger?: number
  /**
   * Runs a task later (lock grants, channel messages): every tab's tasks go through it.
   * @defaultValue a MessageChannel task (fake timers do not hold it back)
   */
  task?: Macrotask
  /** The tabs' clock. @defaultValue () => Date.now() (read at every call, so fake timers apply) */
  now?: () => number
}

/** One simulated browser tab: its own registry, locks, channels, timers and page lifecycle. */
export interface SimulatedTab extends TabControls {
  /** `tab-1`, `tab-2`…: the `clientId` its locks show in `query()`. */
  readonly id: string
  readonly state: TabState
  /** Where this tab's hooks keep their connections; it carries the tab's environment (`tab`). */
  readonly registry: Registry
  /** What this tab's cross-tab layer runs on (pass it as `share` to `createRealtime` or `shareAcrossTabs`). */
  readonly env: Required<Pick<TabShareInjectables, 'locks' | 'channel' | 'timers' | 'now' | 'page' | 'scheduleFrame'>>
  /** This tab's `navigator.locks`. */
  readonly locks: SimulatedLockManager
  /** This tab's timers: paused while frozen, stopped once closed or crashed. */
  readonly timers: Timers
  /** The tab's realtime client (with the `realtime` option). */
  readonly realtime: RealtimeClient | undefined
  /** Renders a tree in this tab: its registry (and realtime client) for the hooks; nothing once the tab is gone. */
  readonly wrapper: TabWrapper
  /** `new BroadcastChannel(name)` in this tab. */
  channel(name: string): SimulatedBroadcastChannel
}

/** The tabs of one {@link createTabs}: an array (index 0 is `tab-1`) with the browser's controls. */
export interface SimulatedTabs extends ReadonlyArray<SimulatedTab> {
  /** Opens one more tab (a late tab), visible. */
  open(): SimulatedTab
  /** The tabs not closed or crashed. */
  live(): SimulatedTab[]
  /** The tab holding each shared stream's leader lock (`shareAcrossTabs`), with the lock's name. */
  leaders(): Promise<{ lock: string; tab: SimulatedTab }[]>
  /** The leader of the one shared stream (throws when several are shared: use `leaders()`). */
  leader(): Promise<SimulatedTab | undefined>
  /** Resolves once no tab has a task (lock grant, channel message) waiting; network and timers are not waited for. */
  settle(): Promise<void>
  /** Closes every tab still open, like quitting the browser (for a test's cleanup). */
  closeAll(): void
}

/** The name of a `shareAcrossTabs` leader lock: `namespace:v<protocol>:<hash>`. */
const STREAM_LOCK = /:v\d+:[^:]+$/

/**
 * Simulated browser tabs of one origin for jsdom, Node and Vitest browser mode: each has a
 * registry of its own and meets the others only through an in-memory Web Locks manager and
 * BroadcastChannel (grants and messages arrive in a later task, messages are
 * structured-cloned), as real tabs do. The library's real cross-tab layer runs on them, so
 * an app's test can render its unchanged components in three tabs, close or crash the
 * leader, and assert what each shows.
 * @param count - how many tabs to open now (more later with `open()`).
 * @example
 * const tabs = createTabs(3)
 * const views = tabs.map((tab) => render(<Ticker />, { wrapper: tab.wrapper }))
 * ;(await tabs.leader())!.close()
 * await waitFor(() => expect(views[1].getByRole('status')).toHaveTextContent('ACME 12.5'))
 */
export function createTabs(count: number, options: CreateTabsOptions = {}): SimulatedTabs {
  if (!Number.isInteger(count) || count < 0) throw misuse('createTabs', 'count', 'expected a whole number of tabs, 0 or more')
  const locks = createSimulatedLocks()
  const channels = createSimulatedChannels()
  const now = options.now ?? (() => Date.now())
  let outstanding = 0
  const idle: (() => void)[] = []
  const base = options.task ?? messageChannelTask()
  // Counts the simulation's tasks, so `settle()` knows when none is left.
  const task: Macrotask = (run) => {
    outstanding++
    base(() => {
      try {
        run()
      } finally {
        if (--outstanding === 0) for (const resolve of idle.splice(0)) resolve()
      }
    })
  }
  const tabs: SimulatedTab[] = []

  const open = (): SimulatedTab => {
    const env = createTabEnv(`tab-${tabs.length + 1}`, { locks, channels, task, now, linger: options.linger })
    const realtime = options.realtime && createRealtime({ timers: env.loop.timers, scheduleFrame: env.loop.scheduleFrame, ...options.realtime, share: realtimeShare(options.realtime.share, env.share) })
    if (realtime) env.onDeath(() => realtime.close())
    const tab: SimulatedTab = {
      ...env.controls,
      id: env.id,
      get state() {
        return env.controls.getState()
      },
      registry: env.registry,
      env: env.share,
      locks: env.share.locks,
      timers: env.loop.timers,
      realtime,
      wrapper: undefined as unknown as TabWrapper,
      channel: (name) => env.share.channel(name) as SimulatedBroadcastChannel,
    }
    ;(tab as { wrapper: TabWrapper }).wrapper = tabWrapper(tab)
    tabs.push(tab)
    return tab
  }

  const leaders = async () => {
    // As a tab's query(): the answer comes in a later turn.
    await Promise.resolve()
    const { held = [] } = locks.snapshot()
    return held.flatMap((l) => {
      const tab = tabs.find((t) => t.id === l.clientId)
      return tab && l.name && STREAM_LOCK.test(l.name) ? [{ lock: l.name, tab }] : []
    })
  }
  for (let i = 0; i < count; i++) open()
  return Object.assign(tabs, {
    open,
    live: () => tabs.filter((t) => t.state !== 'closed' && t.state !== 'crashed'),
    leaders,
    async leader() {
      const all = await leaders()
      if (all.length > 1) throw misuse('tabs.leader', 'streams', `${all.length} streams are shared; use tabs.leaders()`)
      return all[0]?.tab
    },
    async settle() {
      for (;;) {
        if (outstanding > 0) await new Promise<void>((resolve) => idle.push(resolve))
        // One more turn: what the last task's promises queued counts too.
        await new Promise<void>((resolve) => base(resolve))
        if (outstanding === 0) return
      }
    },
    closeAll() {
      for (const tab of tabs) tab.close()
    },
  }) as SimulatedTabs
}

/** A realtime client's share mode in a tab: `'tabs'` (or options) on the tab's environment; `'tab'` and `false` as they are. */
function realtimeShare(share: RealtimeOptions['share'], env: TabShareInjectables): RealtimeOptions['share'] {
  if (share === 'tab' || share === false) return share
  return { ...(typeof share === 'object' ? share : {}), ...env }
}
