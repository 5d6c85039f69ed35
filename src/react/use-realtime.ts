'use client'
import { useCallback, useRef, useSyncExternalStore } from 'react'
import { misuse, RealtimeError } from '../core/errors'
import type { ChannelMessage, ChannelReset, ChannelSnapshot, RealtimeClient, RealtimeSnapshot } from '../core/realtime/client-types'
import { isChannelName } from '../core/realtime/protocol'
import { IDLE as CONNECTION_IDLE } from '../core/store'
import type { SendResult } from '../core/web-socket-options'
import { useLatest } from './latest'
import { useRealtimeClient } from './realtime-provider'

declare const process: { env: Record<string, string | undefined> }

/** Options of {@link useRealtime}. Inline objects and callbacks never resubscribe. */
export interface UseRealtimeOptions<T, S = T> {
  /** The client to use instead of the {@link RealtimeProvider}'s. @defaultValue the provider's */
  client?: RealtimeClient
  /** `false` holds no channel (like a `null` channel). @defaultValue true */
  enabled?: boolean
  /** Every message of the channel, synchronously and in order; never coalesced. @example { onMessage: (m) => append(m.data) } */
  onMessage?: (message: ChannelMessage<T>) => void
  /** Every reset: what the channel missed is gone, refetch what depends on it. @example { onReset: () => refetch() } */
  onReset?: (reset: ChannelReset) => void
  /** Every error of the channel and of the connection. @example { onError: (e) => e.kind === 'auth' && signIn() } */
  onError?: (error: RealtimeError) => void
  /**
   * Derives what the component renders from the latest data; it re-renders only when the
   * result (or the status, error, reset or transport) changes by `equals`. With `select`,
   * `lastEventId` is the one of the last render.
   * @example { select: (quote: Quote) => quote.price }
   */
  select?: (data: T) => S
  /** Compares two `select` results. @defaultValue Object.is @example { equals: (a, b) => a.id === b.id } */
  equals?: (a: S, b: S) => boolean
}

/** Publishes to the hook's channel (see `RealtimeChannel.publish`); one identity per channel. */
export interface Publish<Out> {
  (data: Out): SendResult
  (data: Out, options: { ack: true }): Promise<string>
}

/** What {@link useRealtime} returns: the channel's snapshot with `data` selected, and controls. */
export interface UseRealtimeResult<S, Out> extends Omit<ChannelSnapshot<S>, 'data'> {
  readonly data: S | undefined
  publish: Publish<Out>
  /** Starts the connection again now, also after a final error. */
  reconnect(): void
}

const IDLE: ChannelSnapshot<never> = { ...CONNECTION_IDLE, transport: undefined, reset: null }
const getServerSnapshot = () => IDLE

/**
 * Subscribes a component to a realtime channel of the client from {@link RealtimeProvider}
 * (or `options.client`). Components using one channel, in this tab or any other, share one
 * subscription on one connection; a remount within the client's `grace` does not unsubscribe.
 * @param channel - the channel's name, or `null` for none.
 * @example
 * const { data: price, status } = useRealtime(`prices:${symbol}`, { select: (q: Quote) => q.price })
 * const chat = useRealtime<Said, Say>('room:lobby', { onMessage: (m) => append(m.data) })
 * chat.publish({ text: 'hi' }) // 'sent' | 'queued' | 'rejected'
 */
export function useRealtime<T, Out = unknown, S = T>(channel: string | null, options: UseRealtimeOptions<T, S> = {}): UseRealtimeResult<S, Out> {
  const client = useRealtimeClient(options.client)
  const name = options.enabled === false ? null : channel
  if (name !== null && !isChannelName(name)) throw misuse('useRealtime', 'channel', process.env.NODE_ENV !== 'production' && 'a channel name is a non-empty string of at most 256 characters, or null')
  const latest = useLatest(options)
  const before = useRef<{ from: RealtimeSnapshot; base: ChannelSnapshot<T> } | null>(null)
  const cache = useRef<{ base: ChannelSnapshot<T>; select: unknown; view: ChannelSnapshot<S> } | null>(null)

  const subscribe = useCallback(
    (notify: () => void) => {
      if (name === null) return () => {}
      const held = client.channel<T, Out>(name)
      const offs = [
        held.subscribe(notify),
        held.onMessage((m) => latest.current.onMessage?.(m)),
        held.onReset((r) => latest.current.onReset?.(r)),
        held.onError((e) => latest.current.onError?.(e)),
      ]
      return () => {
        for (const off of offs) off()
        held.release()
      }
    },
    [client, name, latest],
  )

  /** Before this tab holds the channel: the connection's state, one object per connection snapshot. */
  const unheld = (from: RealtimeSnapshot) => {
    if (before.current?.from !== from) before.current = { from, base: { ...from, data: undefined, lastEventId: undefined, reset: null } }
    return before.current.base
  }
  const getSnapshot = (): ChannelSnapshot<S> => {
    const base = name === null ? IDLE : (client.peek<T>(name) ?? unheld(client.getSnapshot()))
    // This render's select applies at once (it may close over new props).
    const { select, equals = Object.is } = options
    const cached = cache.current
    if (cached?.base === base && cached.select === select) return cached.view
    // Keep the previous view (no render) when nothing it shows changed: a new snapshot
    // object with equal fields, or (with select) an equal selection with another event id.
    const prev = cached?.view
    const data = (select && base.data !== undefined ? select(base.data) : base.data) as S | undefined
    const next = { ...base, data: select && prev?.data !== undefined && data !== undefined && equals(prev.data, data) ? prev.data : data }
    const same = (k: keyof typeof next) => (select && k === 'lastEventId') || prev![k] === next[k]
    const view = prev && (Object.keys(next) as (keyof typeof next)[]).every(same) ? prev : next
    cache.current = { base, select, view }
    return view
  }
  const view = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot)

  const publish = useCallback(
    ((data: Out, publishOptions?: { ack: true }) => {
      if (name === null) {
        const error = new RealtimeError('ended', 'useRealtime: no channel (null, or enabled: false); nothing was published')
        return publishOptions?.ack ? Promise.reject(error) : 'rejected'
      }
      // A publish before this component subscribed (a child's effect) still goes out: hold the channel for a moment.
      const held = client.channel<T, Out>(name)
      try {
        return publishOptions?.ack ? held.publish(data, publishOptions) : held.publish(data)
      } finally {
        held.release()
      }
    }) as Publish<Out>,
    [client, name],
  )
  const reconnect = useCallback(() => client.reconnect(), [client])
  return { ...view, publish, reconnect }
}
