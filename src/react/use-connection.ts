'use client'
import { useCallback, useContext, useId, useInsertionEffect, useRef, useSyncExternalStore } from 'react'
import type { ConnectionSnapshot, RealtimeMessage } from '../core/connection'
import type { DecodeOptions } from '../core/decode'
import type { RealtimeError } from '../core/errors'
import { createOptionsCell, type OptionsCell } from '../core/options-cell'
import { defaultRegistry, type Lease, type Registry } from '../core/registry'
import { type ShareMode, shareSlot, startShared } from '../core/share'
import { IDLE } from '../core/store'
import type { Shareable, TabDecodeOptions, TabResume } from '../core/tabs/types'
import type { WireMessage } from '../core/transport'
import { liveDecoder, useLatest } from './latest'
import { RegistryContext } from './registry-provider'

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
  /** Where this tab keeps its connections. @defaultValue the {@link RegistryProvider}'s, else the tab's default registry */
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

/** What a registry holds for a stream: its connection and its holders' options. */
export interface Entry<T, O> {
  _stream: Shareable<T>
  _options: OptionsCell<O>
  close(): unknown
}

/**
 * Makes a stream's connection. `inputs` are the options it was created with (bound to its
 * key: read the url and wire options there); `live()` gives the newest options of a holder
 * still there (read callbacks through it). `resume` is set when this tab takes the stream
 * over from another; `shared` when the connection serves other tabs too.
 */
export type CreateConnection<T, O> = (inputs: O, live: () => O, resume: TabResume<T> | undefined, shared: boolean) => Shareable<T>

const getServerSnapshot = () => IDLE

/**
 * The one adapter every hook is: a `useSyncExternalStore` over a shared core connection,
 * found by `key` (null: none) and the `share` mode. The registry entry owns an options
 * cell that every holder updates on each commit; `create` runs once per key with the
 * inputs of that key, never through a ref that could follow another key.
 */
export function useConnection<T, S, O extends HookOptions<T, S> & DecodeOptions<T>>(
  key: string | null,
  create: CreateConnection<T, O>,
  options: O,
  /** For connections that send: relays other tabs' sends through the leader. */
  sends?: TabDecodeOptions<T>['sends'],
): {
  state: HookState<S>
  /** Takes a hold on the stream's entry, starting its connection if needed (none without a key). */
  acquire(): Lease<Entry<T, O>> | undefined
  /** The stream's entry, if its connection runs. */
  peek(): Entry<T, O> | undefined
} {
  const latest = useLatest(options)
  const provided = useContext(RegistryContext)
  const registry = options.registry ?? provided ?? defaultRegistry()
  const instance = useId()
  const slot = key === null ? null : shareSlot(key, options.share, instance)
  const cache = useRef<{ _base: ConnectionSnapshot<T>; _select: unknown; _view: ConnectionSnapshot<S> } | null>(null)

  /** Takes a hold on the entry for this render's slot, creating it from this render's options. */
  const acquire = useCallback((): Lease<Entry<T, O>> | undefined => {
    if (slot === null) return undefined
    const inputs = latest.current
    return registry.acquire(slot, (): Entry<T, O> => {
      const cell = createOptionsCell(inputs)
      const connection = startShared<T>(key!, inputs.share, (resume, shared) => create(inputs, cell.get, resume, shared), { ...registry.tab, decode: liveDecoder(cell.get), sends })
      return { _stream: connection, _options: cell, close: () => connection.close() }
    })
    // `key` is part of `slot`, and `create` stays the one of the render that made this slot.
  }, [slot, registry, latest])
  const peek = useCallback(() => registry.peek<Entry<T, O>>(slot), [slot, registry])

  // Every commit, this holder's newest options go to the entry it holds.
  useInsertionEffect(() => peek()?._options.set(instance, options))

  const subscribe = useCallback(
    (notify: () => void) => {
      const lease = acquire()
      if (!lease) return () => {}
      const { _stream: connection, _options: cell } = lease.value
      cell.set(instance, latest.current)
      const offs = [
        connection.subscribe(notify),
        connection.onMessage((message) => latest.current.onMessage?.(message)),
        connection.onError((error) => latest.current.onError?.(error)),
      ]
      return () => {
        for (const off of offs) off()
        cell.remove(instance)
        lease.release()
      }
    },
    [acquire, latest, instance],
  )

  const getSnapshot = (): ConnectionSnapshot<S> => {
    const base = peek()?._stream.getSnapshot() ?? IDLE
    // This render's select applies at once (it may close over new props).
    const { select, equals = Object.is } = options
    if (!select) return base as ConnectionSnapshot<unknown> as ConnectionSnapshot<S>
    const cached = cache.current
    if (cached?._base === base && cached._select === select) return cached._view
    // Keep the previous view, and so skip the render, when nothing but the unselected data
    // (and with it lastEventId) changed.
    const prev = cached?._view
    const data = base.data === undefined ? undefined : select(base.data)
    const next = { ...base, data: prev?.data !== undefined && data !== undefined && equals(prev.data, data) ? prev.data : data }
    const view = prev && (Object.keys(next) as (keyof typeof next)[]).every((k) => k === 'lastEventId' || prev[k] === next[k]) ? prev : next
    cache.current = { _base: base, _select: select, _view: view }
    return view
  }

  const view = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot)
  const close = useCallback(() => void peek()?.close(), [peek])
  const reconnect = useCallback(() => peek()?._stream.reconnect(), [peek])
  return { state: { ...view, close, reconnect }, acquire, peek }
}
