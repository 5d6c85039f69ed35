/**
 * The realtime channel protocol: what `createRealtime` (tabwire/core) and
 * `createRealtimeHandler` (tabwire/server) say to each other, over a WebSocket or over SSE
 * with POST. One module, so the client, the server and the test mocks cannot drift.
 *
 * Every frame is one JSON text. Over a WebSocket, one frame per message (and the texts
 * `ping` / `pong`). Over SSE, the server sends one frame per event's `data` (no `id:`, no
 * event name: cursors are per channel, inside the frames), starting with `hello`; the
 * client POSTs `{ session, frames }` to the same url (204: taken; the replies come on the
 * stream).
 */

/** Protocol version, sent by the server in `hello` (SSE) and checked by the client. */
export const REALTIME_PROTOCOL = 1

/** The longest channel name either side accepts, in UTF-16 code units. */
export const MAX_CHANNEL_NAME = 256

/** The longest publish id (`pid`) a server takes. */
export const MAX_PUBLISH_ID = 64

/** A frame the client sends. */
export type RealtimeClientFrame =
  /** Follow a channel, after the id `since` (exactly what was missed, or a `reset`). A subscribe to a channel the connection follows replaces it. */
  | { type: 'subscribe'; channel: string; since?: string }
  | { type: 'unsubscribe'; channel: string }
  /** Append `data` to a writable channel. With `pid`, the server acknowledges it (`ack`) and takes a repeated `pid` once. */
  | { type: 'publish'; channel: string; data: unknown; pid?: string }

/** Error codes of the `error` frame. */
export type RealtimeErrorCode =
  | 'bad-json'
  | 'bad-message'
  | 'unknown-channel'
  | 'unauthorized'
  | 'read-only'
  | 'too-large'
  | 'too-many'
  | 'server-error'

/** A frame the server sends. */
export type RealtimeServerFrame =
  /** SSE only, first: the session id the client's POSTs name. */
  | { type: 'hello'; session: string; protocol: number }
  | { type: 'event'; channel: string; id: string; event?: string; data: unknown }
  /** The subscription is live; `head`: what it started after (null when the log does not say). */
  | { type: 'subscribed'; channel: string; head: string | null }
  /**
   * The channel's current state, sent after `subscribed` when the subscription did not
   * resume (no `since`, or a `reset`) and the channel has one; then its events follow.
   */
  | { type: 'snapshot'; channel: string; data: unknown }
  /** The channel cannot resume from `since`: what it missed is gone (see `ResetReason`). */
  | { type: 'reset'; channel: string; epoch: string; reason: string; head: string }
  /** A publish with `pid` was appended as `id` (also when the pid was taken before). */
  | { type: 'ack'; channel: string; pid: string; id: string }
  /** A frame was refused; `channel` / `pid` say which subscription or publish, when known. */
  | { type: 'error'; code: RealtimeErrorCode; message: string; channel?: string; pid?: string }

/** The body of a POST in the SSE transport. */
export interface RealtimePost {
  session: string
  frames: RealtimeClientFrame[]
}

const isString = (v: unknown): v is string => typeof v === 'string'

/** Whether `name` is a channel name both sides accept: a non-empty string of at most {@link MAX_CHANNEL_NAME}. */
export function isChannelName(name: unknown): name is string {
  return isString(name) && name.length > 0 && name.length <= MAX_CHANNEL_NAME
}

/**
 * A server frame from JSON text, checked field by field; undefined for anything else
 * (the client reports it as a `protocol` error and goes on).
 */
export function readServerFrame(text: unknown): RealtimeServerFrame | undefined {
  if (!isString(text)) return undefined
  try {
    return checkServerFrame(JSON.parse(text))
  } catch {
    return undefined
  }
}

/** `value` if it is a server frame (checked field by field, as {@link readServerFrame} does), else undefined. */
export function checkServerFrame(value: unknown): RealtimeServerFrame | undefined {
  const f = value as Record<string, unknown>
  if (!f || typeof f !== 'object') return undefined
  const channel = isChannelName(f.channel)
  switch (f.type) {
    case 'hello':
      return isString(f.session) && typeof f.protocol === 'number' ? (f as RealtimeServerFrame) : undefined
    case 'event':
      return channel && isString(f.id) && (f.event === undefined || isString(f.event)) && 'data' in f ? (f as RealtimeServerFrame) : undefined
    case 'subscribed':
      return channel && (f.head === null || isString(f.head)) ? (f as RealtimeServerFrame) : undefined
    case 'snapshot':
      return channel && 'data' in f ? (f as RealtimeServerFrame) : undefined
    case 'reset':
      return channel && isString(f.epoch) && isString(f.reason) && isString(f.head) ? (f as RealtimeServerFrame) : undefined
    case 'ack':
      return channel && isString(f.pid) && isString(f.id) ? (f as RealtimeServerFrame) : undefined
    case 'error':
      return isString(f.code) && isString(f.message) && (f.channel === undefined || isString(f.channel)) && (f.pid === undefined || isString(f.pid))
        ? (f as RealtimeServerFrame)
        : undefined
  }
  return undefined
}
