import { hashKey, partialMatchKey, type QueryClient, type QueryKey } from '@tanstack/react-query'
import type { Timers } from '../core/runtime'
import { globalPage } from '../core/tabs/page'
import type { PageEvents, TabChannel } from '../core/tabs/types'
import type { PendingChanges } from './bridge'
import { postedMarks, type QueryLocks } from './posted'

/** Bumped when the frames tabs exchange change: tabs of two versions never misread each other. */
export const QUERY_TABS_PROTOCOL = 1

/** How tabs share refetches (the bridge's `share` option). */
export interface QueryTabsOptions {
  /**
   * Prefix of lock and channel names: tabs share refetches only within one namespace.
   * @defaultValue 'tabwire'
   * @example { namespace: 'shop' }
   */
  namespace?: string
  /**
   * How long (ms) a tab waits for the fetching tab's result before it fetches itself. A
   * fetching tab that closes or crashes lets go of its lock, and the others fetch at once.
   * @defaultValue 10000
   */
  timeout?: number
  /**
   * The lock manager; with `query()`, a tab granted a key's lock sees that another tab has
   * just posted its result and waits for the post rather than fetching a second time.
   * @defaultValue navigator.locks
   */
  locks?: QueryLocks
  /** @defaultValue (name) => new BroadcastChannel(name) */
  channel?: (name: string) => TabChannel
  /** The clock every tab reads alike (results say when their fetch started). @defaultValue Date.now */
  now?: () => number
  /**
   * The page's lifecycle: on `leave` (frozen, or into the back/forward cache) the tab lets go
   * of its marks, its channel, its place in the lock queues and a key's lock it fetches
   * under, so the page stays eligible for the cache; on `return` it rejoins and asks again
   * for what it was waiting for.
   * @defaultValue the page's own (none outside a document)
   */
  page?: PageEvents
}

/**
 * What the fetching tab posts: the data of each query the key matched, fetched after
 * `started`, and after the tab heard of `changes` (the ids of the key's latest changes).
 * `id` names its mark (see `postedMarks`); a build before marks sends none.
 */
interface Result {
  v: typeof QUERY_TABS_PROTOCOL
  type: 'result'
  hash: string
  id?: string
  started: number
  changes: string[]
  entries: [queryHash: string, queryKey: QueryKey, data: unknown, updatedAt: number][]
}

/**
 * A result from another tab, checked: anything else is ignored (another version, a forged
 * post). A fetch cannot have started, nor data been fetched, in the future of the clock
 * every tab shares: a forged time there would make the result fit every change to come.
 */
function readResult(data: unknown, now: number): Result | undefined {
  const r = data as Partial<Result> | null
  if (typeof r !== 'object' || r === null || r.v !== QUERY_TABS_PROTOCOL || r.type !== 'result') return
  if (typeof r.hash !== 'string' || typeof r.started !== 'number' || !(r.started <= now + CLOCK_SKEW)) return
  if (r.id !== undefined && (typeof r.id !== 'string' || r.id.length > ID_MAX)) return
  if (!Array.isArray(r.entries) || r.entries.length > ENTRIES_MAX) return
  if (!Array.isArray(r.changes) || r.changes.length > CHANGES_MAX || !r.changes.every((c) => typeof c === 'string')) return
  const fine = r.entries.every(
    (e) => Array.isArray(e) && e.length === 4 && typeof e[0] === 'string' && Array.isArray(e[1]) && typeof e[3] === 'number' && e[3] <= now + CLOCK_SKEW && e[2] !== undefined,
  )
  return fine ? (r as Result) : undefined
}

/** What the tab-sharing layer needs from the bridge. */
export interface LocalRefetch {
  /** Invalidates the key here (refetching what is active, again after a fetch in flight). */
  refetch(queryKey: QueryKey, exact: boolean): void
  /** Resolves when no query the key matches is fetching here, nor owes a follow-up fetch. */
  settled(queryKey: QueryKey): Promise<void>
}

const RECENT_MAX = 100
/** The longest result id taken, and how many ids of results that arrived a tab remembers. */
const ID_MAX = 64
const SEEN_MAX = 1000
/** The most queries one result may carry. */
const ENTRIES_MAX = 1000
/** How far (ms) ahead of this tab's clock another tab's may read (one machine, one clock). */
const CLOCK_SKEW = 1000
/** How many changes per key a tab remembers hearing, and how many keys. */
const CHANGES_MAX = 256
const HEARD_KEYS_MAX = 1000
/**
 * A result that covers every change a tab waits for still counts only if its fetch
 * started at most this long (ms) before the tab heard of them: two streams that happen to
 * use the same event ids for one key must not make a tab take data far older than its change.
 */
const CHANGE_SLACK = 2000
/**
 * How long (ms) a fetching tab holds the mark of its result. A tab granted the key's lock
 * after it asks for marks at once; a post still on its way is one the mark must outlast.
 */
const MARK_MS = 5000

/**
 * One refetch per browser: for a key, the tab that gets its Web Lock (without waiting)
 * refetches and posts the fresh data on a BroadcastChannel; the others set it. A result
 * counts for a tab only if its fetch started after the changes that tab waits for: the
 * fetching tab had heard of each of them (by id; every tab hears a stream's messages with
 * the same ids), or, for changes without an id, the fetch started after this tab heard of
 * them (`since`, on the clock all tabs share). No tab takes data older than what it was told.
 * A tab granted the lock with no result that fits fetches itself, unless another tab has
 * just posted one that has not reached it yet (a mark, see `postedMarks`): it waits for that
 * post first. A tab waiting for a result fetches itself after `timeout`.
 * Returns undefined where locks or BroadcastChannel are missing (each tab refetches itself).
 */
export function createTabRefetch(queryClient: QueryClient, options: QueryTabsOptions, timers: Timers, local: LocalRefetch) {
  const locks = options.locks ?? (globalThis.navigator as Navigator | undefined)?.locks
  const open = options.channel ?? (typeof BroadcastChannel === 'function' ? (name: string) => new BroadcastChannel(name) : undefined)
  if (!locks || !open) return undefined
  const { namespace = 'tabwire', timeout = 10_000, now = Date.now } = options
  const prefix = `${namespace}:query:${QUERY_TABS_PROTOCOL}`
  let channel: TabChannel
  // Posts made before this tab's channel opened never reach it: their marks are not waited for.
  let opened: number
  // Settles when the page leaves: a key's lock held here goes then, whatever this tab was
  // doing under it (a cached page holding a lock another page asks for is evicted).
  let gone: Promise<void>
  let letGo: () => void
  // How many times the page left: work begun under a lock given up that way asks again.
  let leaves = 0
  const marks = postedMarks(locks, timers, MARK_MS)
  const recent = new Map<string, Result>()
  const seen = new Set<string>()
  const heard = new Map<string, string[]>()
  const waiters = new Set<(result: Result) => void>()
  // This tab's own results: their data is here already.
  const mine = new WeakSet<Result>()

  /** A result another tab posted, or this tab (a change it heard while fetching may need no other fetch). */
  const receive = (result: Result) => {
    if (result.id !== undefined) {
      seen.add(result.id)
      if (seen.size > SEEN_MAX) seen.delete(seen.values().next().value!)
    }
    recent.delete(result.hash)
    recent.set(result.hash, result)
    if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value!)
    for (const waiter of [...waiters]) waiter(result)
  }
  const join = () => {
    channel = open(prefix)
    opened = now()
    gone = new Promise((resolve) => (letGo = resolve))
    channel.onmessage = (event) => {
      const result = readResult(event.data, now())
      if (result) receive(result)
    }
  }
  join()
  // Refetches waiting for the lock or another tab's result (by their `finish`), and those the
  // page gave up when it left (undefined while it is shown).
  const waiting = new Map<() => void, [string, PendingChanges]>()
  let away: [string, PendingChanges][] | undefined
  const quit = () => {
    marks.close()
    channel.onmessage = null
    channel.close()
  }
  const leave = () => {
    away = [...waiting.values()]
    leaves++
    for (const finish of [...waiting.keys()]) finish()
    letGo()
    quit()
  }
  /** What this tab does holding a key's lock: until it is done, or the page leaves. */
  const holding = (work: Promise<void>) => Promise.race([work, gone])
  const unsubscribe = (options.page ?? globalPage()).subscribe((event) => {
    if (event === 'leave' && !away) leave()
    if (event === 'return' && away) {
      const again = away
      away = undefined
      join()
      for (const [hash, pending] of again) refetch(hash, pending)
    }
  })

  /** Sets another tab's data on the queries here it covers; refetches here those it does not. */
  const apply = (queryKey: QueryKey, result: Result) => {
    if (mine.has(result)) return
    const covered = new Set<string>()
    for (const [queryHash, key, data, updatedAt] of result.entries) {
      const query = queryClient.getQueryCache().get(queryHash)
      if (!query || hashKey(key) !== queryHash || !partialMatchKey(key, queryKey)) continue
      covered.add(queryHash)
      queryClient.setQueryData(key, data, { updatedAt })
      // An older fetch of this tab must not land over it (the revert restores this write).
      if (query.state.fetchStatus !== 'idle') void queryClient.cancelQueries({ queryKey: key, exact: true })
    }
    for (const query of queryClient.getQueryCache().findAll({ queryKey })) {
      if (!covered.has(query.queryHash)) local.refetch(query.queryKey, true)
    }
  }

  /** A result that `fits`, known or arriving within `ms`; undefined if none does. */
  const resultWithin = (fits: (result: Result) => boolean, ms: number) =>
    new Promise<Result | undefined>((resolve) => {
      const known = [...recent.values()].find(fits)
      if (known) return resolve(known)
      const waiter = (result: Result) => {
        if (!fits(result)) return
        waiters.delete(waiter)
        timers.clearTimeout(timer)
        resolve(result)
      }
      waiters.add(waiter)
      const timer = timers.setTimeout(() => (waiters.delete(waiter), resolve(undefined)), ms)
    })

  /** Fetches the key here and posts the result; resolves once its mark is held (before the key's lock goes). */
  const fetchAndPost = async (queryKey: QueryKey, hash: string) => {
    const started = now()
    const changes = [...(heard.get(hash) ?? [])]
    local.refetch(queryKey, false)
    await local.settled(queryKey)
    const entries: Result['entries'] = []
    for (const query of queryClient.getQueryCache().findAll({ queryKey })) {
      const { status, data, dataUpdatedAt } = query.state
      if (status === 'success' && data !== undefined && dataUpdatedAt >= started) entries.push([query.queryHash, query.queryKey, data, dataUpdatedAt])
    }
    const id = Math.random().toString(36).slice(2)
    const posted = now()
    const result: Result = { v: QUERY_TABS_PROTOCOL, type: 'result', hash, id, started, changes, entries }
    mine.add(result)
    receive(result)
    // A result the others would refuse (more queries than they take), or data the channel
    // cannot clone: no post, no mark, so the others find the lock free with no result, and fetch.
    if (!readResult(result, now())) return
    try {
      channel.postMessage(result)
    } catch {
      return
    }
    await marks.mark(`${prefix}:${hash}`, started, posted, id)
  }

  /** Refetches the key once for the browser, with data fetched after its `pending` changes. */
  const refetch = (hash: string, pending: PendingChanges): void => {
    if (away) return void away.push([hash, pending])
    const { key: queryKey, last, idless, changes } = pending
    const byId = (result: Result) => changes.length > 0 && result.started >= last - CHANGE_SLACK && changes.every((c) => result.changes.includes(c))
    const fits = (result: Result) =>
      result.hash === hash && (idless === undefined || result.started >= idless) && (result.started >= last || byId(result))
    const fitting = () => {
      const known = recent.get(hash)
      return known && fits(known) ? known : undefined
    }
    const known = fitting()
    if (known) return apply(queryKey, known)
    const name = `${prefix}:${hash}`
    // Holding the lock: takes a result that fits, waiting first for any marked one still on
    // its way: posted after this tab's channel opened, not here yet, and its fetch started
    // late enough to fit.
    const takeOrFetch = async () => {
      const visit = leaves
      let result = fitting()
      if (!result) {
        const marked = await marks.marked(name, (started, posted, id) => posted > opened && !seen.has(id) && started >= last - CHANGE_SLACK)
        const arrived = marked.length ? await resultWithin((r) => fits(r) || marked.every((id) => seen.has(id)), timeout) : undefined
        // A post may also have come in while the lock manager answered.
        result = arrived && fits(arrived) ? arrived : fitting()
      }
      // The page left meanwhile, and the lock went with it: ask again rather than fetch without it.
      if (!result && visit !== leaves) return refetch(hash, pending)
      return result ? apply(queryKey, result) : fetchAndPost(queryKey, hash)
    }
    const controller = new AbortController()
    let done = false
    // `abort` false once this tab holds the lock (the signal is the queued request's).
    const finish = (abort = true) => {
      done = true
      waiting.delete(finish)
      waiters.delete(waiter)
      timers.clearTimeout(timer)
      if (abort) controller.abort()
    }
    const waiter = (result: Result) => {
      if (!done && fits(result)) finish(), apply(queryKey, result)
    }
    // No result in time: the fetching tab keeps the lock (frozen, or its fetch hangs). This
    // tab takes the lock from it, so the next change does not wait on it again, and fetches
    // (and posts) under it; without the lock, it fetches for itself.
    const fallback = () => {
      if (done) return
      finish()
      let ran = false
      locks
        .request(name, { steal: true }, () => ((ran = true), holding(fetchAndPost(queryKey, hash))))
        .catch(() => ran || local.refetch(queryKey, false))
    }
    waiters.add(waiter)
    waiting.set(finish, [hash, pending])
    const timer = timers.setTimeout(fallback, timeout)
    locks
      .request(name, { ifAvailable: true }, async (lock) => {
        if (done) return
        if (lock) {
          finish()
          return holding(takeOrFetch())
        }
        // Another tab fetches this key: its result comes through `waiter`. If it lets go
        // of the lock first, this tab takes its result (marked, maybe still on its way) if
        // it fits, and otherwise fetches (and posts) itself.
        void locks
          .request(name, { signal: controller.signal }, () => {
            if (done) return
            finish(false)
            return holding(takeOrFetch())
          })
          .catch(() => {})
      })
      .catch(fallback)
  }

  return {
    /** This tab heard of `change` (an id every tab hears alike) for the key `hash`. */
    heard(hash: string, change: string) {
      const list = heard.get(hash) ?? []
      heard.delete(hash)
      heard.set(hash, list)
      if (heard.size > HEARD_KEYS_MAX) heard.delete(heard.keys().next().value!)
      if (!list.includes(change)) list.push(change)
      if (list.length > CHANGES_MAX) list.shift()
    },
    refetch,
    close() {
      unsubscribe()
      if (!away) quit()
      waiters.clear()
    },
  }
}
