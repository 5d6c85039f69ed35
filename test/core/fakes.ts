// Test doubles for the core engine: a controllable transport, a scriptable environment,
// a manual frame scheduler, manual timers and a seeded PRNG. No module mocking: the engine
// takes all of these as injectables.
import type { Connection, ConnectionSnapshot } from '../../src/core/connection'
import type { Environment, EnvironmentSignal } from '../../src/core/environment'
import { RealtimeError, type RealtimeErrorKind } from '../../src/core/errors'
import type { FrameScheduler, Timers } from '../../src/core/runtime'
import type { TransportFactory, TransportSink } from '../../src/core/transport'

/** One call of the transport factory. */
export interface FakeAttempt {
  readonly sink: TransportSink
  /** The `lastEventId` the engine asked this attempt to resume from. */
  readonly lastEventId: string | undefined
  /** The engine's attempt number when it opened this attempt. */
  readonly attempt: number
  /** How many times the engine called `close()` on it. */
  closeCount: number
  readonly closed: boolean
}

export interface FakeTransport {
  readonly factory: TransportFactory
  /** Every attempt, oldest first. */
  readonly attempts: FakeAttempt[]
  /** The newest attempt (throws if there is none, so a test cannot read a missing one). */
  readonly last: FakeAttempt
  /** Attempts the engine has not closed. */
  readonly live: FakeAttempt[]
}

/**
 * A transport the test drives by hand: each factory call is recorded with its context and
 * the sink, and `close()` is counted. `behaviour` may act on the sink during the call
 * (e.g. throw, or fail synchronously).
 */
export function fakeTransport(behaviour?: (attempt: FakeAttempt, index: number) => void): FakeTransport {
  const attempts: FakeAttempt[] = []
  const factory: TransportFactory = ({ sink, lastEventId, attempt }) => {
    const record: FakeAttempt = {
      sink,
      lastEventId,
      attempt,
      closeCount: 0,
      get closed() {
        return this.closeCount > 0
      },
    }
    attempts.push(record)
    behaviour?.(record, attempts.length - 1)
    return {
      close() {
        record.closeCount++
      },
    }
  }
  return {
    factory,
    attempts,
    get last() {
      const attempt = attempts.at(-1)
      if (!attempt) throw new Error('fakeTransport: no attempt was made')
      return attempt
    },
    get live() {
      return attempts.filter((a) => !a.closed)
    },
  }
}

export interface FakeEnvironment extends Environment {
  /** Changes the state `current()` reports and tells every subscriber. */
  emit(signal: EnvironmentSignal): void
  readonly listenerCount: number
}

/** An environment whose state and signals the test scripts. */
export function fakeEnvironment(initial: EnvironmentSignal[] = []): FakeEnvironment {
  let offline = initial.includes('offline')
  let hidden = initial.includes('hidden')
  const listeners = new Set<(signal: EnvironmentSignal) => void>()
  return {
    current: () => [...(offline ? (['offline'] as const) : []), ...(hidden ? (['hidden'] as const) : [])],
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit(signal) {
      if (signal === 'offline' || signal === 'online') offline = signal === 'offline'
      if (signal === 'hidden' || signal === 'visible') hidden = signal === 'hidden'
      for (const listener of [...listeners]) listener(signal)
    },
    get listenerCount() {
      return listeners.size
    },
  }
}

export interface ManualFrames {
  readonly schedule: FrameScheduler
  /** Frames scheduled and neither run nor cancelled. */
  readonly pending: number
  /** How many frames were ever scheduled. */
  readonly scheduled: number
  /** Runs the pending frames. */
  flush(): void
}

/** A frame scheduler that runs frames only when the test says so. */
export function manualFrames(): ManualFrames {
  const queue = new Set<() => void>()
  let scheduled = 0
  return {
    schedule(callback) {
      scheduled++
      const entry = () => callback()
      queue.add(entry)
      return () => void queue.delete(entry)
    },
    get pending() {
      return queue.size
    },
    get scheduled() {
      return scheduled
    },
    flush() {
      const due = [...queue]
      queue.clear()
      for (const callback of due) callback()
    },
  }
}

export interface ManualTimers extends Timers {
  /** Moves the clock on, running due timers in time order. */
  advance(ms: number): void
  /**
   * Moves the clock on without running anything, as a machine that slept or a page that was
   * paused: what became due runs late, at the next `advance`.
   */
  stall(ms: number): void
  readonly now: number
  /** Timers scheduled and neither run nor cleared. */
  readonly count: number
}

/** Minimal injectable timers with their own clock. */
export function manualTimers(): ManualTimers {
  let now = 0
  let nextId = 1
  const pending = new Map<number, { at: number; callback: () => void }>()
  return {
    setTimeout(callback, ms) {
      const id = nextId++
      pending.set(id, { at: now + Math.max(0, ms), callback })
      return id
    },
    clearTimeout(handle) {
      pending.delete(handle as number)
    },
    advance(ms) {
      const end = now + ms
      for (;;) {
        let due: [number, { at: number; callback: () => void }] | undefined
        for (const entry of pending) if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry
        if (!due) break
        pending.delete(due[0])
        now = Math.max(now, due[1].at)
        due[1].callback()
      }
      now = end
    },
    stall(ms) {
      now += ms
    },
    get now() {
      return now
    },
    get count() {
      return pending.size
    },
  }
}

/** mulberry32: a small seeded PRNG with draws in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Draws from `values` in turn, then repeats the last one. */
export function sequence(...values: number[]): () => number {
  let i = 0
  return () => values[Math.min(i++, values.length - 1)]!
}

/** Records the snapshot status at every notification (the sequence a UI would render). */
export function recordStatuses(connection: Connection<unknown>): string[] {
  const statuses: string[] = []
  connection.subscribe(() => statuses.push(connection.getSnapshot().status))
  return statuses
}

/** Records every snapshot published, in order (what a UI would render, field by field). */
export function recordSnapshots<T>(connection: Connection<T>): ConnectionSnapshot<T>[] {
  const snapshots: ConnectionSnapshot<T>[] = []
  connection.subscribe(() => snapshots.push(connection.getSnapshot()))
  return snapshots
}

export const failure = (kind: RealtimeErrorKind, message = `${kind} failure`, status?: number) =>
  new RealtimeError(kind, message, status === undefined ? {} : { status })

/** Lets queued promise callbacks (e.g. the `onAuthError` answer) run. */
export async function flushMicrotasks(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve()
}
