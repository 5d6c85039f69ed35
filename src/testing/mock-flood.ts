/** `flood` of every mock: many appends, at a rate, on the mock's clock. */
import type { ReplayLog } from '../server/log.ts'
import type { MockTimers } from './mock-core.ts'

/** What `flood` appends. */
export interface FloodOptions {
  /**
   * The data of the `i`-th event (1-based): a string as it is, anything else as JSON.
   * @defaultValue plain streams: `String(i)`; channels: `{ n: i }`
   * @example mock.flood(5000, 1000, { data: (i) => ({ symbol: 'ACME', price: 100 + i / 100 }) })
   */
  data?: (i: number) => unknown
  /**
   * The event type of each entry.
   * @defaultValue none (`message`)
   * @example mock.flood(100, undefined, { event: 'quote' })
   */
  event?: string
}

/** Paced appends are grouped per this many ms at least (timers cannot fire much more often). */
const STEP_MS = 10

/** Appends `n` entries to `log()` (read each time: a reset replaces it); `perSecond` paces them. */
export function floodLog(timers: MockTimers, log: () => ReplayLog, n: number, perSecond: number | undefined, options: FloodOptions): Promise<void> {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError('[tabwire/testing] flood: n must be a whole number')
  if (perSecond !== undefined && !(perSecond > 0)) throw new RangeError('[tabwire/testing] flood: perSecond must be above 0')
  const data = options.data ?? ((i: number) => String(i))
  let i = 0
  const append = (count: number) => {
    for (const end = Math.min(n, i + count); i < end; ) {
      const value = data(++i)
      log().append(typeof value === 'string' ? value : JSON.stringify(value), options.event)
    }
  }
  if (perSecond === undefined || perSecond === Number.POSITIVE_INFINITY) {
    append(n)
    return Promise.resolve()
  }
  const step = Math.max(STEP_MS, 1000 / perSecond)
  // Each step appends the entries due before the next one (at `perSecond`, counted from the
  // start), so the rate holds whatever the rounding of one step.
  let steps = 0
  return new Promise<void>((resolve) => {
    const next = () => {
      append(Math.floor((++steps * step * perSecond) / 1000) - i)
      if (i >= n) return resolve()
      timers.setTimeout(next, step)
    }
    next()
  })
}
