import type { ChannelMessage, RealtimeError, RealtimeMessage } from 'tabwire'
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
  realtime: { ids: {}, snapshots: {}, resets: [], transports: [], errors: [] },
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

/** Records a realtime channel's message; called from `onMessage`, so every message, in order. */
export function recordChannelMessage(message: ChannelMessage<unknown>): void {
  const { realtime } = recording
  if (message.snapshot) realtime.snapshots[message.channel] = (realtime.snapshots[message.channel] ?? 0) + 1
  else if (message.id !== undefined) (realtime.ids[message.channel] ??= []).push(message.id)
}

export function recordError(stream: StreamName, error: RealtimeError): void {
  recording.errors.push({ stream, kind: error.kind, message: error.message, at: Date.now() })
}
