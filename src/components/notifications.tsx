'use client'
import { createContext, Fragment, memo, type ReactNode, useContext, useEffect, useId, useMemo, useRef, useState, useSyncExternalStore } from 'react'
import { createNotificationCenter, type NotificationCenter, type NotificationCenterOptions, type NotificationCenterSnapshot } from './notification-center'
import type { InboxItem } from './notification-wire'
import { visuallyHidden } from './runtime'
import type { Toast as ToastData } from './toasts'
import { type SwipeDirection, useSwipe } from './use-swipe'

/**
 * The notification center of a component: made on first render, joined to the other tabs
 * while mounted (options are read once).
 * @example
 * const center = useNotificationCenter<Alert>({ name: 'alerts' })
 * useEventSource<Alert>('/api/alerts', { json: true, onMessage: center.onMessage })
 */
export function useNotificationCenter<T>(options: NotificationCenterOptions<T> = {}): NotificationCenter<T> {
  const [center] = useState(() => createNotificationCenter(options))
  useEffect(() => {
    center.start()
    return () => center.stop()
  }, [center])
  return center
}

const Context = /* @__PURE__ */ createContext<{ center: NotificationCenter<unknown>; viewport: { current: HTMLElement | null } } | null>(null)

/** Props of {@link Provider}. */
export interface ProviderProps {
  /** From `useNotificationCenter` (or `createNotificationCenter`, started by you); required. @example <Notifications.Provider center={useNotificationCenter()} /> */
  center: NotificationCenter<unknown>
  /** The parts and anything else. @defaultValue none */
  children?: ReactNode
}

/**
 * Gives the notification parts their center.
 * @example <Notifications.Provider center={center}><Notifications.Viewport /><Notifications.Inbox /></Notifications.Provider>
 */
export function Provider({ center, children }: ProviderProps) {
  const [viewport] = useState(() => ({ current: null as HTMLElement | null }))
  const value = useMemo(() => ({ center, viewport }), [center, viewport])
  return <Context.Provider value={value}>{children}</Context.Provider>
}

function useCenter(part: string) {
  const value = useContext(Context)
  if (!value) throw new Error(`tabwire: ${part} needs a center: render it inside <Notifications.Provider center={useNotificationCenter()}>`)
  return value
}

/**
 * The center's snapshot and actions, for a UI of your own.
 * @example const { unread, items, markAllRead } = useNotifications()
 */
export function useNotifications(): NotificationCenterSnapshot & Pick<NotificationCenter<unknown>, 'markRead' | 'markAllRead' | 'dismiss'> {
  const { center } = useCenter('useNotifications')
  const snapshot = useSyncExternalStore(center.subscribe, center.getSnapshot, center.getSnapshot)
  return { ...snapshot, markRead: center.markRead, markAllRead: center.markAllRead, dismiss: center.dismiss }
}

/** Props of {@link Toast}. */
export interface ToastProps {
  /** The toast, from `renderToast` (required). @example renderToast={(toast) => <Notifications.Toast toast={toast} />} */
  toast: ToastData<InboxItem>
  /**
   * Swiping this way past `swipeThreshold` dismisses.
   * @defaultValue 'right'
   * @example { swipeDirection: 'left' }
   */
  swipeDirection?: SwipeDirection
  /** How far (px) a swipe must go. @defaultValue 50 @example { swipeThreshold: 80 } */
  swipeThreshold?: number
  /**
   * Replaces the title and body (the close button and behaviour stay).
   * @defaultValue the title and body
   * @example <Notifications.Toast toast={t}><strong>{t.notification.title}</strong></Notifications.Toast>
   */
  children?: ReactNode
}

/**
 * One toast: Escape or the Dismiss button dismisses it, and so does a swipe. Focus moves to
 * the viewport when a toast with focus goes.
 * @example <Notifications.Viewport renderToast={(t) => <Notifications.Toast toast={t}><b>{t.notification.title}</b></Notifications.Toast>} />
 */
export function Toast({ toast, swipeDirection = 'right', swipeThreshold = 50, children }: ToastProps) {
  const { center, viewport } = useCenter('Notifications.Toast')
  const self = useRef<HTMLLIElement>(null)
  const titleId = useId()
  const dismiss = () => {
    if (self.current?.contains(document.activeElement)) viewport.current?.focus()
    center.dismiss(toast.id)
  }
  const { swipe, style, handlers } = useSwipe(dismiss, swipeDirection, swipeThreshold)
  const { title, body, severity } = toast.notification
  return (
    <li
      ref={self}
      tabIndex={0}
      aria-labelledby={titleId}
      data-tabwire-toast=""
      data-id={toast.id}
      data-severity={severity}
      data-state="open"
      data-swipe={swipe}
      data-swipe-direction={swipeDirection}
      style={style}
      onKeyDown={(event) => {
        if (event.key !== 'Escape') return
        event.stopPropagation()
        dismiss()
      }}
      {...handlers}
    >
      <div id={titleId}>{children ?? <p data-tabwire-toast-title="">{title}</p>}</div>
      {children === undefined && body ? <p data-tabwire-toast-body="">{body}</p> : null}
      <button type="button" data-tabwire-toast-close="" onClick={dismiss}>
        Dismiss
      </button>
    </li>
  )
}

/** Props of {@link Viewport}. */
export interface ViewportProps {
  /**
   * The region's name (the hotkey is added to it).
   * @defaultValue 'Notifications'
   * @example { label: 'Alerts' } // read as "Alerts (F8)"
   */
  label?: string
  /**
   * Keys that move focus to the toasts: `event.code` (or `event.key`) values and modifier names, all pressed at once.
   * @defaultValue ['F8']
   * @example { hotkey: ['altKey', 'KeyT'] }
   */
  hotkey?: readonly string[]
  /**
   * Renders one toast: a `<Notifications.Toast>` (it is the list item).
   * @defaultValue `<Notifications.Toast toast={toast} />`
   * @example { renderToast: (t) => <Notifications.Toast toast={t} swipeDirection="left" /> }
   */
  renderToast?: (toast: ToastData<InboxItem>) => ReactNode
  /** A class for the region. @defaultValue none @example { className: 'toasts' } */
  className?: string
}

const keyName = (key: string) => key.replace(/Key$/, '').replace(/^Key|^Digit/, '').replace(/^(alt|ctrl|meta|shift)$/i, (m) => m[0]!.toUpperCase() + m.slice(1))

/**
 * This tab's toasts (only the toasting tab gets them), newest first, in a region the hotkey
 * focuses. The clocks stop while the pointer or focus is on it and while the page is hidden.
 * New toasts are announced in a polite live region (`info`, `success`) or an assertive one
 * (`warning`, `error`).
 * @example <Notifications.Viewport hotkey={['altKey', 'KeyN']} />
 */
export function Viewport({ label = 'Notifications', hotkey = ['F8'], renderToast, className }: ViewportProps) {
  const { center, viewport } = useCenter('Notifications.Viewport')
  const { toasts, announcement } = useSyncExternalStore(center.subscribe, center.getSnapshot, center.getSnapshot)
  const keys = hotkey.join('+')
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const wanted = keys.split('+')
      // A key matches by `code` (layout-independent) or by `key` (what some synthetic events carry).
      if (wanted.every((k) => (event as unknown as Record<string, unknown>)[k] === true || event.code === k || event.key === k)) viewport.current?.focus()
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [keys, viewport])
  const assertive = announcement?.notification.severity === 'warning' || announcement?.notification.severity === 'error'
  const spoken = announcement && (
    <span key={announcement.id}>
      {announcement.notification.title}
      {announcement.notification.body ? `. ${announcement.notification.body}` : ''}
    </span>
  )
  return (
    <section
      ref={(node) => void (viewport.current = node)}
      tabIndex={-1}
      aria-label={`${label} (${hotkey.map(keyName).join('+')})`}
      data-tabwire-toasts=""
      data-state={toasts.length ? 'open' : 'empty'}
      className={className}
      onPointerEnter={() => center.pause('hover')}
      onPointerLeave={() => center.resume('hover')}
      onFocus={() => center.pause('focus')}
      onBlur={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) center.resume('focus')
      }}
    >
      <ol data-tabwire-toast-list="">{toasts.map((t) => (renderToast ? <Fragment key={t.id}>{renderToast(t)}</Fragment> : <Toast key={t.id} toast={t} />))}</ol>
      <div role="status" aria-live="polite" aria-atomic="true" style={visuallyHidden}>
        {assertive ? null : spoken}
      </div>
      <div role="alert" aria-live="assertive" aria-atomic="true" style={visuallyHidden}>
        {assertive ? spoken : null}
      </div>
    </section>
  )
}

/** Props of {@link Inbox}. */
export interface InboxProps {
  /** The list's name. @defaultValue 'Inbox' @example { label: 'Alerts' } */
  label?: string
  /** Shown when there is nothing. @defaultValue 'No notifications' @example { empty: <p>All quiet</p> } */
  empty?: ReactNode
  /** Formats a notification's time. @defaultValue the date and time in the user's locale @example { formatTime: (t) => new Date(t).toLocaleTimeString() } */
  formatTime?: (time: number) => string
  /** A class for the root. @defaultValue none @example { className: 'inbox' } */
  className?: string
}

const defaultTime = (time: number) => new Date(time).toLocaleString()

const InboxRow = /* @__PURE__ */ memo(function InboxRow({ item, markRead, formatTime }: { item: InboxItem; markRead: (id: string) => void; formatTime: (t: number) => string }) {
  const titleId = useId()
  return (
    <li data-tabwire-inbox-item="" data-id={item.id} data-state={item.read ? 'read' : 'unread'} data-severity={item.severity} aria-labelledby={titleId}>
      <p id={titleId} data-tabwire-inbox-title="">
        {item.read ? null : <span style={visuallyHidden}>Unread: </span>}
        {item.title}
      </p>
      {item.body ? <p data-tabwire-inbox-body="">{item.body}</p> : null}
      <time dateTime={new Date(item.time).toISOString()}>{formatTime(item.time)}</time>
      {item.read ? null : (
        <button type="button" data-tabwire-inbox-mark="" aria-describedby={titleId} onClick={() => markRead(item.id)}>
          Mark as read
        </button>
      )}
    </li>
  )
})

/**
 * Every notification, in every tab, newest first, with the unread count, mark-as-read per
 * item and for all. Read state is the same in every tab. A message that was not a
 * notification shows as an error until the next good one.
 * @example <Notifications.Inbox label="Alerts" empty="All quiet" />
 */
export function Inbox({ label = 'Inbox', empty = 'No notifications', formatTime = defaultTime, className }: InboxProps) {
  const { center } = useCenter('Notifications.Inbox')
  const { items, unread, error } = useSyncExternalStore(center.subscribe, center.getSnapshot, center.getSnapshot)
  return (
    <section aria-label={label} data-tabwire-inbox="" data-state={unread ? 'unread' : 'read'} className={className}>
      <div data-tabwire-inbox-header="">
        <p data-tabwire-inbox-count="">{unread} unread</p>
        <button type="button" data-tabwire-inbox-mark-all="" disabled={unread === 0} onClick={center.markAllRead}>
          Mark all as read
        </button>
      </div>
      {error ? (
        <p data-tabwire-inbox-error="" data-kind={error.kind}>
          {error.message}
        </p>
      ) : null}
      {items.length === 0 ? (
        <p data-tabwire-inbox-empty="">{empty}</p>
      ) : (
        <ul>
          {items.map((item) => (
            <InboxRow key={item.id} item={item} markRead={center.markRead} formatTime={formatTime} />
          ))}
        </ul>
      )}
    </section>
  )
}

/**
 * The number of unread notifications (with "unread" for screen readers), `data-state="unread"` when above 0.
 * @example <button>Inbox <Notifications.UnreadCount /></button>
 */
export function UnreadCount({ className }: { /** A class for the count. @defaultValue none @example { className: 'badge' } */ className?: string }) {
  const { center } = useCenter('Notifications.UnreadCount')
  const unread = useSyncExternalStore(center.subscribe, () => center.getSnapshot().unread, () => center.getSnapshot().unread)
  return (
    <span data-tabwire-unread="" data-state={unread ? 'unread' : 'none'} className={className}>
      {unread}
      <span style={visuallyHidden}> unread</span>
    </span>
  )
}
