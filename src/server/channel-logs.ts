/**
 * `createChannelLogs`: a channel resolver that makes a log for each name on demand, bounded
 * in number, and lets idle ones go.
 */
import { describeError, quote, ServerOptionsError, warn } from './errors.ts'
import { createMemoryLog, type AnyReplayLog } from './log.ts'
import type { ChannelResolver, RealtimeChannel } from './realtime-options.ts'

/** Options of `createChannelLogs`. */
export interface ChannelLogsOptions {
  /**
   * Makes the log of a channel the first time its name is asked for.
   * @defaultValue `() => createMemoryLog()`
   * @example createChannelLogs({ create: (name) => createMemoryLog({ capacity: name.startsWith('chat/') ? 500 : 50 }) })
   */
  create?: (name: string) => AnyReplayLog
  /**
   * Logs kept at most. When all are in use (a subscriber follows each), a new name is
   * unknown (`unknown-channel`); otherwise the least recently used one nobody follows goes.
   * @defaultValue 1000
   * @example createChannelLogs({ max: 10_000 })
   */
  max?: number
  /**
   * A log with no subscriber and no append for this many ms is dropped (never one a
   * connected subscriber follows).
   * @defaultValue 300000
   * @example createChannelLogs({ idle: 60_000 })
   */
  idle?: number
  /**
   * Whether clients may publish to a channel.
   * @defaultValue false
   * @example createChannelLogs({ writable: (name) => name.startsWith('chat/') })
   */
  writable?: boolean | ((name: string) => boolean)
  /**
   * A channel's current state, sent to subscriptions that do not resume (see `RealtimeChannel.snapshot`).
   * @defaultValue none
   * @example createChannelLogs({ snapshot: (name) => rooms.get(name)?.members ?? [] })
   */
  snapshot?: (name: string) => unknown
  /**
   * The clock, in ms (tests inject one).
   * @defaultValue `performance.now`
   * @example createChannelLogs({ now: () => clock.now })
   */
  now?: () => number
}

/** A resolver over logs made on demand (see {@link createChannelLogs}). */
export interface ChannelLogs extends ChannelResolver {
  /** The handler calls it when a subscription to `name` starts: the log is kept while it lasts. */
  retain(name: string): void
  /** The handler calls it once per `retain`, when that subscription ends. */
  release(name: string): void
  /** The log of `name`, made if needed; undefined when all `max` are in use. For appending from the server. */
  log(name: string): AnyReplayLog | undefined
  /** Logs kept now. */
  readonly size: number
}

interface Slot {
  readonly log: AnyReplayLog
  users: number
  last: number
  off: () => void
}

/**
 * A channel resolver for `createRealtimeHandler` that makes a log per channel name on first
 * use, keeps at most `max`, and drops one idle (no subscriber, no append) for `idle` ms.
 * The handler tells it which logs are in use through `retain` / `release` (it calls them
 * on any resolver that has them); an append is noticed through the log's own listener.
 * Eviction runs when a name is asked for, and on one timer (unref'd) while some log is idle:
 * a log it keeps is followed (a Redis log keeps reading its stream), so one that clients
 * left goes after `idle` ms even when no other name is asked for.
 *
 * @example
 * const rooms = createChannelLogs({ writable: true, max: 5000 })
 * const realtime = createRealtimeHandler({ channels: rooms, origins: ['https://app.example.com'] })
 * rooms.log('lobby')?.append(JSON.stringify({ text: 'welcome' }))
 */
export function createChannelLogs(options: ChannelLogsOptions = {}): ChannelLogs {
  const { create = () => createMemoryLog(), max = 1000, idle = 300_000, writable = false, snapshot, now = () => performance.now() } = options
  if (!(Number.isInteger(max) && max >= 1)) throw new ServerOptionsError('createChannelLogs', 'max', '`max` must be a whole number of at least 1')
  if (!(typeof idle === 'number' && idle >= 0)) throw new ServerOptionsError('createChannelLogs', 'idle', '`idle` must be a number of ms')
  /** In order of last use, the least recently used first. */
  const slots = new Map<string, Slot>()

  const touch = (name: string, slot: Slot) => {
    slot.last = now()
    slots.delete(name)
    slots.set(name, slot)
  }

  const evict = (name: string, slot: Slot) => {
    slots.delete(name)
    try {
      slot.off()
    } catch (error) {
      warn(`channel ${quote(name)}: the log failed to unsubscribe a listener: ${describeError(error)}`)
    }
  }

  const sweep = () => {
    const time = now()
    for (const [name, slot] of slots) {
      if (slot.users) continue
      // Later ones were used more recently: none of them is idle long enough either.
      if (time - slot.last < idle) break
      evict(name, slot)
    }
  }

  /** One timer, for when the least recently used idle log would go; none while none is idle. */
  let timer: ReturnType<typeof setTimeout> | undefined
  const sweepLater = () => {
    if (timer !== undefined) return
    for (const slot of slots.values()) {
      if (slot.users) continue
      timer = setTimeout(() => {
        timer = undefined
        sweep()
        sweepLater()
      }, Math.max(0, slot.last + idle - now()))
      timer.unref?.()
      return
    }
  }

  const logOf = (name: string): AnyReplayLog | undefined => {
    sweep()
    let slot = slots.get(name)
    if (!slot) {
      if (slots.size >= max) {
        const free = [...slots].find(([, s]) => !s.users)
        if (!free) return undefined
        evict(...free)
      }
      const log = create(name)
      const made: Slot = { log, users: 0, last: now(), off: () => {} }
      made.off = log.subscribe(() => {
        if (slots.get(name) === made) touch(name, made)
      })
      slot = made
    }
    touch(name, slot)
    sweepLater()
    return slot.log
  }

  const resolver = ((name: string): RealtimeChannel | undefined => {
    const log = logOf(name)
    if (!log) return undefined
    return { log, writable: typeof writable === 'function' ? writable(name) : writable, ...(snapshot ? { snapshot: () => snapshot(name) } : {}) }
  })

  return Object.defineProperties(resolver as unknown as ChannelLogs, {
    retain: {
      value: (name: string) => {
        const slot = slots.get(name)
        if (!slot) return
        slot.users++
        touch(name, slot)
      },
    },
    release: {
      value: (name: string) => {
        const slot = slots.get(name)
        if (!slot || !slot.users) return
        slot.users--
        touch(name, slot)
        sweepLater()
      },
    },
    log: { value: logOf },
    size: { get: () => slots.size },
  })
}
