'use client'
import { useCallback, useId, useRef, useSyncExternalStore } from 'react'
import type { ConnectionSnapshot, RealtimeMessage } from '../core/connection'
import type { DecodeOptions } from '../core/decode'
import type { RealtimeError } from '../core/errors'
import { defaultRegistry, type Lease, type Registry } from '../core/registry'
import { type ShareMode, shareSlot, startShared } from '../core/share'
import { IDLE } from '../core/tabs'
import type { Shareable, TabRelay, TabResume } from '../core/tab-types'
import { liveOptions, useLatest } from './latest'

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
   * when the result (or the status, error or attempt) changes by `equals`. With `select`,
   * `lastEventId` is the one of the last render.
   * @example { select: (quote) => quote.price }
   */
  select?: (data: T) => S
  /** Compares two `select` results. @defaultValue Object.is */
  equals?: (a: S, b: S) => boolean
  /** Where this tab keeps its connections. @defaultValue the tab's default registry */
  registry?: Registry
  /**
   * Who shares the connection. `'tabs'`: one connection per browser, owned by a leader tab
   * and relayed to the others (where Web Locks or BroadcastChannel are missing, one per
   * tab). `'tab'`: the components of this tab share one. `false`: this component has its
   * own. Options mean `'tabs'` with a namespace, heartbeat or timeout of their own.
   * @defaultValue 'tabs'
   * @example { share: 'tab' } // opt out of cross-tab sharing for this stream
   */
  share?: ShareMode
}

/** What a hook renders: the snapshot with `data` as selected, and stable controls. */
export interface HookState<S> extends Omit<ConnectionSnapshot<S>, 'data'> {
  readonly data: S | undefined
  /** Stops the (shared) connection. */
  close(): void
  /** Starts again now, also after a final error. */
  reconnect(): void
}

const getServerSnapshot = () => IDLE

/**
 * The one adapter every hook is: a `useSyncExternalStore` over a shared core connection,
 * found by `key` (null: none) and the `share` mode. `create` runs once per key, in the
 * commit phase, with a ref to the latest options (read callbacks through it, so inline ones
 * never reconnect); `resume` is set when this tab takes a stream over from another.
 */
export function useConnection<T, S, O extends HookOptions<T, S> & DecodeOptions<T>>(
  key: string | null,
  create: (latest: { readonly current: O }, resume: TabResume<T> | undefined, relay: TabRelay | undefined) => Shareable<T>,
  options: O,
): {
  state: HookState<S>
  /** Takes a hold on the stream's connection, starting it if needed (none without a key). */
  acquire(): Lease<Shareable<T>> | undefined
  /** The stream's connection, if it runs. */
  peek(): Shareable<T> | undefined
} {
  const latest = useLatest(options)
  const make = useLatest(create)
  const registry = options.registry ?? defaultRegistry()
  const instance = useId()
  const slot = key === null ? null : shareSlot(key, options.share, instance)
  const cache = useRef<{ base: ConnectionSnapshot<T>; select: unknown; view: ConnectionSnapshot<S> } | null>(null)

  const acquire = useCallback(
    () =>
      slot === null
        ? undefined
        : registry.acquire(slot, () =>
            startShared<T>(key!, latest.current.share, (resume, relay) => make.current(latest, resume, relay), liveOptions(latest, ['parse'])),
          ),
    // `key` is part of `slot`.
    [slot, registry, latest, make],
  )
  const peek = useCallback(() => registry.peek<Shareable<T>>(slot), [slot, registry])

  const subscribe = useCallback(
    (notify: () => void) => {
      const lease = acquire()
      if (!lease) return () => {}
      const offs = [
        lease.value.subscribe(notify),
        lease.value.onMessage((message) => latest.current.onMessage?.(message)),
        lease.value.onError((error) => latest.current.onError?.(error)),
      ]
      return () => {
        for (const off of offs) off()
        lease.release()
      }
    },
    [acquire, latest],
  )

  const getSnapshot = (): ConnectionSnapshot<S> => {
    const base = peek()?.getSnapshot() ?? IDLE
    // This render's select applies at once (it may close over new props).
    const { select, equals = Object.is } = options
    if (!select) return base as ConnectionSnapshot<unknown> as ConnectionSnapshot<S>
    const cached = cache.current
    if (cached?.base === base && cached.select === select) return cached.view
    // Keep the previous view, and so skip the render, when nothing but the unselected data
    // (and with it lastEventId) changed.
    const prev = cached?.view
    const data = base.data === undefined ? undefined : select(base.data)
    const next = { ...base, data: prev?.data !== undefined && data !== undefined && equals(prev.data, data) ? prev.data : data }
    const view = prev && (Object.keys(next) as (keyof typeof next)[]).every((k) => k === 'lastEventId' || prev[k] === next[k]) ? prev : next
    cache.current = { base, select, view }
    return view
  }

  const view = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot)
  const close = useCallback(() => void peek()?.close(), [peek])
  const reconnect = useCallback(() => peek()?.reconnect(), [peek])
  return { state: { ...view, close, reconnect }, acquire, peek }
}
