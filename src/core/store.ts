import type { ConnectionSnapshot } from './connection'
import { type FrameScheduler, reportListenerError } from './runtime'

/** A listener set whose listeners cannot break each other: a throw is reported, not raised. */
export function emitter<A>() {
  const set = new Set<(arg: A) => void>()
  return {
    add(listener: (arg: A) => void) {
      set.add(listener)
      return () => void set.delete(listener)
    },
    emit(arg: A) {
      for (const listener of [...set]) {
        try {
          listener(arg)
        } catch (thrown) {
          reportListenerError(thrown)
        }
      }
    },
  }
}

/**
 * The one snapshot holder of every layer (engine, cross-tab layer, bridges). Whatever
 * wraps another publishes through one of these, so "at most one publish per frame for
 * data" holds by construction in every mode and transport.
 */
export interface Store<S extends object> {
  /** The published snapshot: immutable, and the same object until something changes. */
  get(): S
  /** The newest state, published or still waiting for its frame. */
  peek(): S
  subscribe(listener: () => void): () => void
  /**
   * Merges `patch` (fields equal by `Object.is` change nothing). Urgent changes (status,
   * connection errors) publish at once, with anything pending; others wait for the next
   * frame, so a flood of messages publishes once per frame.
   */
  set(patch: Partial<S>, options?: { urgent?: boolean }): void
  /** Publishes what is pending now. */
  flush(): void
}

/** A {@link Store} whose non-urgent changes are published by `schedule` (one frame). */
export function createStore<S extends object>(initial: S, schedule: FrameScheduler): Store<S> {
  let published = initial
  let next = initial
  let cancel: (() => void) | undefined
  const listeners = emitter<void>()
  const flush = () => {
    cancel?.()
    cancel = undefined
    if (next === published) return
    published = next
    listeners.emit()
  }
  return {
    get: () => published,
    peek: () => next,
    subscribe: listeners.add,
    set(patch, options) {
      for (const k in patch) {
        if (!Object.is(patch[k], next[k])) {
          next = { ...next, ...patch }
          break
        }
      }
      if (options?.urgent) flush()
      else if (next !== published) cancel ??= schedule(flush)
    },
    flush,
  }
}

/** What a delivered message changes: the data, and a good message ends a `parse` error. */
export function delivered<T>(s: ConnectionSnapshot<T>, data: T, lastEventId: string | undefined): Partial<ConnectionSnapshot<T>> {
  return { data, lastEventId, error: s.error?.kind === 'parse' ? null : s.error }
}
