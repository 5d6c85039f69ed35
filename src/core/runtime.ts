/** Timer functions the engine uses; inject fakes in tests. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Schedules `callback` once, soon; returns a cancel function. */
export type FrameScheduler = (callback: () => void) => () => void

/** The global timers, looked up when called so fakes installed later still apply. */
export function defaultTimers(): Timers {
  return {
    setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
    clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  }
}

/**
 * One flush per animation frame where frames exist and the page is visible (a hidden page
 * gets no frames), else a 16 ms timer.
 */
export function defaultFrame(timers: Timers): FrameScheduler {
  return (callback) => {
    const doc = (globalThis as { document?: Document }).document
    if (typeof globalThis.requestAnimationFrame === 'function' && doc?.visibilityState !== 'hidden') {
      const handle = globalThis.requestAnimationFrame(callback)
      return () => globalThis.cancelAnimationFrame(handle)
    }
    const handle = timers.setTimeout(callback, 16)
    return () => timers.clearTimeout(handle)
  }
}

/** A user callback threw: surface it without breaking delivery to anyone else. */
export function reportListenerError(thrown: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError
  if (typeof report === 'function') report(thrown)
  else console.error('[tabwire] a listener threw:', thrown)
}

const warned = new Set<string>()

/** A development-only warning, printed once per cause. */
export function warnOnce(cause: string, message: string): void {
  if (isProduction() || warned.has(cause)) return
  warned.add(cause)
  console.warn(`[tabwire] ${message}`)
}

function isProduction(): boolean {
  return typeof process !== 'undefined' && process.env.NODE_ENV === 'production'
}
