/**
 * One client connection of a channel mock, in either dialect: `'channels'` speaks what
 * `createWebSocketHandler` speaks, `'realtime'` what `createRealtimeHandler` speaks (over a
 * WebSocket or an SSE session). Every decision is a call into the server's own protocol
 * module (src/server/channel-protocol.ts); only the sockets differ.
 */
import { channelEventJson, readHead } from '../server/channel-event.ts'
import {
  checkPublish,
  checkSince,
  type ErrorFrame,
  publishFailed,
  publishJson,
  readChannelMessage,
  readOnly,
  readRealtimeFrame,
  readRealtimeText,
  rememberPid,
  subscribeFrames,
  tooMany,
  unknownChannel,
  unstorable,
  wantsSnapshot,
} from '../server/channel-protocol.ts'
import { describeError, quote, warn } from '../server/errors.ts'
import type { ReplayLog } from '../server/log.ts'
import type { Connection, Happenings } from './mock-core.ts'
import { followLog, type MockFollowing } from './mock-follow.ts'

/** A channel as a mock finds it. */
export interface MockChannel {
  readonly log: ReplayLog
  readonly writable: boolean
  readonly snapshot?: (() => unknown) | undefined
}

/**
 * A subscribe a client sent (`since` undefined when it had none, or one that is not a string).
 * @example { channel: 'prices', since: 'k3x9.41' }
 */
export interface SubscribeSeen {
  readonly channel: string
  readonly since: string | undefined
}

/**
 * A publish a client sent (`pid` only on the realtime endpoint).
 * @example { channel: 'room', data: { text: 'hi' }, pid: 'a1' }
 */
export interface PublishSeen {
  readonly channel: string
  readonly data: unknown
  readonly pid?: string | undefined
}

/** What a session needs from its mock. */
export interface SessionContext {
  readonly dialect: 'channels' | 'realtime'
  find(name: string): MockChannel | undefined
  /** The publish ids remembered for a log. */
  pids(log: ReplayLog): Map<string, string>
  readonly maxSubscriptions: number
  readonly maxPayload: number
  readonly subscribes: Happenings<SubscribeSeen>
  readonly unsubscribes: Happenings<{ readonly channel: string }>
  readonly publishes: Happenings<PublishSeen>
  /** Every frame a client sent, parsed where it was JSON. */
  readonly received: unknown[]
}

export interface MockSession {
  /** One client frame: the text of a WebSocket message (binary: `''`), or a frame of an SSE session's POST. */
  take(input: { text: string } | { frame: unknown }): void
  /** The connection is gone: every subscription stops. */
  end(): void
}

/** A session on `connection`; `encode` wraps each frame's text for the transport (SSE: one event). */
export function createMockSession(connection: Connection, context: SessionContext, encode: (text: string) => string = (text) => text): MockSession {
  const realtime = context.dialect === 'realtime'
  const subscriptions = new Map<string, { log: ReplayLog; following: MockFollowing }>()
  // While a publish appends, this connection's own copy of the event waits: the server
  // acknowledges a publish before its event reaches the publisher.
  let held: string[] | undefined
  const send = (text: string) => (held ? held.push(text) : connection.send(encode(text)))
  const fail = (frame: ErrorFrame) => send(JSON.stringify(frame))

  const drop = (channel: string) => {
    const subscription = subscriptions.get(channel)
    subscriptions.delete(channel)
    return subscription && { log: subscription.log, seq: subscription.following.stop() }
  }

  const follow = (channel: string, found: MockChannel, since: string | undefined, after: number | undefined) => {
    const { log } = found
    // Read before following: every entry after it reaches this connection.
    const head = readHead(log)
    const json = channelEventJson(channel)
    const snapshot = realtime ? found.snapshot : undefined
    const following = followLog(log, {
      since,
      after,
      start: (replay) => subscribeFrames(channel, head, log, replay, snapshot && wantsSnapshot(since, replay) ? safeSnapshot(channel, snapshot) : undefined).forEach(send),
      entry: (entry) => {
        try {
          send(json(entry))
        } catch (error) {
          warn(`channel ${quote(channel)}: skipped log entry ${quote(entry.id)}, which cannot be framed: ${describeError(error)}`)
        }
      },
      failed: () => connection.close(1011),
    })
    subscriptions.set(channel, { log, following })
  }

  const subscribe = (channel: string, since: unknown) => {
    if (realtime) {
      const bad = checkSince(since, channel)
      if (bad) return fail(bad)
      if (!subscriptions.has(channel) && subscriptions.size >= context.maxSubscriptions) return fail(tooMany(channel, context.maxSubscriptions))
    }
    const found = context.find(channel)
    if (!found) {
      fail(unknownChannel(channel, realtime))
      return void (realtime && drop(channel))
    }
    if (!realtime) {
      const bad = checkSince(since)
      if (bad) return fail(bad)
    }
    // What the replaced subscription wrote is not written again (same log, same connection).
    const replaced = drop(channel)
    follow(channel, found, since as string | undefined, replaced?.log === found.log ? replaced.seq : undefined)
  }

  const publishChannels = (channel: string, data: unknown) => {
    const found = context.find(channel)
    if (!found) return fail(unknownChannel(channel, false))
    if (!found.writable) return fail(readOnly(channel, false))
    const json = publishJson(data)
    if (json === undefined) return fail(unstorable())
    try {
      found.log.append(json)
    } catch (error) {
      warn(`channel ${quote(channel)}: append failed: ${describeError(error)}`)
      fail(publishFailed(channel, false))
    }
  }

  const publishRealtime = (channel: string, message: Record<string, unknown>) => {
    const checked = checkPublish(channel, message, context.maxPayload)
    if ('type' in checked) return fail(checked)
    const { pid, text } = checked
    const found = context.find(channel)
    if (!found) return fail(unknownChannel(channel, true, pid))
    if (!found.writable) return fail(readOnly(channel, true, pid))
    const pids = context.pids(found.log)
    const taken = pid === undefined ? undefined : pids.get(pid)
    if (taken !== undefined) return send(JSON.stringify({ type: 'ack', channel, pid, id: taken }))
    let id: unknown
    const own = (held = [])
    try {
      id = found.log.append(text)?.id
      if (typeof id !== 'string') throw new TypeError('append returned no entry with a string id')
    } catch (error) {
      warn(`channel ${quote(channel)}: append failed: ${describeError(error)}`)
      fail(publishFailed(channel, true, pid))
    } finally {
      held = undefined
    }
    if (typeof id === 'string' && pid !== undefined) {
      rememberPid(pids, pid, id)
      send(JSON.stringify({ type: 'ack', channel, pid, id }))
    }
    own.forEach(send)
  }

  return {
    take(input) {
      if (connection.stalled) return
      const text = 'text' in input ? input.text : undefined
      context.received.push(text === undefined ? (input as { frame: unknown }).frame : parsed(text))
      const command = !realtime ? readChannelMessage(text ?? '') : readRealtimeFrame(text === undefined ? (input as { frame: unknown }).frame : readRealtimeText(text))
      if (command.type === 'ping') return send('pong')
      if (command.type === 'error') return fail(command)
      const { channel } = command
      if (command.type === 'subscribe') {
        context.subscribes.push({ channel, since: typeof command.since === 'string' ? command.since : undefined })
        return subscribe(channel, command.since)
      }
      if (command.type === 'unsubscribe') {
        context.unsubscribes.push({ channel })
        return void drop(channel)
      }
      const { data, pid } = command.message
      context.publishes.push({ channel, data, pid: typeof pid === 'string' ? pid : undefined })
      if (realtime) publishRealtime(channel, command.message)
      else publishChannels(channel, data)
    },
    end() {
      for (const channel of [...subscriptions.keys()]) drop(channel)
    },
  }
}

/** A snapshot that throws is skipped with a warning, as the server does; the subscription goes on. */
function safeSnapshot(channel: string, read: () => unknown): () => unknown {
  return () => {
    try {
      return read()
    } catch (error) {
      warn(`channel ${quote(channel)}: the snapshot failed, so it was skipped: ${describeError(error)}`)
      return undefined
    }
  }
}

/** A client's text as JSON where it is JSON (the text itself otherwise, `ping` included). */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
