import { type RealtimeMessage, useEventSource } from 'tabwire'
import { type NotificationInput, Notifications as Parts, useNotificationCenter } from 'tabwire/components'
import type { Notice, ResetInfo } from '../shared.ts'
import { sse } from './config.ts'
import { recordError, recordEvent } from './recorder.ts'
import { StreamStatus } from './stream-status.tsx'

type NoticeEvent = RealtimeMessage<Notice | ResetInfo>

/**
 * A notification per SSE event, taken once by its event id (the server's log id): a replay
 * after a reconnect or a leader change is not a new notification. A reset is one too.
 */
function toNotification(message: NoticeEvent): NotificationInput | null {
  if (message.event === 'reset') {
    const { epoch } = message.data as ResetInfo
    return { id: `reset:${epoch}`, severity: 'info', title: 'History restarted', body: 'The server restarted its log; older notifications are not replayed.' }
  }
  if (message.id === undefined) return null
  // Untrusted: the center checks every field; anything else is a `parse` error in the inbox.
  const { level, title, body, time } = message.data as Notice
  return { id: message.id, severity: level, title, body, time }
}

/**
 * `/api/notifications` through a notification center: every tab lists each notification in
 * its inbox, only the focused tab (else the one seen last) toasts it, and read state is the
 * same in every tab. Titles and bodies are untrusted: the components render them as text.
 */
export function Notifications() {
  const center = useNotificationCenter<NoticeEvent>({ name: 'demo-notifications', read: toNotification })
  const stream = useEventSource<Notice | ResetInfo>('/api/notifications', {
    ...sse,
    events: ['notification', 'reset'],
    json: true,
    onMessage: (message) => {
      recordEvent('notifications', message)
      // The whole message is the center's data: its `read` takes the id from the event.
      center.onMessage({ data: message })
    },
    onError: (error) => recordError('notifications', error),
  })

  return (
    <Parts.Provider center={center}>
      <section aria-labelledby="notifications-title">
        <div className="panel-head">
          <h2 id="notifications-title">
            Notifications <Parts.UnreadCount className="unread" />
          </h2>
          <StreamStatus name="notifications" state={stream} />
        </div>
        <div data-testid="notifications">
          <Parts.Inbox label="Notification inbox" empty="Nothing yet" formatTime={timeOfDay} />
        </div>
        {/* Fixed to the corner of the window by the stylesheet: only this tab's toasts, if it is the one that toasts. */}
        <Parts.Viewport label="Notifications" />
      </section>
    </Parts.Provider>
  )
}

const timeOfDay = (time: number) => new Date(time).toLocaleTimeString()
