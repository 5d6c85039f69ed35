/**
 * Simulated tabs for the notification center: an in-memory BroadcastChannel hub (messages
 * are cloned and delivered to every other channel of the same name when the test flushes,
 * as a browser delivers them in a later task, never to the sender), and a page whose
 * visibility and focus the test sets.
 */
import type { NotificationCenterOptions, PageSource, TabChannel } from '../../src/components/index'
import { createNotificationCenter } from '../../src/components/index'
import { manualTimers } from '../react/harness'

export function channelHub() {
  const open = new Set<{ name: string; listeners: ((event: { data: unknown }) => void)[]; closed: boolean }>()
  const queue: { from: object; name: string; data: unknown }[] = []
  /** Every message posted, in order (for assertions on what went out). */
  const posted: { name: string; data: unknown }[] = []
  const factory = (name: string): TabChannel => {
    const self = { name, listeners: [] as ((event: { data: unknown }) => void)[], closed: false }
    open.add(self)
    return {
      postMessage(data) {
        if (self.closed) throw new DOMException('closed', 'InvalidStateError')
        posted.push({ name, data })
        queue.push({ from: self, name, data: structuredClone(data) })
      },
      addEventListener: (_type, listener) => void self.listeners.push(listener),
      close() {
        self.closed = true
        open.delete(self)
      },
    }
  }
  return {
    factory,
    posted,
    /** Sends a message as a stranger on the channel (another app, an attacker, an old version). */
    inject(name: string, data: unknown) {
      queue.push({ from: {}, name, data })
    },
    /** Delivers everything posted, and what that makes tabs post, until nothing is left. */
    flush() {
      for (let guard = 0; queue.length; guard++) {
        if (guard > 10_000) throw new Error('tabs keep talking')
        const { from, name, data } = queue.shift()!
        for (const c of [...open]) if (c !== from && c.name === name) for (const l of c.listeners) l({ data: structuredClone(data) })
      }
    },
    get openChannels() {
      return open.size
    },
  }
}

export type Hub = ReturnType<typeof channelHub>

/** A page the test drives: `set` changes it and tells the subscribers. */
export function testPage(initial: { visible: boolean; focused: boolean; gone?: boolean }) {
  let state = { gone: false, ...initial }
  const listeners = new Set<() => void>()
  const page: PageSource & { set(next: Partial<typeof initial>): void } = {
    visible: () => state.visible,
    focused: () => state.focused,
    gone: () => state.gone,
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    set(next) {
      state = { ...state, ...next }
      for (const l of [...listeners]) l()
    },
  }
  return page
}

/** A tab: its own center, page, timers and clock, on the shared hub. Started. */
export function simulatedTab<T = unknown>(hub: Hub, tabId: string, page = { visible: false, focused: false }, extra: NotificationCenterOptions<T> = {}) {
  const timers = manualTimers()
  const clock = { time: 1_000_000 }
  const testPageSource = testPage(page)
  const center = createNotificationCenter<T>({ channel: hub.factory, page: testPageSource, timers, now: () => clock.time, tabId, ...extra })
  center.start()
  return { id: tabId, center, page: testPageSource, timers, clock, toasts: () => center.getSnapshot().toasts.map((t) => t.id), inbox: () => center.getSnapshot().items.map((i) => i.id) }
}
