import { checkServerFrame, isChannelName, type RealtimeServerFrame } from './protocol'
import type { RealtimeTransportKind } from './transport-types'

type Delivered = Extract<RealtimeServerFrame, { type: 'event' | 'snapshot' }>

/** A message of the shared connection, as a tab reads it (see `WireEvent`). */
export type Relayed =
  | { t: 'hi' }
  | { t: 'transport'; kind: RealtimeTransportKind }
  | { t: 'unsub'; channel: string }
  | { t: 'last'; channel: string; frame: Delivered }
  | { t: 'frame'; frame: RealtimeServerFrame }

/**
 * Reads a message the leader tab relayed (or this tab's own wire emitted): what another
 * tab posts is checked field by field, since any page of the origin can post on the
 * channel, and another version of the app may lead. Undefined for anything else.
 */
export function readRelayed(event: string, data: unknown): Relayed | undefined {
  const d = data as Record<string, unknown> | null
  switch (event) {
    case 'hi':
      return { t: 'hi' }
    case 'transport':
      return data === 'websocket' || data === 'sse' ? { t: 'transport', kind: data } : undefined
    case 'unsub':
      return d && typeof d === 'object' && isChannelName(d.channel) ? { t: 'unsub', channel: d.channel } : undefined
    case 'last': {
      const frame = d && typeof d === 'object' && d.m && typeof d.m === 'object' ? checkServerFrame((d.m as { data?: unknown }).data) : undefined
      if (!frame || (frame.type !== 'event' && frame.type !== 'snapshot') || frame.channel !== d!.channel) return undefined
      return { t: 'last', channel: frame.channel, frame }
    }
  }
  const frame = checkServerFrame(data)
  return frame && frame.type === event && frame.type !== 'hello' ? { t: 'frame', frame } : undefined
}
