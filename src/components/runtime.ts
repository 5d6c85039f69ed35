import type { FrameScheduler, Timers } from '../core/index'

/** The global timers, looked up on every call so fakes installed later still apply. */
export const globalTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** One callback per animation frame where frames exist, else a 16 ms timer (workers, SSR tests). */
export function frameScheduler(timers: Timers): FrameScheduler {
  return (callback) => {
    if (typeof requestAnimationFrame === 'function') {
      const handle = requestAnimationFrame(() => callback())
      return () => cancelAnimationFrame(handle)
    }
    const handle = timers.setTimeout(callback, 16)
    return () => timers.clearTimeout(handle)
  }
}

/** Hides content from the eye but not from assistive technology (no stylesheet needed). */
export const visuallyHidden = {
  position: 'absolute',
  width: 1,
  height: 1,
  padding: 0,
  margin: -1,
  overflow: 'hidden',
  clip: 'rect(0, 0, 0, 0)',
  whiteSpace: 'nowrap',
  border: 0,
} as const

/** Calls every listener; one that throws is reported and does not stop the others. */
export function emit(listeners: Iterable<() => void>): void {
  for (const listener of [...listeners]) {
    try {
      listener()
    } catch (thrown) {
      ;((globalThis as { reportError?: (e: unknown) => void }).reportError ?? console.error)(thrown)
    }
  }
}

/** A bounded insertion-ordered set: past `max`, the oldest member goes. */
export function boundedSet(max: number) {
  const set = new Set<string>()
  return {
    has: (value: string) => set.has(value),
    add(value: string) {
      set.delete(value)
      set.add(value)
      if (set.size > max) set.delete(set.values().next().value!)
    },
  }
}
