/**
 * The channels a realtime handler serves, as states made on first use and dropped when idle:
 * per channel (name and log), a feed per transport (one log listener each while anyone
 * follows it), the memory of publish ids, and a count of the subscriptions that use it.
 * Idle states (no subscription) are kept for a while, at most `MAX_IDLE` of them, so a
 * client cycling through channel names cannot grow the server's memory.
 */
import type { IncomingMessage } from 'node:http'
import { channelEventJson } from './channel-event.ts'
import { rememberPid } from './channel-protocol.ts'
import { describeError, quote, warn } from './errors.ts'
import { createFeed, type Feed } from './feed.ts'
import { formatEvent } from './format.ts'
import type { AnyReplayLog } from './log.ts'
import { isLog, type ResolvedOptions } from './realtime-options.ts'
import { webSocketTextFrame } from './wire.ts'

/** Which transport a connection uses. */
export type TransportKind = 'websocket' | 'sse'

/** One channel's state, shared by every connection that uses it. */
export interface ChannelState {
  readonly name: string
  readonly log: AnyReplayLog
  /** Subscriptions holding it (pending ones included); 0: idle. */
  users: number
  /** When it last became idle or was used while idle (ms, `performance.now`). */
  idleSince: number
  readonly feeds: Partial<Record<TransportKind, Feed>>
  /** Publish id → the id of the entry it was appended as; the newest `MAX_PIDS` (channel-protocol.ts). */
  readonly pids: Map<string, string>
}

/** A channel as one connection sees it: its state, and what the resolver said for it. */
export interface FoundChannel {
  readonly state: ChannelState
  readonly writable: boolean
  readonly snapshot: (() => unknown) | undefined
}

/** Idle channel states kept at most (the least recently used goes first). */
export const MAX_IDLE = 256
/** An idle channel state is dropped after this many ms. */
export const IDLE_MS = 60_000

/** The channel states of one handler. */
export interface Channels {
  /** The channel named `name` for a connection opened by `request`; undefined: unknown. Throws when the resolver does. */
  find(name: string, request: IncomingMessage): FoundChannel | undefined
  /** A subscription starts using `state` (and the resolver hears `retain`). */
  acquire(state: ChannelState): void
  /** One stops (the resolver hears `release`). */
  release(state: ChannelState): void
  /** The feed of `state` for connections of `kind`, made on first use. */
  feed(state: ChannelState, kind: TransportKind): Feed
  /** Remembers that `pid` was appended as `id`. */
  remember(state: ChannelState, pid: string, id: string): void
  /** Channel states held now (in use or idle), for tests and metrics. */
  readonly size: number
}

/** Channel states for a handler with `options`; see the module comment for the bounds. */
export function createChannels(options: ResolvedOptions): Channels {
  const { channels, maxBuffered, batchWindow } = options
  const byName = new Map<string, ChannelState[]>()
  /** Idle states, the one idle longest first. */
  const idle = new Set<ChannelState>()
  let size = 0

  const drop = (state: ChannelState) => {
    idle.delete(state)
    const list = byName.get(state.name)
    const rest = list?.filter((s) => s !== state) ?? []
    if (rest.length) byName.set(state.name, rest)
    else byName.delete(state.name)
    if (list && rest.length < list.length) size--
  }

  const sweep = () => {
    const now = performance.now()
    for (const state of idle) {
      if (idle.size <= MAX_IDLE && now - state.idleSince < IDLE_MS) break
      drop(state)
    }
  }

  const makeIdle = (state: ChannelState) => {
    state.idleSince = performance.now()
    idle.delete(state)
    idle.add(state)
    sweep()
  }

  const lookup = (name: string, request: IncomingMessage) => {
    if (typeof channels === 'function') return channels(name, request)
    return Object.hasOwn(channels, name) ? channels[name] : undefined
  }

  const tellResolver = (method: 'retain' | 'release', name: string) => {
    if (typeof channels !== 'function') return
    try {
      channels[method]?.(name)
    } catch (error) {
      warn(`channel ${quote(name)}: the channel resolver's ${method} failed: ${describeError(error)}`)
    }
  }

  return {
    find(name, request) {
      const found = lookup(name, request)
      if (!found) return undefined
      const log = isLog(found) ? found : found.log
      if (!log || typeof log.subscribe !== 'function' || typeof log.since !== 'function') throw new TypeError('the channel has no log')
      const list = byName.get(name) ?? []
      let state = list.find((s) => s.log === log)
      if (!state) {
        state = { name, log, users: 0, idleSince: 0, feeds: {}, pids: new Map() }
        byName.set(name, [...list, state])
        size++
      }
      // Used while idle: it goes to the end of the idle line (the sweep takes from the front).
      if (!state.users) makeIdle(state)
      return isLog(found) ? { state, writable: false, snapshot: undefined } : { state, writable: found.writable === true, snapshot: found.snapshot }
    },
    acquire(state) {
      if (!state.users++) idle.delete(state)
      tellResolver('retain', state.name)
    },
    release(state) {
      if (state.users > 0 && !--state.users) makeIdle(state)
      tellResolver('release', state.name)
    },
    feed(state, kind) {
      let feed = state.feeds[kind]
      if (!feed) {
        const json = channelEventJson(state.name)
        const frame = kind === 'websocket' ? (entry: Parameters<typeof json>[0]) => webSocketTextFrame(Buffer.from(json(entry))) : (entry: Parameters<typeof json>[0]) => Buffer.from(formatEvent({ data: json(entry) }))
        feed = state.feeds[kind] = createFeed({ log: state.log, frame, name: `channel ${quote(state.name)}`, maxBuffered, batchWindow })
      }
      return feed
    },
    remember(state, pid, id) {
      rememberPid(state.pids, pid, id)
    },
    get size() {
      return size
    },
  }
}
