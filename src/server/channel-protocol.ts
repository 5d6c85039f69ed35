/**
 * The decisions of the channel endpoints, apart from any socket: what a client's frame
 * means, which frames open a subscription, what a publish appends or why it is refused.
 * `createWebSocketHandler`, `createRealtimeHandler` and the MSW mocks of `tabwire/testing`
 * all call these, so a mock cannot answer differently from the server. Browser-safe: no
 * Node API, no `Buffer`.
 */
import { isChannelName, MAX_CHANNEL_NAME, MAX_PUBLISH_ID, type RealtimeErrorCode, type RealtimeServerFrame } from '../core/realtime/protocol.ts'
import type { Replay, AnyReplayLog } from './log.ts'

/** An `error` frame, as both channel protocols send it. */
export type ErrorFrame = Extract<RealtimeServerFrame, { type: 'error' }>

/** What a client frame asks for, once read and checked. */
export type ChannelCommand =
  | { readonly type: 'ping' }
  | { readonly type: 'subscribe'; readonly channel: string; readonly since: unknown }
  | { readonly type: 'unsubscribe'; readonly channel: string }
  | { readonly type: 'publish'; readonly channel: string; readonly message: Record<string, unknown> }
  | ErrorFrame

/** A realtime WebSocket message that was not JSON text, queued in its place. */
export const BAD_JSON = Symbol('bad-json')
/** A realtime WebSocket `ping` text, queued so its `pong` says every frame before it was handled. */
export const PING = Symbol('ping')

const error = (code: RealtimeErrorCode, message: string, channel?: string, pid?: string): ErrorFrame => ({
  type: 'error',
  code,
  message,
  ...(channel === undefined ? {} : { channel }),
  ...(pid === undefined ? {} : { pid }),
})

/** The errors that mean "not a frame of the protocol". */
export const badJson = (): ErrorFrame => error('bad-json', 'frames must be JSON text')

/**
 * A `createWebSocketHandler` message (text; binary counts as `''`): `ping`, a command, or
 * the `error` frame to answer (no `channel` in these errors).
 */
export function readChannelMessage(input: string): ChannelCommand {
  if (input === 'ping') return { type: 'ping' }
  let message: Record<string, unknown>
  try {
    message = JSON.parse(input)
  } catch {
    return badJson()
  }
  const channel = message?.channel
  if (typeof channel !== 'string') return error('bad-message', 'expected { type, channel }')
  if (message.type === 'subscribe') return { type: 'subscribe', channel, since: message.since }
  if (message.type === 'unsubscribe') return { type: 'unsubscribe', channel }
  if (message.type === 'publish') return { type: 'publish', channel, message }
  return error('bad-message', 'type must be subscribe, unsubscribe or publish')
}

/** A realtime WebSocket message as the frame the session takes: `PING`, `BAD_JSON` or the parsed JSON. */
export function readRealtimeText(input: string): unknown {
  if (input === 'ping') return PING
  try {
    return JSON.parse(input)
  } catch {
    return BAD_JSON
  }
}

/** A realtime frame (from `readRealtimeText`, or one of an SSE session's POST) as a command. */
export function readRealtimeFrame(frame: unknown): ChannelCommand {
  if (frame === PING) return { type: 'ping' }
  if (frame === BAD_JSON) return badJson()
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return error('bad-message', 'expected { type, channel }')
  const message = frame as Record<string, unknown>
  const channel = isChannelName(message.channel) ? message.channel : undefined
  if (message.type !== 'subscribe' && message.type !== 'unsubscribe' && message.type !== 'publish') {
    return error('bad-message', 'type must be subscribe, unsubscribe or publish', channel)
  }
  if (channel === undefined) return error('bad-message', `channel must be a string of 1 to ${MAX_CHANNEL_NAME} characters`)
  if (message.type === 'subscribe') return { type: 'subscribe', channel, since: message.since }
  if (message.type === 'unsubscribe') return { type: 'unsubscribe', channel }
  return { type: 'publish', channel, message }
}

/** The `error` frame for a `since` that is not an id string, or undefined when it is fine. */
export function checkSince(since: unknown, channel?: string): ErrorFrame | undefined {
  return since === undefined || typeof since === 'string' ? undefined : error('bad-message', '`since` must be an id string', channel)
}

export const unknownChannel = (channel: string, inFrame: boolean, pid?: string) =>
  error('unknown-channel', `no channel ${JSON.stringify(channel)}`, inFrame ? channel : undefined, pid)
export const readOnly = (channel: string, inFrame: boolean, pid?: string) =>
  error('read-only', `cannot publish to ${JSON.stringify(channel)}`, inFrame ? channel : undefined, pid)
export const tooMany = (channel: string, max: number) => error('too-many', `at most ${max} subscriptions per connection`, channel)
export const publishFailed = (channel: string, inFrame: boolean, pid?: string) =>
  error('server-error', `could not publish to ${JSON.stringify(channel)}`, inFrame ? channel : undefined, pid)

/** `data` as the JSON text a publish appends, or undefined when JSON cannot hold it (nested too deep). */
export function publishJson(data: unknown): string | undefined {
  try {
    // A RangeError for data nested too deep to stringify (a ~10 KB frame can do it).
    const json = JSON.stringify(data ?? null)
    return typeof json === 'string' ? json : undefined
  } catch {
    return undefined
  }
}

/** The `error` frame for data JSON cannot hold. */
export const unstorable = (channel?: string, pid?: string) => error('bad-message', '`data` cannot be stored as JSON (nested too deep?)', channel, pid)

/**
 * A realtime publish checked before anyone is asked: its `pid` and the text to append, or
 * the `error` frame to answer.
 */
export function checkPublish(channel: string, message: Record<string, unknown>, maxPayload: number): { pid: string | undefined; text: string } | ErrorFrame {
  const { pid } = message
  if (pid !== undefined && !(typeof pid === 'string' && pid.length > 0 && pid.length <= MAX_PUBLISH_ID)) {
    return error('bad-message', `pid must be a string of 1 to ${MAX_PUBLISH_ID} characters`, channel)
  }
  const text = publishJson(message.data)
  if (text === undefined) return unstorable(channel, pid)
  if (utf8Length(text) > maxPayload) return error('too-large', `data is over ${maxPayload} bytes`, channel, pid)
  return { pid, text }
}

export const unauthorized = (channel: string, action: 'subscribe' | 'publish', pid?: string) =>
  error('unauthorized', `not allowed to ${action} to ${JSON.stringify(channel)}`, channel, pid)

/** Publish ids remembered per channel: a re-send after a reconnect comes within seconds. */
export const MAX_PIDS = 10_000

/** Remembers that `pid` was appended as `id`, keeping the newest `MAX_PIDS`. */
export function rememberPid(pids: Map<string, string>, pid: string, id: string): void {
  pids.delete(pid)
  pids.set(pid, id)
  if (pids.size > MAX_PIDS) pids.delete(pids.keys().next().value!)
}

/**
 * The JSON texts that open a subscription once `since` answered: `subscribed` (with the
 * head read before following), then a `reset` when continuity broke, then the channel's
 * `snapshot` when asked for (`snapshot` answers undefined: none to send now).
 */
export function subscribeFrames(channel: string, head: string | null, log: AnyReplayLog, replay: Replay, snapshot?: () => unknown): string[] {
  const texts = [JSON.stringify({ type: 'subscribed', channel, head } satisfies RealtimeServerFrame)]
  if ('reset' in replay) texts.push(JSON.stringify({ type: 'reset', channel, epoch: log.epoch, reason: replay.reset, head: replay.head } satisfies RealtimeServerFrame))
  const data = snapshot?.()
  if (data !== undefined) texts.push(JSON.stringify({ type: 'snapshot', channel, data } satisfies RealtimeServerFrame))
  return texts
}

/** Whether a realtime subscription gets the channel's snapshot: it did not resume, or it was reset. */
export const wantsSnapshot = (since: string | undefined, replay: Replay) => since === undefined || since === '' || 'reset' in replay

/** Frames one POST of a realtime SSE session may carry. */
export const MAX_POST_FRAMES = 1000

/**
 * The body of a realtime SSE session's POST, read and checked: its session id and frames, or
 * the HTTP status and `error` to answer (the session itself is looked up by the caller).
 */
export function readRealtimePost(text: string): { session: string; frames: unknown[] } | { status: number; error: string } {
  let post: unknown
  try {
    post = JSON.parse(text)
  } catch {
    return { status: 400, error: 'bad-json' }
  }
  const { session, frames } = (typeof post === 'object' && post !== null ? post : {}) as Record<string, unknown>
  if (typeof session !== 'string' || !Array.isArray(frames)) return { status: 400, error: 'bad-message' }
  if (frames.length > MAX_POST_FRAMES) return { status: 413, error: 'too-many' }
  return { session, frames }
}

/** The UTF-8 length of `text` (a lone surrogate counts 3 bytes, as its replacement character). */
export function utf8Length(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes++
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}
