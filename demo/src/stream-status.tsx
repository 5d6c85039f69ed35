import { useEffect } from 'react'
import type { HookState } from 'tabwire'
import type { StreamName } from '../shared.ts'
import { recording } from './recorder.ts'

/** One stream's connection status, as `data-state`, with its latest error and a retry button. */
export function StreamStatus({ name, state }: { name: StreamName; state: Pick<HookState<unknown>, 'status' | 'error' | 'attempt' | 'reconnect'> }) {
  const { status, error, attempt, reconnect } = state
  useEffect(() => {
    recording.statuses.push({ stream: name, status, at: Date.now() })
  }, [name, status])
  return (
    <span className="status" data-stream={name} data-state={status} title={error?.message}>
      <span className="dot" aria-hidden="true" />
      {name}: {status}
      {attempt > 0 && ` (attempt ${attempt})`}
      {error && <span className="error"> — {error.kind}</span>}
      {status === 'closed' && (
        <button type="button" onClick={reconnect}>
          Retry
        </button>
      )}
    </span>
  )
}
