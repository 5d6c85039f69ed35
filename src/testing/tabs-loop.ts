import type { FrameScheduler, Timers } from '../core/runtime'

/** Runs a callback in a later macrotask of the simulation (all tabs share one JS thread). */
export type Macrotask = (run: () => void) => void

/**
 * Where a simulated tab's event loop is: `running`; `frozen` (Page Lifecycle freeze, or
 * kept in the back/forward cache): its tasks and timers wait; `dead` (closed or crashed):
 * they never run.
 */
export type LoopState = 'running' | 'frozen' | 'dead'

/** One simulated tab's event loop: its tasks, timers and animation frames. */
export interface TabLoop {
  readonly state: () => LoopState
  /** Runs `task` in a later task of this tab: held while it is frozen, dropped once it is dead. */
  queue(task: () => void): void
  /** This tab's timers (looked up on `globalThis` at every call, so fake timers apply). */
  readonly timers: Timers
  /** One callback per frame: 16 ms on this tab's timers, none while the tab is hidden (as in a browser). */
  readonly scheduleFrame: FrameScheduler
  /** The page was shown or hidden: a hidden page gets no animation frames. */
  setVisible(visible: boolean): void
  freeze(): void
  resume(): void
  kill(): void
}

/**
 * A macrotask through a MessageChannel: unlike a timer, fake timers do not hold it back, and
 * it is a task in jsdom, Node and browsers alike. Falls back to a 0 ms timer.
 */
export function messageChannelTask(): Macrotask {
  if (typeof MessageChannel !== 'function') return (run) => void globalThis.setTimeout(run, 0)
  let port: { postMessage(m: unknown): void } | undefined
  const queued: (() => void)[] = []
  return (run) => {
    if (!port) {
      const { port1, port2 } = new MessageChannel()
      // In Node a listening port keeps the process alive.
      ;(port1 as { unref?: () => void }).unref?.()
      port1.onmessage = () => queued.shift()?.()
      port = port2
    }
    queued.push(run)
    port.postMessage(0)
  }
}

interface Timer {
  callback: () => void
  due: number
  handle: unknown
}

/** A tab's event loop on the simulation's `macrotask`, with `now` for its timers. */
export function createLoop(macrotask: Macrotask, now: () => number): TabLoop {
  let state: LoopState = 'running'
  /** This tab's tasks, in order; each macrotask runs the oldest, unless the tab is frozen. */
  let tasks: (() => void)[] = []
  let visible = true
  let next = 0
  const timers = new Map<number, Timer>()
  const frames = new Set<() => void>()

  const arm = (id: number, timer: Timer) => {
    timer.handle = globalThis.setTimeout(() => {
      timers.delete(id)
      timer.callback()
    }, Math.max(0, timer.due - now()))
  }
  const pump = () => void (state === 'running' && tasks.shift()?.())
  const loopTimers: Timers = {
    setTimeout(callback, ms) {
      const id = ++next
      if (state === 'dead') return id
      const timer = { callback, due: now() + Math.max(0, ms || 0), handle: undefined }
      timers.set(id, timer)
      if (state === 'running') arm(id, timer)
      return id
    },
    clearTimeout(handle) {
      const timer = timers.get(handle as number)
      if (!timer) return
      timers.delete(handle as number)
      globalThis.clearTimeout(timer.handle as ReturnType<typeof setTimeout>)
    },
  }
  const stopTimers = () => {
    for (const timer of timers.values()) globalThis.clearTimeout(timer.handle as ReturnType<typeof setTimeout>)
  }
  const frame = (callback: () => void) => {
    let handle: unknown
    const start = () => (handle = loopTimers.setTimeout(() => (frames.delete(start), callback()), 16))
    if (visible) start()
    else frames.add(start)
    return () => (frames.delete(start), loopTimers.clearTimeout(handle))
  }

  return {
    state: () => state,
    queue(task) {
      if (state === 'dead') return
      tasks.push(task)
      macrotask(pump)
    },
    timers: loopTimers,
    scheduleFrame: frame,
    setVisible(now) {
      visible = now
      if (!now) return
      const waiting = [...frames]
      frames.clear()
      for (const start of waiting) start()
    },
    freeze() {
      if (state !== 'running') return
      state = 'frozen'
      stopTimers()
    },
    resume() {
      if (state !== 'frozen') return
      state = 'running'
      for (const [id, timer] of timers) arm(id, timer)
      // What waited runs in order, a task each (a spare pump finds nothing to run).
      for (let i = 0; i < tasks.length; i++) macrotask(pump)
    },
    kill() {
      state = 'dead'
      stopTimers()
      timers.clear()
      frames.clear()
      tasks = []
    },
  }
}
