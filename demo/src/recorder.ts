import type { RealtimeError, RealtimeMessage } from 'tabwire'
import type { Recording, StreamName } from '../shared.ts'

export type { Recording }

declare global {
  interface Window {
    __tabwire: Recording
  }
}

export const recording: Recording = {
  ids: { quotes: [], notifications: [], chat: [] },
  times: { quotes: [], notifications: [], chat: [] },
  resets: [],
  chat: [],
  errors: [],
  statuses: [],
}
window.__tabwire = recording

/** Records an SSE event; called from `onMessage`, so every event, in order. */
export function recordEvent(stream: StreamName, message: RealtimeMessage<unknown>): void {
  if (message.event === 'reset') {
    const data = (message.data ?? {}) as { epoch?: unknown; reason?: unknown }
    recording.resets.push({ stream, id: message.id, epoch: String(data.epoch), reason: String(data.reason), at: Date.now() })
  } else if (message.id !== undefined) {
    recordId(stream, message.id)
  }
}

/** Records that an event id was delivered, and when (ms since the epoch, sub-millisecond). */
export function recordId(stream: StreamName, id: string): void {
  recording.ids[stream].push(id)
  recording.times[stream].push(performance.timeOrigin + performance.now())
}

export function recordError(stream: StreamName, error: RealtimeError): void {
  recording.errors.push({ stream, kind: error.kind, message: error.message, at: Date.now() })
}
