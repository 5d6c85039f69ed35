import { hashKey, type Query, type QueryClient, type QueryKey } from '@tanstack/react-query'
import type { Connection, RealtimeMessage } from '../core/connection-types'
import { RealtimeError } from '../core/errors'
import type { ChannelReset, RealtimeChannel } from '../core/realtime/client-types'
import { type FrameScheduler, reportListenerError, type Timers } from '../core/runtime'
import { createTabRefetch, type QueryTabsOptions } from './tabs'

/** Options of {@link createQueryBridge}. Every callback is read at call time, so it may change. */
export interface QueryBridgeOptions<T> {
  /**
   * The query keys a message makes stale (each one a prefix, as `invalidateQueries` takes it).
   * A key's changes are merged until it is quiet for a `window`, so a burst refetches each
   * key once. A throw, or anything but an array of arrays, is an error to `onError`.
   * @defaultValue none
   * @example { invalidate: (m) => [['todos'], ['todo', m.data.id]] }
   */
  invalidate?: (message: RealtimeMessage<T>) => readonly QueryKey[] | undefined | void
  /**
   * Writes a message into the cache in place. A fetch in flight for a query it writes is
   * cancelled at once (before any older response can land), so the update is never
   * overwritten by data fetched before it. A throw is an error to `onError`.
   * @defaultValue none
   * @example { update: (m, qc) => qc.setQueryData(['quote', m.data.symbol], m.data) }
   */
  update?: (message: RealtimeMessage<T>, queryClient: QueryClient) => void
  /**
   * What a discontinuity (a reset, a `gap`) invalidates: the keys this stream feeds.
   * @defaultValue every key the bridge invalidated or updated so far (the last 1000)
   * @example { keys: [['todos']] }
   */
  keys?: readonly QueryKey[]
  /**
   * Bad input: a throwing `invalidate` or `update` (`parse`; a `RealtimeError` it throws is
   * passed on as it is), a key that is not an array (`parse`), a malformed invalidate frame
   * (`protocol`). The stream and the cache go on.
   * @defaultValue the global `reportError` (else `console.error`)
   * @example { onError: (e) => log(e.kind, e.message) }
   */
  onError?: (error: RealtimeError) => void
  /**
   * How quiet (ms) a key must have been before its invalidation goes out: changes are
   * gathered in windows of this length, and a key goes out at the end of a window in which
   * it did not change (or `maxWait` after its first change). A burst refetches once, at its
   * end, however many windows it spans; a lone change goes out one to two windows later.
   * @defaultValue one frame (16 ms)
   * @example { window: 50 }
   */
  window?: number
  /**
   * The longest (ms) a key's changes wait for it to go quiet: under a steady stream of
   * changes a key refetches about once per `maxWait`.
   * @defaultValue 1000, or `window` if that is longer
   * @example { maxWait: 250 }
   */
  maxWait?: number
  /**
   * `'tabs'`: one refetch per browser. For each key, the tab that gets its Web Lock (without
   * waiting) refetches and posts the data over a BroadcastChannel; the other tabs' bridges
   * set it. A result counts for a tab only if its fetch started after the change: after the
   * fetching tab heard of every change (message id) this tab waits for, or, for changes
   * without an id, after this tab heard of them. A waiting tab fetches itself if the fetching
   * tab dies, or after `timeout`. Where locks or BroadcastChannel are missing, each tab
   * refetches itself. Data the channel cannot clone is fetched by every tab. `false`: each
   * tab refetches itself.
   * @defaultValue 'tabs'
   * @example { share: false }
   * @example { share: { namespace: 'shop', timeout: 5000 } }
   */
  share?: false | 'tabs' | QueryTabsOptions
  /**
   * Injectable timers: the `window`, the frame, and the wait for another tab's result.
   * (`maxWait` reads the clock `share.now`, else `Date.now`.)
   * @defaultValue globalThis timers
   */
  timers?: Timers
  /**
   * Injectable scheduler of the windows, used when `window` is not set.
   * @defaultValue a 16 ms timer on `timers`
   */
  scheduleFrame?: FrameScheduler
}

/** A stream the bridge can listen to: a realtime channel hold, or a connection (tabwire/core). */
export type BridgeSource<T> = Pick<RealtimeChannel<T>, 'onMessage' | 'onReset'> | Pick<Connection<T>, 'onMessage' | 'onError'>

/** Keeps a QueryClient fresh from one stream's messages. See {@link createQueryBridge}. */
export interface QueryBridge<T> {
  /**
   * Takes one message: `update`, then `invalidate` (merged with the others of its frame). A
   * `reset` event of tabwire/server's SSE handler (data `{ epoch, reason }`: the stream
   * could not resume) is a discontinuity instead (subscribe to it: `events: [..., 'reset']`).
   */
  message(message: RealtimeMessage<T>): void
  /**
   * The stream lost events nobody can give again: invalidates `keys` (once per call, merged).
   * `reset`: the channel reset that says so (every tab hears the same one, so one fetch
   * serves them all).
   */
  discontinuity(reset?: ChannelReset): void
  /**
   * Invalidates `keys` (each an array) with the next flush; a bad key is an error to
   * `onError`, naming `from` (the message the keys came from) when given.
   */
  invalidate(keys: readonly unknown[], from?: Pick<RealtimeMessage<unknown>, 'raw' | 'id'>, change?: string): void
  /**
   * Listens to a channel (messages, resets) or a connection (messages, `gap` errors).
   * @returns a function that stops listening
   */
  attach(source: BridgeSource<T>): () => void
  /**
   * Sends what is gathered now and stops watching the cache once the follow-ups it owes are
   * done; the bridge may be used again.
   */
  dispose(): void
}

const SEEN_MAX = 1000
const CHANGES_MAX = 64

/** A key's changes not sent yet (times on the clock every tab shares). */
export interface PendingChanges {
  key: QueryKey
  /** When this tab first and last heard of a change. */
  first: number
  last: number
  /** When it last heard of a change without an id. */
  idless: number | undefined
  /** Whether a change came since the last frame. */
  touched: boolean
  /** The ids of the changes (see `messageChange`). */
  changes: string[]
}

/** What names a change in every tab alike: a message's event and id, a reset's channel and epoch. */
const messageChange = (m: RealtimeMessage<unknown>) => (m.id === undefined ? undefined : `${m.event}\n${m.id}`)
const resetChange = (r: ChannelReset | undefined) => (r && r.reason !== 'gap' && r.epoch ? `reset\n${r.channel}\n${r.epoch}` : undefined)

/** tabwire/server's SSE `reset` event (`{ epoch, reason }`): the stream could not resume. */
function isLogReset(message: RealtimeMessage<unknown>): boolean {
  if (message.event !== 'reset') return false
  let data = message.data
  try {
    if (typeof data === 'string') data = JSON.parse(data)
  } catch {
    return false
  }
  const d = data as { epoch?: unknown; reason?: unknown } | null
  return typeof d === 'object' && d !== null && typeof d.epoch === 'string' && typeof d.reason === 'string'
}

const show = (value: unknown) => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Array.isArray(value) ? 'an array that is not JSON' : typeof value
  }
}

/**
 * A frame's worth of time on a timer, not `requestAnimationFrame`: the bridge renders
 * nothing, and animation frames stop in a hidden tab and slow down in one that is covered,
 * which would hold back that tab's invalidations (and, with `share: 'tabs'`, the other
 * tabs waiting for its fetch).
 */
const FRAME_MS = 16
const timerFrame =
  (timers: Timers): FrameScheduler =>
  (callback) => {
    const handle = timers.setTimeout(callback, FRAME_MS)
    return () => timers.clearTimeout(handle)
  }

const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * Keeps a TanStack `QueryClient` fresh from a stream's messages. Invalidations are merged
 * per key (by `hashKey`) until the key is quiet for a `window` (one frame by default, at
 * most `maxWait`), and sent with `cancelRefetch: false`: a burst never cancels and restarts
 * a fetch. A query that was fetching when its
 * invalidation went out is invalidated again once that fetch settles, since the fetch may
 * have started before the change (TanStack/query#8530 loses exactly that): at most one
 * fetch in flight and one to follow, whatever the rate of changes.
 * @param options - a getter is read at every use (hooks pass their newest options).
 * @example
 * const bridge = createQueryBridge(queryClient, { invalidate: (m) => [['todos']] })
 * const off = bridge.attach(realtime.channel('todos'))
 */
export function createQueryBridge<T>(queryClient: QueryClient, options: QueryBridgeOptions<T> | (() => QueryBridgeOptions<T>)): QueryBridge<T> {
  const read = typeof options === 'function' ? options : () => options
  const pending = new Map<string, PendingChanges>()
  const seen = new Map<string, QueryKey>()
  // Queries that were fetching when invalidated: invalidated again when that fetch settles.
  const again = new Map<string, Query>()
  let captured: Set<Query> | undefined
  let cancelFlush: (() => void) | undefined
  let unwatch: (() => void) | undefined
  let stopping = false
  let tabs: ReturnType<typeof createTabRefetch> | null | undefined
  /** When this tab heard of a change: on the clock every tab shares (see `share.now`). */
  const clock = () => {
    const { share } = read()
    return (typeof share === 'object' && share.now ? share.now : Date.now)()
  }

  const fail = (error: RealtimeError) => {
    const onError = read().onError
    try {
      onError ? onError(error) : reportListenerError(error)
    } catch (thrown) {
      reportListenerError(thrown)
    }
  }
  const remember = (hash: string, key: QueryKey) => {
    seen.delete(hash)
    seen.set(hash, key)
    if (seen.size > SEEN_MAX) seen.delete(seen.keys().next().value!)
  }

  const refetch = (queryKey: QueryKey, exact: boolean) => {
    for (const query of queryClient.getQueryCache().findAll({ queryKey, exact })) {
      if (query.state.fetchStatus !== 'idle') again.set(query.queryHash, query)
    }
    void queryClient.invalidateQueries({ queryKey, exact }, { cancelRefetch: false })
  }

  const settled = (queryKey: QueryKey) =>
    new Promise<void>((resolve) => {
      const cache = queryClient.getQueryCache()
      const check = () => {
        if (cache.findAll({ queryKey }).some((q) => q.state.fetchStatus !== 'idle' || again.has(q.queryHash))) return
        off()
        resolve()
      }
      // Checked once the event's listeners are done: the follow-up fetch `watch` starts when a
      // fetch settles emits an `invalidate` event of its own before that fetch shows, and the
      // query must not read as settled in between (its data would be the earlier fetch's).
      const off = cache.subscribe(() => queueMicrotask(check))
      check()
    })

  const stop = () => {
    unwatch?.()
    unwatch = undefined
    tabs?.close()
    tabs = undefined
  }
  const watch = () => {
    stopping = false
    unwatch ??= queryClient.getQueryCache().subscribe((event) => {
      if (event.type === 'removed') return void again.delete(event.query.queryHash)
      if (event.type !== 'updated') return
      const { query, action } = event
      if (captured && action.type === 'success' && action.manual) captured.add(query)
      if (again.get(query.queryHash) === query && query.state.fetchStatus === 'idle') {
        again.delete(query.queryHash)
        refetch(query.queryKey, true)
      }
      if (stopping && again.size === 0) stop()
    })
  }

  /** Sends what is due (`all`: everything gathered): keys that changed in the last window wait. */
  const flush = (all = true) => {
    cancelFlush?.()
    cancelFlush = undefined
    const { share = 'tabs', window = FRAME_MS, maxWait = Math.max(1000, window) } = read()
    const due: [string, PendingChanges][] = []
    const now = clock()
    for (const [hash, entry] of pending) {
      if (!all && entry.touched && now - entry.first < maxWait) entry.touched = false
      else due.push([hash, entry]), pending.delete(hash)
    }
    if (pending.size) schedule()
    for (const [hash, entry] of due) tabs && share ? tabs.refetch(hash, entry) : refetch(entry.key, false)
  }

  const schedule = () => {
    if (cancelFlush) return
    const { window, timers = globalTimers, scheduleFrame } = read()
    if (window !== undefined) {
      const handle = timers.setTimeout(() => flush(false), window)
      cancelFlush = () => timers.clearTimeout(handle)
    } else cancelFlush = (scheduleFrame ?? timerFrame(timers))(() => flush(false))
  }

  const bridge: QueryBridge<T> = {
    invalidate(keys, from, change) {
      watch()
      // Listening from the moment this tab hears of a change: a result another tab posts
      // before this one flushes is one this tab can take.
      const { share = 'tabs', timers = globalTimers } = read()
      if (share && tabs === undefined) tabs = createTabRefetch(queryClient, share === 'tabs' ? {} : share, timers, { refetch, settled }) ?? null
      const now = clock()
      for (const key of keys) {
        // hashKey is JSON.stringify: a BigInt or a cycle in a key throws there.
        let hash: string | undefined
        try {
          hash = Array.isArray(key) ? hashKey(key) : undefined
        } catch {}
        if (hash === undefined) {
          fail(new RealtimeError('parse', `a query key must be an array of JSON values, got ${show(key)}`, { raw: from?.raw, id: from?.id }))
          continue
        }
        const entry = pending.get(hash) ?? { key: key as QueryKey, first: now, last: now, idless: undefined, touched: true, changes: [] }
        pending.set(hash, entry)
        entry.last = now
        entry.touched = true
        if (change === undefined) entry.idless = now
        else {
          entry.changes.push(change)
          if (entry.changes.length > CHANGES_MAX) entry.changes.shift()
          tabs?.heard(hash, change)
        }
        remember(hash, key as QueryKey)
      }
      if (pending.size) schedule()
    },
    message(message) {
      if (isLogReset(message)) return void bridge.invalidate(read().keys ?? [...seen.values()], undefined, messageChange(message))
      const { update, invalidate } = read()
      const details = { raw: message.raw, id: message.id }
      if (update) {
        watch()
        // An update that feeds the bridge again (re-entrant) keeps the outer one's writes.
        const outer = captured
        const written = (captured = new Set())
        try {
          update(message, queryClient)
        } catch (thrown) {
          fail(new RealtimeError('parse', `update threw on a '${message.event}' message: ${thrown}`, { ...details, cause: thrown }))
        }
        captured = outer
        for (const query of written) {
          remember(query.queryHash, query.queryKey)
          // Reverting a cancelled fetch restores the state of the manual write, so the older
          // response never lands (cancelQueries reverts synchronously, before it can).
          if (query.state.fetchStatus !== 'idle') void queryClient.cancelQueries({ queryKey: query.queryKey, exact: true })
        }
      }
      if (!invalidate) return
      let keys: readonly QueryKey[] | undefined | void
      try {
        keys = invalidate(message)
      } catch (thrown) {
        if (thrown instanceof RealtimeError) return fail(thrown)
        return fail(new RealtimeError('parse', `invalidate threw on a '${message.event}' message: ${thrown}`, { ...details, cause: thrown }))
      }
      if (keys === undefined) return
      if (!Array.isArray(keys)) return fail(new RealtimeError('parse', 'invalidate must return an array of query keys', details))
      bridge.invalidate(keys, details, messageChange(message))
    },
    discontinuity(reset) {
      bridge.invalidate(read().keys ?? [...seen.values()], undefined, resetChange(reset))
    },
    attach(source) {
      const offs = [source.onMessage((m) => bridge.message(m))]
      // A channel tells a gap as a reset (and the connection's gap error as well): listen to
      // resets only, so one discontinuity is one invalidation.
      if ('onReset' in source) offs.push(source.onReset((reset: ChannelReset) => bridge.discontinuity(reset)))
      else offs.push(source.onError((error) => error.kind === 'gap' && bridge.discontinuity()))
      return () => offs.forEach((off) => off())
    },
    dispose() {
      flush()
      // Follow-ups still owed (fetches in flight) are kept; the watch ends after the last.
      stopping = true
      if (again.size === 0) stop()
    },
  }
  return bridge
}
