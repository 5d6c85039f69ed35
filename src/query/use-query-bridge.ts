'use client'
import { type QueryClient, useQueryClient } from '@tanstack/react-query'
import { type ReactNode, useCallback, useEffect, useInsertionEffect, useMemo, useRef } from 'react'
import type { RealtimeMessage } from '../core/connection-types'
import type { RealtimeError } from '../core/errors'
import type { ChannelReset, RealtimeClient } from '../core/realtime/client-types'
import { createQueryBridge, type QueryBridge, type QueryBridgeOptions } from './bridge'
import { invalidateFrameKeys } from './frames'

/** Options of the bridge hooks: the bridge's, and the QueryClient to keep fresh. */
export interface UseQueryBridgeOptions<T> extends QueryBridgeOptions<T> {
  /** @defaultValue the `QueryClientProvider`'s */
  queryClient?: QueryClient
}

/**
 * Callbacks to hand to `useRealtime`, `useEventSource` or `useWebSocket` (spread them into
 * its options). Each keeps one identity for the life of the QueryClient.
 */
export interface QueryBridgeHandlers<T> {
  /** Every message: `update`, then `invalidate`. */
  onMessage(message: RealtimeMessage<T>): void
  /** A channel reset (any reason, `gap` too): invalidates the bridge's `keys`. */
  onReset(reset: ChannelReset): void
  /**
   * A `gap` error (the stream lost events): invalidates the bridge's `keys`. Other errors
   * are the stream's own and are ignored here.
   */
  onError(error: RealtimeError): void
}

/** The component's bridge, made on first use and kept for its QueryClient; dispose flushes it. */
function useBridge<T>(options: UseQueryBridgeOptions<T>): () => QueryBridge<T> {
  const queryClient = useQueryClient(options.queryClient)
  const latest = useRef(options)
  useInsertionEffect(() => {
    latest.current = options
  })
  const held = useRef<{ queryClient: QueryClient; bridge: QueryBridge<T> } | null>(null)
  const get = useCallback(() => {
    if (held.current?.queryClient !== queryClient) held.current = { queryClient, bridge: createQueryBridge<T>(queryClient, () => latest.current) }
    return held.current.bridge
  }, [queryClient])
  useEffect(() => () => get().dispose(), [get])
  return get
}

/**
 * Keeps the TanStack Query cache fresh from a stream a tabwire hook already holds: returns
 * handlers to spread into its options. Invalidations are merged per key over a frame; a
 * reset or `gap` invalidates `keys` once; a throwing callback is an error to `onError`.
 * @example
 * const bridge = useQueryBridge<Change>({ invalidate: (m) => [['todos'], ['todo', m.data.id]] })
 * useRealtime('todos', bridge)
 * @example
 * const bridge = useQueryBridge<Quote>({ update: (m, qc) => qc.setQueryData(['quote', m.data.symbol], m.data), keys: [['quote']] })
 * useEventSource<Quote>('/api/quotes', { json: true, ...bridge })
 */
export function useQueryBridge<T>(options: UseQueryBridgeOptions<T>): QueryBridgeHandlers<T> {
  const bridge = useBridge(options)
  return useMemo(
    () => ({
      onMessage: (message: RealtimeMessage<T>) => bridge().message(message),
      onReset: (reset: ChannelReset) => bridge().discontinuity(reset),
      onError: (error: RealtimeError) => void (error.kind === 'gap' && bridge().discontinuity()),
    }),
    [bridge],
  )
}

/**
 * Holds a realtime channel of `client` and keeps the TanStack Query cache fresh from it
 * (the hold is the component's: the channel is subscribed while it is mounted).
 * @param client - from `createRealtime` (tabwire/core), or null for none.
 * @param channel - the channel's name, or null for none.
 * @example
 * useRealtimeQueryBridge<Change>(realtime, 'todos', { invalidate: (m) => [['todos'], ['todo', m.data.id]] })
 */
export function useRealtimeQueryBridge<T>(client: RealtimeClient | null, channel: string | null, options: UseQueryBridgeOptions<T>): void {
  const bridge = useBridge(options)
  useEffect(() => {
    if (!client || channel === null) return
    const hold = client.channel<T>(channel)
    const off = bridge().attach(hold)
    return () => {
      off()
      hold.release()
    }
  }, [client, channel, bridge])
}

/** Props of {@link RealtimeQueryBridge}. */
export interface RealtimeQueryBridgeProps extends Omit<UseQueryBridgeOptions<unknown>, 'invalidate' | 'update'> {
  /** The realtime client (from `createRealtime`, tabwire/core). */
  client: RealtimeClient
  /** The channel the server sends `{ type: 'invalidate', queryKey }` frames on. */
  channel: string
  /**
   * What a reset of the channel invalidates: missed frames could have named any query.
   * @defaultValue [[]]: every query
   */
  keys?: UseQueryBridgeOptions<unknown>['keys']
}

const EVERY_QUERY = [[]] as const

/**
 * For a server that says what changed: each `{ type: 'invalidate', queryKey }` (or
 * `queryKeys`) frame on `channel` invalidates those queries, merged per frame; a malformed
 * frame is a `protocol` error to `onError`; a reset invalidates every query. Renders nothing.
 * @example
 * <QueryClientProvider client={queryClient}>
 *   <RealtimeQueryBridge client={realtime} channel="cache" />
 *   <App />
 * </QueryClientProvider>
 */
export function RealtimeQueryBridge({ client, channel, keys = EVERY_QUERY, ...options }: RealtimeQueryBridgeProps): ReactNode {
  useRealtimeQueryBridge(client, channel, { ...options, keys, invalidate: invalidateFrameKeys })
  return null
}
