import type { Connection } from '../connection'
import type { RealtimeError } from '../errors'
import type { FrameScheduler, Timers } from '../runtime'
import type { WireMessage } from '../transport'
import type { createSends } from './sends'

// The types of the cross-tab layer (`shareAcrossTabs`).

/** The part of a BroadcastChannel the relay uses (inject an in-memory one in tests). */
export interface TabChannel {
  postMessage(message: unknown): void
  onmessage: ((event: MessageEvent) => void) | null
  close(): void
}

/** How tabs share a stream. Plain data, so it can be a hook option. */
export interface TabShareOptions {
  /**
   * Prefix of lock and channel names. Tabs share a stream only when their namespaces match.
   * Tabs of different app versions can share one (each decodes messages itself); give a
   * version its own namespace only to keep it on a connection of its own.
   * @defaultValue 'tabwire'
   * @example { namespace: 'shop@2.4' }
   */
  namespace?: string
  /**
   * ms between the leader's heartbeats on the channel.
   * @defaultValue 1000
   */
  heartbeat?: number
  /**
   * A follower that hears nothing from the leader for this long (ms) takes the lead: a
   * frozen or throttled leader must not hold the stream hostage.
   * @defaultValue 4 × heartbeat
   */
  timeout?: number
  /**
   * How many of a follower's sends wait while no leader has acknowledged them; a send
   * beyond it is refused (`'rejected'` and an `overflow` error), never dropped silently.
   * @defaultValue 1000
   */
  maxQueued?: number
}

/** Test seams of {@link shareAcrossTabs}. */
export interface TabShareInjectables {
  /** @defaultValue navigator.locks (`query` is optional: without it a leader cannot check it still leads after a stall) */
  locks?: Pick<LockManager, 'request'> & Partial<Pick<LockManager, 'query'>>
  /** @defaultValue (name) => new BroadcastChannel(name) */
  channel?: (name: string) => TabChannel
  /** @defaultValue globalThis timers */
  timers?: Timers
  /** @defaultValue Date.now */
  now?: () => number
  /** @defaultValue Math.random */
  random?: () => number
  /** Publishes coalesced data changes. @defaultValue requestAnimationFrame, else a 16 ms timer */
  scheduleFrame?: FrameScheduler
  /** @defaultValue the page's own lifecycle and visibility (none outside a document) */
  page?: PageEvents
}

/**
 * What the page tells the cross-tab layer. `leave`: frozen, or hidden for the back/forward
 * cache (`freeze`, `pagehide`); `return`: back (`resume`, `pageshow`); `visibility`: the
 * page was shown or hidden.
 */
export interface PageEvents {
  visible(): boolean
  subscribe(listener: (event: 'leave' | 'return' | 'visibility') => void): () => void
}

/** How this tab reads a shared stream's messages, and what it may send. */
export interface TabDecodeOptions<T> {
  /**
   * For connections that send (WebSocket): relays the followers' sends through the leader
   * and keeps each until a leader acknowledges it. Left out, `send` is not relayed (and the
   * code for it stays out of the bundle).
   * @defaultValue none
   * @example shareAcrossTabs(key, create, { sends: tabSends })
   */
  sends?: typeof createSends
  /**
   * Turns a message as it came off the wire into this tab's data; a throw is a `parse`
   * error in this tab only. The leader relays messages undecoded and every tab decodes
   * them itself, so tabs running different versions of an app never misread each other.
   * @defaultValue the payload as it is
   * @example { decode: (m) => JSON.parse(m.data as string) as Quote }
   */
  decode?: (message: WireMessage) => T
}

/** What a tab's connection needs to be shareable: a connection that may send. */
export type Shareable<T> = Omit<Connection<T>, 'close'> & {
  /**
   * A WebSocket's send. With `report`, a refused message goes to that function instead of
   * the snapshot (the cross-tab layer reports another tab's refused send in that tab).
   */
  send?(message: unknown, options?: { report?: false | ((error: RealtimeError) => void) }): unknown
  /** Stops; a WebSocket returns the messages it still held. */
  close(): unknown
}

/** Where a tab that takes the lead picks the stream up: what the tabs saw last. */
export interface TabResume<T> {
  lastEventId: string | undefined
  data: T | undefined
}
