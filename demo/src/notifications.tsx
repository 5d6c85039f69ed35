import { useState } from 'react'
import { useEventSource } from 'tabwire'
import type { Notice, ResetInfo } from '../shared.ts'
import { sse } from './config.ts'
import { recordError, recordEvent } from './recorder.ts'
import { StreamStatus } from './stream-status.tsx'

const KEEP = 50

let keys = 0

interface Item {
  key: number
  level: string
  title: string
  body: string
}

/** The newest notifications first. Titles and bodies are untrusted: rendered as text only. */
export function Notifications() {
  const [items, setItems] = useState<Item[]>([])
  const stream = useEventSource<Notice | ResetInfo>('/api/notifications', {
    ...sse,
    events: ['notification', 'reset'],
    json: true,
    onMessage: (message) => {
      recordEvent('notifications', message)
      const key = ++keys
      const item =
        message.event === 'reset'
          ? { key, level: 'info', title: 'History restarted', body: 'The server restarted its log; older notifications are not replayed.' }
          : { key, level: String((message.data as Notice).level ?? 'info'), title: String((message.data as Notice).title ?? ''), body: String((message.data as Notice).body ?? '') }
      // React batches these; a burst of events costs one render.
      setItems((list) => [item, ...list].slice(0, KEEP))
    },
    onError: (error) => recordError('notifications', error),
  })

  return (
    <section aria-labelledby="notifications-title">
      <h2 id="notifications-title">
        Notifications <StreamStatus name="notifications" state={stream} />
      </h2>
      <ul className="notifications" role="log" aria-live="polite" data-testid="notifications">
        {items.length === 0 && <li className="empty">nothing yet</li>}
        {items.map((item) => (
          <li key={item.key} data-level={item.level}>
            <strong>{item.title}</strong> <span>{item.body}</span>
          </li>
        ))}
      </ul>
    </section>
  )
}
