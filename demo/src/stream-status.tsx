import { useEffect } from 'react'
import { ConnectionStatus, type ConnectionStatusSource } from 'tabwire/components'
import type { StreamName } from '../shared.ts'
import { recording } from './recorder.ts'

/**
 * One stream's `<ConnectionStatus>` (its `data-state` is the status), named by the stream
 * (`data-stream`) so tests and styles can find it; each status it renders is recorded.
 */
export function StreamStatus({ name, state }: { name: StreamName; state: ConnectionStatusSource }) {
  const { status } = state
  useEffect(() => {
    recording.statuses.push({ stream: name, status, at: Date.now() })
  }, [name, status])
  return (
    <div className="status" data-stream={name}>
      <ConnectionStatus source={state} />
    </div>
  )
}
