/**
 * One connection of a realtime handler, whatever its transport: it takes client frames in
 * order (a WebSocket's messages, the frames of an SSE session's POSTs), one at a time, and
 * an async `authorize` holds the ones after it, so a subscribe then an unsubscribe of the
 * same channel ends unsubscribed however late the answer comes.
 */
import type { IncomingMessage } from 'node:http'
import type { RealtimeServerFrame } from '../core/realtime/protocol.ts'
import { readHead } from './channel-event.ts'
import {
  checkPublish,
  checkSince,
  type ErrorFrame,
  publishFailed,
  readOnly,
  readRealtimeFrame,
  subscribeFrames,
  tooMany,
  unauthorized,
  unknownChannel,
  wantsSnapshot,
} from './channel-protocol.ts'
import { fits } from './drain.ts'
import { describeError, quote, warn } from './errors.ts'
import type { Following, Sink } from './feed.ts'
import type { LogEntry } from './log.ts'
import type { ChannelState, Channels, FoundChannel, TransportKind } from './realtime-channels.ts'
import type { ResolvedOptions } from './realtime-options.ts'

/** What a session needs from its transport. */
export interface SessionLink {
  readonly kind: TransportKind
  /** The request that opened the connection (for the resolver and `authorize`). */
  readonly request: IncomingMessage
  readonly sink: Sink
  /** One frame's text as payload bytes (before `sink.encode`). */
  payload(text: string): Buffer
  /** Lets the client go: `slow` (behind the bound), `failed` (a log failed it), `flood` (too many frames waiting). */
  cut(reason: 'slow' | 'failed' | 'flood'): void
}

/** One connection's frames and subscriptions. */
export interface Session {
  /** Queues frames (parsed JSON, `BAD_JSON` or `PING`, see `readRealtimeText`); `bytes`: their size on the wire. */
  take(frames: readonly unknown[], bytes: number): void
  /** Sends one frame now (`hello`). */
  reply(frame: RealtimeServerFrame): void
  /** The connection is gone: every subscription stops. */
  end(): void
  /** Subscriptions held now. */
  readonly subscriptions: number
}

/**
 * A thrown value's kind only: what `authorize` and a resolver throw is about a request and
 * its credentials, and its message may quote them.
 */
const nameOf = (error: unknown) => (error instanceof Error ? `${error.name} (message withheld: it may quote the request)` : typeof error)

/** Replies may wait beyond `maxBuffered` by one replay chunk. */
const REPLY_SLACK = 65_536
/** Frames that may wait behind an async `authorize`; past it the connection is cut. */
const MAX_WAITING = 4096

interface Subscription {
  readonly state: ChannelState
  following: Following | undefined
}

interface Waiting {
  readonly frame: unknown
  readonly bytes: number
}

/** A session over `link`; frames are handled in order, replies written to the link's sink. */
export function createSession(link: SessionLink, options: ResolvedOptions, channels: Channels): Session {
  const { sink, request } = link
  const { authorize, maxPayload, maxBuffered, maxSubscriptions } = options
  const subscriptions = new Map<string, Subscription>()
  const queue: Waiting[] = []
  let head = 0
  let waitingBytes = 0
  let busy = false
  let ended = false
  const maxWaitingBytes = 4 * Math.max(16 * maxPayload, 1_048_576)

  const write = (text: string) => {
    if (ended) return
    const bytes = sink.encode(link.payload(text))
    // A client that sends without reading is cut once its replies pass the bound.
    if (!fits(sink, bytes.length, maxBuffered + REPLY_SLACK)) return link.cut('slow')
    sink.write(bytes)
  }
  const reply = (frame: RealtimeServerFrame) => write(JSON.stringify(frame))
  const fail = (frame: ErrorFrame) => reply(frame)

  /** Calls `go` with authorize's answer: at once when it is sync, else later (the queue waits). */
  const decide = (channel: string, action: 'subscribe' | 'publish', go: (allowed: boolean) => Promise<void> | void): Promise<void> | undefined => {
    if (!authorize) return go(true) ?? undefined
    let answer: boolean | Promise<boolean>
    try {
      answer = authorize(request, channel, action)
    } catch (error) {
      warn(`authorize threw for ${action} on channel ${quote(channel)}: ${nameOf(error)}`)
      return void go(false)
    }
    if (!answer || typeof (answer as Promise<boolean>).then !== 'function') return go(answer === true) ?? undefined
    return Promise.resolve(answer).then(
      (allowed) => go(allowed === true),
      (error: unknown) => {
        warn(`authorize failed for ${action} on channel ${quote(channel)}: ${nameOf(error)}`)
        go(false)
      },
    )
  }

  /** The channel, or undefined after the error frame was sent. */
  const find = (channel: string, pid?: string): FoundChannel | undefined => {
    try {
      const found = channels.find(channel, request)
      if (!found) fail(unknownChannel(channel, true, pid))
      return found
    } catch (error) {
      warn(`channel ${quote(channel)}: the channel resolver failed: ${nameOf(error)}`)
      fail({ type: 'error', code: 'server-error', message: `could not open channel ${JSON.stringify(channel)}`, channel, ...(pid === undefined ? {} : { pid }) })
      return undefined
    }
  }

  /** Stops the subscription to `channel`, if any; answers its state and the newest seq it wrote. */
  const drop = (channel: string) => {
    const subscription = subscriptions.get(channel)
    if (!subscription) return undefined
    subscriptions.delete(channel)
    let seq: number | undefined
    try {
      seq = subscription.following?.stop()
    } catch (error) {
      warn(`channel ${quote(channel)}: a subscription could not be stopped: ${describeError(error)}`)
    }
    channels.release(subscription.state)
    return { state: subscription.state, seq }
  }

  const follow = (channel: string, found: FoundChannel, since: string | undefined, after: number | undefined) => {
    const { state, snapshot } = found
    // Read before following: every entry after it reaches this connection.
    const logHead = readHead(state.log)
    const subscription: Subscription = { state, following: undefined }
    subscriptions.set(channel, subscription)
    subscription.following = channels.feed(state, link.kind).follow({
      sink,
      since,
      after,
      start: (replay) => {
        // A throwing snapshot is skipped (warned); undefined: this channel has no state to send now.
        const safeSnapshot = (read: () => unknown) => () => {
          try {
            return read()
          } catch (error) {
            warn(`channel ${quote(channel)}: the snapshot failed, so it was skipped: ${describeError(error)}`)
            return undefined
          }
        }
        // A store that could not tell its head before following (a Redis log whose reader had
        // not started) can once `since` answered: every entry after it still reaches this client.
        const texts = subscribeFrames(channel, logHead ?? readHead(state.log), state.log, replay, snapshot && wantsSnapshot(since, replay) ? safeSnapshot(snapshot) : undefined)
        return Buffer.concat(texts.map((text) => link.payload(text)))
      },
      cut: (reason) => link.cut(reason),
    })
  }

  const subscribe = (channel: string, since: unknown) => {
    const bad = checkSince(since, channel)
    if (bad) return void fail(bad)
    if (!subscriptions.has(channel) && subscriptions.size >= maxSubscriptions) return void fail(tooMany(channel, maxSubscriptions))
    // Asked first: a refused client makes no channel (a resolver such as createChannelLogs
    // makes logs on demand, and must not fill up, or evict idle logs, for refused names).
    return decide(channel, 'subscribe', (allowed) => {
      if (ended) return
      if (!allowed) {
        // A refused subscribe ends the one it would have replaced.
        drop(channel)
        return fail(unauthorized(channel, 'subscribe'))
      }
      const found = find(channel)
      if (!found) return void drop(channel)
      channels.acquire(found.state)
      // What the replaced subscription wrote is not written again (same log, same socket).
      const replaced = drop(channel)
      follow(channel, found, since as string | undefined, replaced?.state === found.state ? replaced.seq : undefined)
    })
  }

  const publish = (channel: string, frame: Record<string, unknown>) => {
    const checked = checkPublish(channel, frame, maxPayload)
    if ('type' in checked) return void fail(checked)
    const { pid, text } = checked
    return decide(channel, 'publish', (allowed) => {
      if (ended) return
      if (!allowed) return fail(unauthorized(channel, 'publish', pid))
      const found = find(channel, pid)
      if (!found) return
      if (!found.writable) return fail(readOnly(channel, true, pid))
      const { state } = found
      const taken = pid === undefined ? undefined : state.pids.get(pid)
      if (taken !== undefined) return reply({ type: 'ack', channel, pid: pid!, id: taken })
      const failed = (error: unknown) => {
        warn(`channel ${quote(channel)}: append failed: ${describeError(error)}`)
        fail(publishFailed(channel, true, pid))
      }
      const acknowledge = (entry: LogEntry | undefined) => {
        const id: unknown = entry?.id
        if (typeof id !== 'string') return failed(new TypeError('append returned no entry with a string id'))
        if (pid === undefined || ended) return
        channels.remember(state, pid, id)
        reply({ type: 'ack', channel, pid, id })
      }
      let appended: LogEntry | Promise<LogEntry>
      try {
        appended = state.log.append(text)
      } catch (error) {
        return failed(error)
      }
      // A shared store answers later: the connection's next frames wait, so acks keep their order.
      if (appended instanceof Promise) return appended.then(acknowledge, failed)
      acknowledge(appended)
    })
  }

  /** Handles one frame; a promise while authorize decides. */
  const handle = (frame: unknown): Promise<void> | undefined => {
    const command = readRealtimeFrame(frame)
    if (command.type === 'ping') return void write('pong')
    if (command.type === 'error') return void fail(command)
    if (command.type === 'subscribe') return subscribe(command.channel, command.since)
    if (command.type === 'unsubscribe') return void drop(command.channel)
    return publish(command.channel, command.message)
  }

  const pump = () => {
    while (!busy && !ended && head < queue.length) {
      const { frame, bytes } = queue[head]!
      queue[head++] = undefined as unknown as Waiting
      waitingBytes -= bytes
      let wait: Promise<void> | undefined
      try {
        wait = handle(frame)
      } catch (error) {
        warn(`a realtime frame could not be handled: ${describeError(error)}`)
      }
      if (wait) {
        busy = true
        void wait
          .catch((error: unknown) => warn(`a realtime frame could not be handled: ${describeError(error)}`))
          .finally(() => {
            busy = false
            pump()
          })
      }
    }
    if (head === queue.length) {
      queue.length = 0
      head = 0
    }
  }

  return {
    take(frames, bytes) {
      if (ended) return
      const each = frames.length ? bytes / frames.length : 0
      for (const frame of frames) queue.push({ frame, bytes: each })
      waitingBytes += each * frames.length
      if (busy && (queue.length - head > MAX_WAITING || waitingBytes > maxWaitingBytes)) return link.cut('flood')
      pump()
    },
    reply,
    end() {
      if (ended) return
      ended = true
      queue.length = 0
      head = 0
      for (const channel of [...subscriptions.keys()]) drop(channel)
    },
    get subscriptions() {
      return subscriptions.size
    },
  }
}
