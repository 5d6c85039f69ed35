/**
 * Timer functions the engine uses; inject fakes in tests. The default is `globalThis`,
 * looked up on every call, so fake timers installed later still apply. `clearTimeout`
 * must accept `undefined`, as the global one does.
 */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** One pending timeout: `(callback, ms)` (re)arms it, `()` cancels it. */
export type TimerSlot = (callback?: () => void, ms?: number) => void

/**
 * A {@link TimerSlot} on `timers`: arming it cancels what it held, so a slot never has two
 * callbacks pending. (Clearing a handle that already fired is harmless: handles are not reused.)
 */
export function timerSlot(timers: Timers): TimerSlot {
  let handle: unknown
  return (callback, ms) => {
    timers.clearTimeout(handle)
    if (callback) handle = timers.setTimeout(callback, ms!)
  }
}

/** Schedules `callback` once, soon; returns a cancel function. */
export type FrameScheduler = (callback: () => void) => () => void

/**
 * One flush per animation frame where frames exist, else a 16 ms timer. A hidden page gets
 * no frames, so its data flush waits until it is visible: nobody sees it render meanwhile,
 * status changes are published at once anyway, and `onMessage` is never delayed.
 */
export function defaultFrame(timers: Timers): FrameScheduler {
  return (callback) => {
    if (typeof requestAnimationFrame === 'function') {
      const handle = requestAnimationFrame(callback)
      return () => cancelAnimationFrame(handle)
    }
    const handle = timers.setTimeout(callback, 16)
    return () => timers.clearTimeout(handle)
  }
}

/** A user callback threw: surface it without breaking delivery to anyone else. */
export function reportListenerError(thrown: unknown): void {
  ;((globalThis as { reportError?: (e: unknown) => void }).reportError ?? console.error)(thrown)
}

let warned: Set<string> | undefined

/**
 * A `[tabwire]` console warning, once per `cause`. Development only: call it as
 * `try { if (process.env.NODE_ENV !== 'production') devWarn(…) } catch {}`, written out at
 * the call site. Bundlers replace `process.env.NODE_ENV` (in development builds too), so a
 * production build folds the condition to `false` and leaves the call and its message out;
 * without a bundler, `process` decides, and a page without one gets no warning.
 */
export function devWarn(cause: string, message: string): void {
  if ((warned ??= new Set()).has(cause)) return
  warned.add(cause)
  console.warn(`[tabwire] ${message}`)
}
