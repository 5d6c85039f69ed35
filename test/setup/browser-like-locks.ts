/**
 * A Web Locks manager that behaves like a browser's, over Node's real one.
 *
 * Node's `LockManager` (Node ≥ 24.5, also exported as `locks` by `node:worker_threads`) runs
 * the callback of a grantable request synchronously inside `request()`, and the next
 * waiter's callback synchronously when a lock is released. A browser grants the lock and
 * then runs the callback in a later task: code that requests a lock always finishes its
 * current task first. Tests of the cross-tab layer must see the browser's ordering, or a
 * race that every real tab has stays invisible to them.
 *
 * What this changes and nothing else: the callback runs in a later macrotask (a Node timer
 * of 0 ms, taken from `node:timers`, so `vi.useFakeTimers()` never holds a grant back).
 * The lock is held from the grant on, so a lock granted but not yet "delivered" shows as
 * held in `query()` and cannot be taken by another request, as in a browser. Everything
 * else is Node's: queueing, `mode`, `ifAvailable` (the callback gets `null`, later),
 * `steal` (the robbed request's promise rejects with an AbortError), `signal` (a request
 * whose callback has not run yet rejects with the signal's reason and its lock goes back;
 * once the callback runs, an abort changes nothing).
 *
 * `scope` prefixes every lock name, so two test files that run in one process (Node's lock
 * manager and BroadcastChannel reach every thread of it) never meet; `query()` lists the
 * scope's locks only, with their names as requested.
 */
import { setTimeout as nodeSetTimeout } from 'node:timers'

export interface BrowserLikeLocksOptions {
  /** Prefix of every lock name (none by default). */
  scope?: string
  /**
   * Runs a grant's callback in a later task.
   * @defaultValue a 0 ms `node:timers` timeout
   */
  task?: (run: () => void) => void
}

type Callback = (lock: Lock | null) => unknown

const laterTask = (run: () => void) => void nodeSetTimeout(run, 0)

export function browserLikeLocks(inner: LockManager, options: BrowserLikeLocksOptions = {}): LockManager {
  const prefix = options.scope === undefined ? '' : `${options.scope}/`
  const task = options.task ?? laterTask
  // Names starting with '-' are reserved: left as they are, so the inner manager refuses them.
  const scoped = (name: string) => (typeof name === 'string' && !name.startsWith('-') ? prefix + name : name)
  const own = (info: LockInfo) => info.name?.startsWith(prefix)
  const unscoped = (info: LockInfo): LockInfo => ({ ...info, name: info.name!.slice(prefix.length) })

  function request(name: string, ...rest: [Callback] | [LockOptions, Callback]): Promise<unknown> {
    const [lockOptions, callback] = rest.length === 1 ? [{}, rest[0]] : rest
    // A missing callback is the inner manager's error to report, as a browser would.
    if (typeof callback !== 'function') return (inner.request as (...args: unknown[]) => Promise<unknown>)(scoped(name), lockOptions, callback)
    return inner.request(scoped(name), lockOptions ?? {}, (lock) => {
      const view = lock && ({ name, mode: lock.mode } as Lock)
      // Held from here; delivered in a later task. The lock is released when the callback's
      // result settles, as with any callback.
      return new Promise((resolve, reject) =>
        task(() => {
          // A page learns of its grant only in this task: a signal aborted before it rejects
          // the request, the callback never runs, and the lock goes back (Chromium and Node
          // both do this; once the callback runs, an abort changes nothing).
          const { signal } = lockOptions ?? {}
          if (signal?.aborted) return reject(signal.reason)
          try {
            resolve(callback(view))
          } catch (thrown) {
            reject(thrown)
          }
        }),
      )
    })
  }

  return {
    request: request as LockManager['request'],
    async query() {
      const { held = [], pending = [] } = await inner.query()
      return { held: held.filter(own).map(unscoped), pending: pending.filter(own).map(unscoped) }
    },
  }
}

/**
 * Node's BroadcastChannel with every channel name in `scope` (see {@link browserLikeLocks}).
 * `name` reads back as given.
 */
export function scopedBroadcastChannel(Base: typeof BroadcastChannel, scope: string): typeof BroadcastChannel {
  return class ScopedBroadcastChannel extends Base {
    readonly #name: string
    constructor(name: string) {
      super(`${scope}/${name}`)
      this.#name = String(name)
    }
    override get name() {
      return this.#name
    }
  }
}
