import { misuse } from '../core/errors'
import { createRegistry, type Registry } from '../core/registry'
import type { PageEvents, TabShareInjectables } from '../core/tabs/types'
import type { TabState } from './simulator'
import type { SimulatedChannels } from './tabs-channels'
import { createLoop, type Macrotask, type TabLoop } from './tabs-loop'
import type { SimulatedLocks } from './tabs-locks'

type PageEvent = Parameters<Parameters<PageEvents['subscribe']>[0]>[0]

/** The browser-side controls of a tab (see `SimulatedTab`). */
export interface TabControls {
  /** The user switched away (`visibilitychange`). */
  hide(): void
  /** The user switched to it (`visibilitychange`); a frozen or cached tab comes back first. */
  show(): void
  /** Page Lifecycle `freeze` (hidden first, as a browser does): its tasks and timers wait. */
  freeze(): void
  /** Page Lifecycle `resume`: what waited runs. */
  resume(): void
  /**
   * Navigates away into the back/forward cache (`pagehide` with `persisted`, hidden, frozen)
   * at once. Resolves (once the `pagehide` listeners' promises settled) to what would keep
   * a real browser from caching the page: `'web-locks'` (a lock held or requested),
   * `'broadcast-channel'` (one open); empty when it could be cached.
   */
  pagehide(): Promise<('web-locks' | 'broadcast-channel')[]>
  /** Back from the back/forward cache (`pageshow`, visible). */
  pageshow(): void
  /** Closes the tab: `pagehide` runs (goodbyes go out), then its locks, channels, timers and connections go. */
  close(): void
  /** The tab's renderer dies: locks released, channels gone with no goodbye, timers stopped, connections cut. Its lock manager and channels never answer it again, as a dead renderer runs nothing; its controls throw. */
  crash(): void
  /** The observable contract: `getState()` changes are told to `subscribe`'s listeners. */
  subscribe(listener: () => void): () => void
  getState(): TabState
}

/** What the simulation shares between its tabs. */
export interface TabWorld {
  locks: SimulatedLocks
  channels: SimulatedChannels
  task: Macrotask
  now: () => number
  linger: number | undefined
}

/**
 * One simulated tab's environment: its event loop, the injectables of the cross-tab layer
 * (locks, channels, timers, page…) on it, a registry that carries them, and the controls a
 * browser has over a tab. `onDeath` runs when it closes or crashes.
 */
export function createTabEnv(id: string, world: TabWorld) {
  const loop: TabLoop = createLoop(world.task, world.now)
  let state: TabState = 'visible'
  const pageListeners = new Set<(event: PageEvent) => void>()
  const stateListeners = new Set<() => void>()
  const deaths: (() => void)[] = []
  /** Every value this tab's registry made: a dead tab's connections are cut, as the browser cuts a dead page's sockets. */
  const made = new Set<{ close(): void }>()

  const page: PageEvents = {
    visible: () => state === 'visible',
    subscribe: (listener) => (pageListeners.add(listener), () => void pageListeners.delete(listener)),
  }
  const emit = (event: PageEvent) => {
    for (const listener of [...pageListeners]) listener(event)
  }
  /** `quiet`: the page no longer runs, so it hears nothing of it. */
  const set = (next: TabState, quiet?: boolean) => {
    if (next === state) return
    const wasVisible = state === 'visible'
    state = next
    loop.setVisible(next === 'visible')
    if (!quiet && wasVisible !== (next === 'visible')) emit('visibility')
    for (const listener of [...stateListeners]) listener()
  }
  const alive = (what: string) => {
    if (state === 'closed' || state === 'crashed') throw misuse(`tab.${what}`, 'state', `${id} is ${state}; open another with tabs.open()`)
  }

  const share = {
    locks: world.locks.client(id, loop),
    channel: (name: string) => world.channels.open(id, loop, name),
    timers: loop.timers,
    now: world.now,
    page,
    scheduleFrame: loop.scheduleFrame,
  } satisfies TabShareInjectables
  const inner = createRegistry({ timers: loop.timers, linger: world.linger })
  const registry: Registry = {
    acquire(key, create) {
      return inner.acquire(key, () => {
        const value = create()
        made.add(value)
        return value
      })
    },
    peek: (key) => inner.peek(key),
    tab: share,
  }

  /** Gone for good: nothing of it runs or is heard again. */
  const die = (how: 'closed' | 'crashed') => {
    world.channels.drop(id)
    world.locks.drop(id)
    loop.kill()
    set(how, true)
    for (const value of [...made]) value.close()
    for (const death of deaths) death()
  }

  const controls: TabControls = {
    hide() {
      alive('hide')
      if (state === 'visible') set('hidden')
    },
    show() {
      alive('show')
      if (state === 'frozen') controls.resume()
      if (state === 'bfcache') controls.pageshow()
      set('visible')
    },
    freeze() {
      alive('freeze')
      if (state !== 'visible' && state !== 'hidden') return
      set('hidden')
      // The `freeze` event runs while the tab still runs; then its tasks and timers wait.
      emit('leave')
      loop.freeze()
      set('frozen')
    },
    resume() {
      alive('resume')
      if (state !== 'frozen') return
      loop.resume()
      set('hidden')
      emit('return')
    },
    async pagehide() {
      alive('pagehide')
      if (state === 'frozen') controls.resume()
      if (state === 'bfcache') return []
      emit('leave')
      set('hidden')
      loop.freeze()
      set('bfcache')
      // A browser decides after the listeners' promises settled (a lock is let go that way).
      await new Promise<void>((resolve) => world.task(resolve))
      const { held = [], pending = [] } = world.locks.snapshot()
      const blockers: ('web-locks' | 'broadcast-channel')[] = []
      if ([...held, ...pending].some((l) => l.clientId === id)) blockers.push('web-locks')
      if (world.channels.count(id) > 0) blockers.push('broadcast-channel')
      return blockers
    },
    pageshow() {
      alive('pageshow')
      if (state !== 'bfcache') return
      loop.resume()
      set('hidden')
      emit('return')
      set('visible')
    },
    close() {
      if (state === 'closed' || state === 'crashed') return
      // A page that runs says goodbye (`pagehide`, then hidden, as when it is unloaded); a
      // frozen or cached one is discarded silently.
      if (state === 'visible' || state === 'hidden') emit('leave'), set('hidden')
      die('closed')
    },
    crash() {
      if (state === 'closed' || state === 'crashed') return
      die('crashed')
    },
    subscribe: (listener) => (stateListeners.add(listener), () => void stateListeners.delete(listener)),
    getState: () => state,
  }

  return { id, loop, share, registry, controls, onDeath: (run: () => void) => void deaths.push(run) }
}
