/**
 * tabwire/components: live ticker, notifications and connection status, built only on the
 * public hooks. Headless parts with `data-state` attributes; an optional stylesheet.
 */
import { Inbox, Provider, Toast, UnreadCount, Viewport } from './notifications'

export { ConnectionStatus, type ConnectionStatusProps, type ConnectionStatusSource, describeError } from './connection-status'
export { LiveTicker, type LiveTickerProps, type TickerSource, useTicker } from './live-ticker'
export { createNotificationCenter, type NotificationCenter, type NotificationCenterOptions, type NotificationCenterSnapshot, type TabChannel } from './notification-center'
export type { InboxItem, NotificationInput, Severity } from './notification-wire'
export {
  type InboxProps,
  type ProviderProps,
  type ToastProps,
  useNotificationCenter,
  useNotifications,
  type ViewportProps,
} from './notifications'
export type { PageSource } from './tab-presence'
export { createTicker, type Ticker, type TickerDirection, type TickerOptions, type TickerRow, type TickerSnapshot, type TickerUpdate } from './ticker'
export type { Toast as ToastData, ToastPauseReason } from './toasts'
export type { SwipeDirection } from './use-swipe'

/**
 * The notification parts: `Provider` (the center), `Viewport` (this tab's toasts), `Toast`,
 * `Inbox` and `UnreadCount`.
 * @example
 * <Notifications.Provider center={center}>
 *   <Notifications.Viewport />
 *   <Notifications.Inbox />
 * </Notifications.Provider>
 */
export const Notifications = { Provider, Viewport, Toast, Inbox, UnreadCount } as const
