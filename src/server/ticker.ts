/**
 * One interval timer for a whole handler (not one per client): running while `start` has
 * been called more recently than `stop`, unref'd so it never keeps a process alive.
 * `every` of 0 (or less) never runs.
 */
export function createTicker(every: number, tick: () => void) {
  let timer: NodeJS.Timeout | undefined
  return {
    start() {
      if (timer || !(every > 0)) return
      timer = setInterval(tick, every)
      timer.unref?.()
    },
    stop() {
      clearInterval(timer)
      timer = undefined
    },
  }
}
