import type { ConnectionSnapshot, RealtimeMessage } from './connection-types'
import { RealtimeError } from './errors'
import { type FrameScheduler, reportListenerError } from './runtime'
import type { WireMessage } from './transport'

/** A snapshot before anything happened (the hooks render it on the server too). */
export const IDLE: ConnectionSnapshot<never> = {
  status: 'idle',
  data: undefined,
  lastEventId: undefined,
  error: null,
  attempt: 0,
  retryAt: null,
  paused: null,
  role: 'solo',
}

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

/**
 * The observable half of every connection, the engine's and the cross-tab layer's alike: the
 * snapshot store, the message, wire and error listeners, and the one way a message off the
 * wire is read. Errors are reported to the snapshot (at once when `urgentErrors`, else with
 * the next frame) and to `onError` listeners.
 */
export function createOutlet<T>(initial: ConnectionSnapshot<T>, schedule: FrameScheduler, urgentErrors?: boolean) {
  const store = createStore(initial, schedule)
  const messages = emitter<RealtimeMessage<T>>()
  const wires = emitter<WireMessage>()
  const errors = emitter<RealtimeError>()
  const report = (error: RealtimeError) => {
    store.set({ error }, { urgent: urgentErrors })
    errors.emit(error)
  }
  return {
    _store: store,
    _messages: messages,
    _wires: wires,
    _errors: errors,
    _report: report,
    /**
     * Reads a message off the wire: listeners of `onWire` hear it, then it is decoded and
     * delivered (data, `onMessage`), or reported as a `parse` error with its id. A good
     * message ends a `parse` error. `lastEventId` is the stream's once it arrived; `tap`
     * false only sets the snapshot (a late tab's first data), telling no listener.
     */
    _read(m: WireMessage, decode: ((message: WireMessage) => T) | undefined, lastEventId: string | undefined, tap = true) {
      if (tap) wires.emit(m)
      let message: RealtimeMessage<T>
      try {
        message = { data: decode ? decode(m) : (m.data as T), event: m.event, id: m.id, raw: m.data }
      } catch (thrown) {
        store.set({ lastEventId })
        return report(new RealtimeError('parse', `bad '${m.event}' message: ${thrown}`, { raw: m.data, cause: thrown, id: m.id }))
      }
      const { error } = store.peek()
      store.set({ data: message.data, lastEventId, error: error?.kind === 'parse' || error?.kind === 'gap' ? null : error })
      if (tap) messages.emit(message)
    },
    /** The listening half of a `Connection`. */
    _api: { subscribe: store.subscribe, getSnapshot: store.get, onMessage: messages.add, onWire: wires.add, onError: errors.add, report },
  }
}
