import type { Timers } from '../core/index'

/** Why toasts stop counting down: the pointer or focus is on them, the page is hidden, or the center is stopped. */
export type ToastPauseReason = 'hover' | 'focus' | 'hidden' | 'stopped'

/** A toast on screen. Immutable. */
export interface Toast<N> {
  readonly id: string
  readonly notification: N
  /** How long (ms) it stays while not paused; `Infinity` until dismissed. */
  readonly duration: number
}

interface Held<N> {
  toast: Toast<N>
  /** ms left on its clock as of `since`. */
  remaining: number
  since: number
  timer: unknown
}

/**
 * This tab's toasts: newest first, at most `max` (the oldest goes), each dismissed when its
 * time runs out. Every pause reason stops every clock (a stack is read as a whole); the
 * clocks go on, with the time they had left, when the last reason ends.
 */
export function createToasts<N>(options: { timers: Timers; now: () => number; max: number; onChange: () => void }) {
  const { timers, now, max, onChange } = options
  const held = new Map<string, Held<N>>()
  const reasons = new Set<ToastPauseReason>()
  let list: readonly Toast<N>[] = []

  const changed = () => {
    list = [...held.values()].reverse().map((h) => h.toast)
    onChange()
  }
  const arm = (h: Held<N>) => {
    h.since = now()
    if (Number.isFinite(h.remaining)) h.timer = timers.setTimeout(() => dismiss(h.toast.id), Math.max(0, h.remaining))
  }
  const disarm = (h: Held<N>) => {
    timers.clearTimeout(h.timer)
    h.timer = undefined
    h.remaining -= now() - h.since
  }
  const dismiss = (id: string) => {
    const h = held.get(id)
    if (!h) return
    timers.clearTimeout(h.timer)
    held.delete(id)
    changed()
  }

  return {
    list: () => list,
    add(toast: Toast<N>) {
      if (held.has(toast.id)) return
      const h: Held<N> = { toast, remaining: toast.duration, since: now(), timer: undefined }
      held.set(toast.id, h)
      if (reasons.size === 0) arm(h)
      while (held.size > max) {
        const oldest = held.values().next().value!
        timers.clearTimeout(oldest.timer)
        held.delete(oldest.toast.id)
      }
      changed()
    },
    dismiss,
    pause(reason: ToastPauseReason) {
      if (reasons.has(reason)) return
      reasons.add(reason)
      if (reasons.size === 1) for (const h of held.values()) disarm(h)
    },
    resume(reason: ToastPauseReason) {
      if (!reasons.delete(reason) || reasons.size > 0) return
      for (const h of held.values()) arm(h)
    },
    /** Whether the clocks are stopped, and why. */
    paused: (): readonly ToastPauseReason[] => [...reasons],
  }
}
