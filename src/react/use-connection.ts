'use client'
import { useCallback, useInsertionEffect, useMemo, useRef, useSyncExternalStore } from 'react'
import type { Connection, ConnectionSnapshot, RealtimeMessage } from '../core/connection'
import type { RealtimeError } from '../core/errors'
import { defaultRegistry, type Registry } from '../core/registry'

/** Options every hook shares. */
export interface HookOptions<T, S> {
  /**
   * `false` means no connection (like a `null` url).
   * @defaultValue true
   */
  enabled?: boolean
  /** Every message, synchronously and in order; never coalesced or dropped. */
  onMessage?: (message: RealtimeMessage<T>) => void
  /** Every error as it happens (the snapshot only keeps the latest). */
  onError?: (error: RealtimeError) => void
  /**
   * Derive what the component renders from the latest data; the component re-renders only
   * when the result changes by `equals`.
   * @example { select: (quote) => quote.price }
   */
  select?: (data: T) => S
  /** Compares two `select` results. @defaultValue Object.is */
  equals?: (a: S, b: S) => boolean
  /** Where connections are shared. @defaultValue the tab's default registry */
  registry?: Registry
}

/** What a hook renders: the snapshot with `data` as selected, and stable controls. */
export interface HookState<S> extends Omit<ConnectionSnapshot<S>, 'data'> {
  readonly data: S | undefined
  /** Stops the (shared) connection. */
  close(): void
  /** Starts again now, also after a final error. */
  reconnect(): void
}

const IDLE: ConnectionSnapshot<never> = Object.freeze({
  status: 'idle',
  data: undefined,
  lastEventId: undefined,
  error: null,
  attempt: 0,
})
const getServerSnapshot = () => IDLE

/** Keeps `options` readable from long-lived callbacks without making them change. */
export function useLatest<V>(value: V): { readonly current: V } {
  const ref = useRef(value)
  useInsertionEffect(() => {
    ref.current = value
  })
  return ref
}

/**
 * The one adapter every hook is: a `useSyncExternalStore` over a shared core connection,
 * found by `key` (null: none). `create` runs once per key, in the commit phase.
 */
export function useConnection<T, S>(
  key: string | null,
  create: () => Connection<T>,
  options: HookOptions<T, S>,
): HookState<S> {
  const latest = useLatest({ options, create })
  const registry = options.registry ?? defaultRegistry()
  const cache = useRef<{ base: ConnectionSnapshot<T>; view: ConnectionSnapshot<S> } | null>(null)

  const subscribe = useCallback(
    (notify: () => void) => {
      if (key === null) return () => {}
      const lease = registry.acquire(key, () => {
        const connection = latest.current.create()
        connection.connect()
        return connection
      })
      const offs = [
        lease.value.subscribe(notify),
        lease.value.onMessage((message) => latest.current.options.onMessage?.(message)),
        lease.value.onError((error) => latest.current.options.onError?.(error)),
      ]
      return () => {
        for (const off of offs) off()
        lease.release()
      }
    },
    [key, registry, latest],
  )

  const getSnapshot = (): ConnectionSnapshot<S> => {
    const base = (key === null ? undefined : registry.peek<Connection<T>>(key)?.getSnapshot()) ?? IDLE
    const cached = cache.current
    if (cached?.base === base) return cached.view
    const { select, equals = Object.is } = latest.current.options
    const data = base.data === undefined ? undefined : select ? select(base.data) : (base.data as unknown as S)
    const prev = cached?.view
    const sameData = prev !== undefined && (prev.data === data || (prev.data !== undefined && data !== undefined && equals(prev.data, data)))
    const view =
      prev && sameData && prev.status === base.status && prev.error === base.error && prev.attempt === base.attempt && prev.lastEventId === base.lastEventId
        ? prev
        : { ...base, data: sameData ? prev.data : data }
    cache.current = { base, view }
    return view
  }

  const view = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot)
  const close = useCallback(() => key !== null && registry.peek<Connection<T>>(key)?.close(), [key, registry])
  const reconnect = useCallback(() => key !== null && registry.peek<Connection<T>>(key)?.reconnect(), [key, registry])
  return useMemo(() => ({ ...view, close, reconnect }), [view, close, reconnect])
}
