import type { Timers } from '../core/index'
import { RealtimeError } from '../index'
import { type InboxItem, MAX_IDS, type NotificationInput, readTabMessage, type TabMessage, toItem, WIRE_VERSION } from './notification-wire'
import { boundedSet, emit, globalTimers } from './runtime'
import { createTabPresence, documentPage, type PageSource } from './tab-presence'
import { createToasts, type Toast, type ToastPauseReason } from './toasts'

/** What the center needs of a BroadcastChannel (inject one in tests). */
export interface TabChannel {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void
  close(): void
}

/** Options of {@link createNotificationCenter} and `useNotificationCenter`. */
export interface NotificationCenterOptions<T> {
  /**
   * Turns a message's data into a notification (`null` to skip it). A result without an
   * `id` takes the message's event id (an SSE `id:`, a channel event's id), so
   * notifications are taken once across reconnects without an id in the payload. A throw,
   * or a result that is not a valid notification, is a `parse` error in the snapshot; the
   * center goes on.
   * @defaultValue the data itself, as a {@link NotificationInput}
   * @example { read: (m: Alert) => ({ id: m.uuid, title: m.subject, severity: m.level }) }
   * @example { read: (m: Alert) => ({ title: m.subject }) } // the event id is the notification's id
   */
  read?: (data: T, message: { readonly data: T; readonly id?: string | undefined }) => Omit<NotificationInput, 'id'> & { id?: string } | null | undefined
  /**
   * Names the center: tabs with the same namespace and name share read state and choose one
   * toasting tab. Use one per stream of notifications.
   * @defaultValue 'notifications'
   * @example { name: 'alerts' }
   */
  name?: string
  /** Keeps two apps on one origin apart. @defaultValue 'tabwire' @example { namespace: 'admin' } */
  namespace?: string
  /**
   * How long (ms) a toast stays while not paused; `Infinity` until dismissed.
   * @defaultValue 5000
   * @example { duration: (n) => (n.severity === 'error' ? Infinity : 5000) }
   */
  duration?: number | ((item: InboxItem) => number)
  /** The inbox keeps the newest this many. @defaultValue 100 @example { maxItems: 20 } */
  maxItems?: number
  /** At most this many toasts at once (the oldest goes). @defaultValue 3 @example { maxToasts: 1 } */
  maxToasts?: number
  /**
   * Opens the channel the tabs talk on; `null` for a center of this tab alone.
   * @defaultValue `new BroadcastChannel(name)` where it exists, else null
   * @example { channel: null } // every tab toasts, nothing is shared
   */
  channel?: ((name: string) => TabChannel) | null
  /**
   * Where visibility and focus come from.
   * @defaultValue the document's (see `documentPage`)
   * @example { page: { visible: () => true, focused: () => true, subscribe: () => () => {} } }
   */
  page?: PageSource
  /** Injectable timers (the toasts' clocks). @defaultValue globalThis timers @example { timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout } } */
  timers?: Timers
  /** Injectable clock (ms). @defaultValue Date.now @example { now: () => performance.timeOrigin + performance.now() } */
  now?: () => number
  /** This tab's id on the channel. @defaultValue a random UUID @example { tabId: 'tab-1' } */
  tabId?: string
  /**
   * Where each tab holds a lock while its center runs, so the others can tell a tab that
   * crashed (no goodbye) from one that lives: a notification that a dead tab would have
   * toasted toasts in the next tab. `null`: no such check.
   * @defaultValue navigator.locks where it exists
   * @example { locks: null }
   */
  locks?: Pick<LockManager, 'request' | 'query'> | null
}

/** What the center shows. Immutable; keeps its identity until something changes. */
export interface NotificationCenterSnapshot {
  /** The inbox, newest first: the same in every tab. */
  readonly items: readonly InboxItem[]
  readonly unread: number
  /** This tab's toasts, newest first (only the toasting tab gets them). */
  readonly toasts: readonly Toast<InboxItem>[]
  /** The newest toast ever added (for the live region; kept after it is dismissed). */
  readonly announcement: Toast<InboxItem> | null
  /** The last message that was not a notification; cleared by the next good one. */
  readonly error: RealtimeError | null
}

/** A framework-free notification center for one tab, which talks to the same center in the other tabs. */
export interface NotificationCenter<T> {
  subscribe(listener: () => void): () => void
  getSnapshot(): NotificationCenterSnapshot
  /** Takes one message; pass it as a hook's `onMessage` (one identity for the center's life). */
  onMessage(message: { readonly data: T; readonly id?: string | undefined }): void
  /** Marks notifications read, in every tab. */
  markRead(ids: string | readonly string[]): void
  markAllRead(): void
  /** Takes a toast away (in this tab; the inbox keeps the notification). */
  dismiss(id: string): void
  /** Stops the toasts' clocks for a reason (until `resume` of every reason). */
  pause(reason: Exclude<ToastPauseReason, 'stopped' | 'hidden'>): void
  resume(reason: Exclude<ToastPauseReason, 'stopped' | 'hidden'>): void
  /** Joins the other tabs and follows the page; idempotent. */
  start(): void
  /** Leaves the other tabs; the clocks stop. `start()` again joins again. */
  stop(): void
  /** The BroadcastChannel's name (namespace, name and protocol version). */
  readonly channelName: string
}

const defaultChannel = () => (typeof BroadcastChannel === 'function' ? (name: string) => new BroadcastChannel(name) as TabChannel : null)
const randomId = () => (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`)

/**
 * Makes a notification center. Every tab gets every notification (a stream shared across
 * tabs relays it to each); each tab keeps it in its inbox, but only the focused tab (else the
 * one visible most recently) toasts it. Read state travels between tabs; a tab that opens
 * asks the others for their inbox. Notifications are taken once per id, across reconnects,
 * replays and leader changes.
 * @example
 * const center = createNotificationCenter<Alert>({ name: 'alerts' })
 * center.start()
 * connection.onMessage(center.onMessage)
 */
export function createNotificationCenter<T>(options: NotificationCenterOptions<T> = {}): NotificationCenter<T> {
  const { read, name = 'notifications', namespace = 'tabwire', duration = 5000, maxItems = 100, maxToasts = 3 } = options
  const { page = documentPage(), timers = globalTimers, now = Date.now, tabId = randomId() } = options
  const openChannel = options.channel === undefined ? defaultChannel() : options.channel
  const channelName = `${namespace}:notifications:${name}:v${WIRE_VERSION}`
  const listeners = new Set<() => void>()
  const seen = boundedSet(Math.max(MAX_IDS, maxItems * 10))
  const readIds = boundedSet(Math.max(MAX_IDS, maxItems * 10))
  let items: readonly InboxItem[] = []
  let error: RealtimeError | null = null
  let announcement: Toast<InboxItem> | null = null
  let snapshot: NotificationCenterSnapshot = { items, unread: 0, toasts: [], announcement, error }
  let channel: TabChannel | null = null
  let offPage: (() => void) | undefined
  const locks = options.locks === undefined ? (globalThis.navigator?.locks ?? null) : options.locks
  const lockOf = (id: string) => `${channelName}:tab:${id}`
  let unlock: (() => void) | undefined
  /**
   * A notification this tab did not toast because `ranked` tabs outrank it: those whose lock
   * is gone crashed (a tab that only just started holds its lock already, as it asks before
   * it says hello). Forgets them, and toasts here if this tab is now the one.
   */
  const recheck = async (item: InboxItem, ranked: string[]) => {
    let held: Set<string | undefined>
    try {
      held = new Set(((await locks?.query())?.held ?? []).map((l) => l.name))
    } catch {
      return
    }
    const dead = ranked.filter((id) => !held.has(lockOf(id)))
    if (!dead.length || !offPage) return
    for (const id of dead) presence.leave(id)
    if (presence.isToaster()) announce(item), publish()
  }
  const announce = (item: InboxItem) => {
    const stored = items.find((i) => i.id === item.id)
    if (!stored) return
    announcement = { id: item.id, notification: stored, duration: typeof duration === 'function' ? duration(stored) : duration }
    toasts.add(announcement)
  }

  const publish = () => {
    snapshot = { items, unread: items.filter((i) => !i.read).length, toasts: toasts.list(), announcement, error }
    emit(listeners)
  }
  const toasts = createToasts<InboxItem>({ timers, now, max: maxToasts, onChange: publish })
  toasts.pause('stopped')
  const post = (message: TabMessage) => {
    try {
      channel?.postMessage({ v: WIRE_VERSION, from: tabId, ...message })
    } catch {
      // A closed channel (the page is going away): the other tabs lose nothing they need.
    }
  }
  let gone = false
  // A tab that has gone says nothing until it is back: a late presence would undo its bye.
  const presence = createTabPresence(tabId, page, (p) => void (gone || post({ t: 'presence', presence: p })))
  /** A page leaving (or entering the back/forward cache) says bye, so a frozen tab is never picked to toast; back, it says hello. */
  const followPage = () => {
    const nowGone = page.gone?.() ?? false
    if (nowGone !== gone) {
      gone = nowGone
      post({ t: gone ? 'bye' : 'hello' })
      if (!gone) post({ t: 'presence', presence: presence.current() })
    }
    presence.refresh()
    if (page.visible()) toasts.resume('hidden')
    else toasts.pause('hidden')
  }

  /** Puts new items in the inbox (newest first, capped); keeps each item's identity unless its read state changed. */
  const store = (added: readonly InboxItem[]) => {
    const next = [...added, ...items].map((i) => (readIds.has(i.id) && !i.read ? { ...i, read: true } : i))
    items = next.sort((a, b) => b.time - a.time).slice(0, maxItems)
  }
  const markRead = (list: readonly string[], local: boolean) => {
    const fresh = list.filter((id) => !readIds.has(id))
    if (fresh.length === 0) return
    for (const id of fresh) readIds.add(id)
    store([])
    publish()
    if (local) for (let i = 0; i < fresh.length; i += MAX_IDS) post({ t: 'read', ids: fresh.slice(i, i + MAX_IDS) })
  }
  const fromTab = (event: { readonly data: unknown }) => {
    const message = readTabMessage(event.data)
    if (!message || message[0] === tabId) return
    const [from, m] = message
    if (m.t === 'hello') {
      post({ t: 'presence', presence: presence.current() })
      post({ t: 'state', items: items.slice(0, MAX_IDS), read: items.filter((i) => i.read).map((i) => i.id) })
    } else if (m.t === 'presence') presence.receive(from, m.presence)
    else if (m.t === 'bye') presence.leave(from)
    else if (m.t === 'read') markRead(m.ids, false)
    else {
      for (const id of m.read) readIds.add(id)
      const fresh = m.items.filter((i) => !seen.has(i.id))
      for (const i of fresh) {
        seen.add(i.id)
        if (i.read) readIds.add(i.id)
      }
      store(fresh)
      publish()
    }
  }
  const fail = (reason: string, raw: unknown, cause?: unknown) => {
    error = new RealtimeError('parse', `Notifications: ${reason}`, { raw, cause })
    publish()
  }

  return {
    channelName,
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    getSnapshot: () => snapshot,
    onMessage(message) {
      let input: unknown
      try {
        input = read ? read(message.data, message) : message.data
      } catch (thrown) {
        return fail(`read threw: ${String(thrown)}`, message.data, thrown)
      }
      if (input == null) return
      if (typeof input === 'object' && (input as { id?: unknown }).id === undefined && typeof message.id === 'string') input = { ...input, id: message.id }
      const item = toItem(input, now())
      if (typeof item === 'string') return fail(item, message.data)
      error = null
      if (seen.has(item.id)) return publish()
      seen.add(item.id)
      store([item])
      if (presence.isToaster()) announce(item)
      else if (locks) void recheck(item, presence.above())
      publish()
    },
    markRead: (ids) => markRead(typeof ids === 'string' ? [ids] : ids, true),
    markAllRead: () => markRead(items.filter((i) => !i.read).map((i) => i.id), true),
    dismiss: (id) => toasts.dismiss(id),
    pause: (reason) => toasts.pause(reason),
    resume: (reason) => toasts.resume(reason),
    start() {
      if (offPage) return
      offPage = page.subscribe(followPage)
      try {
        channel = openChannel?.(channelName) ?? null
      } catch {
        channel = null
      }
      channel?.addEventListener('message', fromTab)
      if (locks) {
        const held = new Promise<void>((resolve) => (unlock = resolve))
        locks.request(lockOf(tabId), () => held).catch(() => {})
      }
      followPage()
      post({ t: 'hello' })
      post({ t: 'presence', presence: presence.current() })
      toasts.resume('stopped')
    },
    stop() {
      if (!offPage) return
      offPage()
      offPage = undefined
      toasts.pause('stopped')
      unlock?.()
      unlock = undefined
      post({ t: 'bye' })
      channel?.close()
      channel = null
    },
  }
}
