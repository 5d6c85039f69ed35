/**
 * The component tests' helpers, on tabwire/testing alone (no hand-made stream harness): the
 * shared per-file kit (../testing/kit: MSW server, simulated tabs closed after each test, no
 * console.error), a notification page per simulated tab, and a recorded channel per tab.
 *
 * The mocks answer SSE chunked in Node, so the components' hooks run with the global
 * (MSW-patched) fetch as an app's do: no `testFetch` workaround.
 */
import { createNotificationCenter, type NotificationCenterOptions, type PageSource, type TabChannel } from '../../src/components/index'
import type { SimulatedTab } from '../../src/testing/index'
import { manualTimers } from '../react/harness'

export { server, setupKit } from '../testing/kit'

/**
 * The notification center's page (`PageSource`) for a simulated tab: visibility and leaving
 * (`pagehide`, freeze, close: the center says goodbye) are the tab's own; focus, which the
 * simulator does not model, is set by the test with `focus(true | false)`.
 */
export function tabPage(tab: SimulatedTab, focused = false): PageSource & { focus(value: boolean): void } {
  let gone = false
  const listeners = new Set<() => void>()
  return {
    visible: () => tab.env.page.visible(),
    focused: () => focused && tab.env.page.visible(),
    gone: () => gone,
    subscribe(listener) {
      listeners.add(listener)
      const off = tab.env.page.subscribe((event) => {
        if (event === 'leave') gone = true
        if (event === 'return') gone = false
        listener()
      })
      return () => {
        listeners.delete(listener)
        off()
      }
    },
    focus(value) {
      focused = value
      for (const listener of [...listeners]) listener()
    },
  }
}

/**
 * Records what the notification centers post on their tabs' BroadcastChannels (the
 * simulator's, `tab.channel(name)`, which deliver as a browser does) and how many are open.
 */
export function wire() {
  const posted: { tab: string; data: unknown }[] = []
  let open = 0
  /** The center's `channel` option for `tab`: the tab's own BroadcastChannel, recorded. */
  const channel =
    (tab: SimulatedTab) =>
    (name: string): TabChannel => {
      const inner = tab.channel(name)
      open++
      return {
        postMessage(data) {
          inner.postMessage(data)
          posted.push({ tab: tab.id, data })
        },
        addEventListener: (type, listener) => inner.addEventListener(type, listener as (event: MessageEvent) => void),
        close() {
          open--
          inner.close()
        },
      }
    }
  return {
    posted,
    channel,
    get openChannels() {
      return open
    },
  }
}
export type Wire = ReturnType<typeof wire>

/** What a test sets of a tab's page: visibility (`show`/`hide`), focus, and the back/forward cache (`pagehide`/`pageshow`). */
export interface PageChange {
  visible?: boolean
  focused?: boolean
  gone?: boolean
}

/**
 * A simulated tab running a started notification center (no React): the center talks on the
 * tab's BroadcastChannel and follows the tab's page; its toast clocks and its clock are the
 * test's. `set` changes the page as a user would.
 */
export function centerTab<T = unknown>(tab: SimulatedTab, page: { visible: boolean; focused: boolean }, extra: NotificationCenterOptions<T> = {}, recorded: Wire = wire()) {
  const timers = manualTimers()
  const clock = { time: 1_000_000 }
  if (!page.visible) tab.hide()
  const pageSource = tabPage(tab, page.focused)
  const center = createNotificationCenter<T>({ channel: recorded.channel(tab), locks: tab.locks, page: pageSource, timers, now: () => clock.time, tabId: tab.id, ...extra })
  center.start()
  return {
    id: tab.id,
    tab,
    center,
    timers,
    clock,
    wire: recorded,
    toasts: () => center.getSnapshot().toasts.map((t) => t.id),
    inbox: () => center.getSnapshot().items.map((i) => i.id),
    /** Changes the page: `gone` goes into (true) or back from (false) the back/forward cache. */
    async set(change: PageChange) {
      if (change.gone === true) await tab.pagehide()
      if (change.gone === false) tab.pageshow()
      if (change.visible === true) tab.show()
      if (change.visible === false) tab.hide()
      if (change.focused !== undefined) pageSource.focus(change.focused)
    },
  }
}
