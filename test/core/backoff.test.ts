import { describe, expect, it } from 'vitest'
import { attemptWait, type BackoffOptions, backoffDelay, MAX_ATTEMPTS_PER_SECOND, parseRetryAfter } from '../../src/core/backoff'
import { seededRandom } from './fakes'

/** The largest value Math.random can return. */
const TOP = 1 - 2 ** -53

describe('backoffDelay: full jitter', () => {
  const attempts = [1, 2, 3, 4, 5, 6, 7, 8, 20]
  // defaults: initialDelay 1000, factor 2, maxDelay 30 000
  const ceilings = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]

  it('draws 0 at random 0 for every attempt', () => {
    expect(attempts.map((n) => backoffDelay({}, n, 0))).toEqual(attempts.map(() => 0))
  })

  it('draws half the ceiling at random 0.5: exponential growth, capped at maxDelay', () => {
    expect(attempts.map((n) => backoffDelay({}, n, 0.5))).toEqual(ceilings.map((c) => c / 2))
  })

  it('stays below the ceiling at the top of the random range', () => {
    expect(attempts.map((n) => backoffDelay({}, n, 0.999_999))).toEqual(ceilings.map((c) => Math.floor(c * 0.999_999)))
    expect(attempts.map((n) => backoffDelay({}, n, TOP))).toEqual(ceilings.map((c) => c - 1))
  })

  it('returns whole milliseconds', () => {
    expect(backoffDelay({}, 1, 0.123_456)).toBe(123)
    expect(backoffDelay({ initialDelay: 333 }, 2, 0.3)).toBe(199) // floor(0.3 · 666)
  })

  it('follows initialDelay, factor and maxDelay', () => {
    const options = { initialDelay: 100, factor: 3, maxDelay: 5000 }
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(options, n, TOP))).toEqual([99, 299, 899, 2699, 4999, 4999])
    expect([1, 2, 3].map((n) => backoffDelay({ initialDelay: 250, factor: 1 }, n, 0.5))).toEqual([125, 125, 125])
    expect(backoffDelay({ initialDelay: 0 }, 5, TOP)).toBe(0)
  })

  it('treats attempt 0 (or less) like the first retry', () => {
    expect(backoffDelay({}, 0, 0.5)).toBe(500)
    expect(backoffDelay({}, -3, 0.5)).toBe(500)
  })

  it('survives huge attempt counts (no Infinity, no NaN)', () => {
    expect(backoffDelay({}, 10_000, 0.5)).toBe(15_000)
    expect(backoffDelay({}, Number.MAX_SAFE_INTEGER, TOP)).toBe(29_999)
  })

  it('ignores retry: 0, which would mean no backoff ever (a reconnect storm)', () => {
    expect([1, 4].map((n) => backoffDelay({}, n, TOP, 0))).toEqual([999, 7999])
  })

  it('never returns more than timers can hold (2e9 ms), however large the hints', () => {
    expect(backoffDelay({}, 1, 0.5, undefined, 3_000_000_000)).toBe(2e9)
    expect(backoffDelay({}, 1, TOP, 99_999_999_999)).toBe(2e9)
    expect(backoffDelay({ maxDelay: 1e12, initialDelay: 1e12 }, 1, TOP)).toBe(2e9)
  })
})

describe("backoffDelay: the server's floor (SSE retry:, HTTP Retry-After)", () => {
  // [what, options, attempt, random, serverRetry, retryAfter, delay]
  const table: [string, BackoffOptions, number, number, number | undefined, number | undefined, number][] = [
    ['retry: is a floor: the jitter goes above it, never below', {}, 1, 0, 3000, undefined, 3000],
    ['… by the exponential range (attempt 1: 1000)', {}, 1, 0.5, 3000, undefined, 3500],
    ['… which grows per attempt (attempt 3: 4000)', {}, 3, 0.5, 3000, undefined, 5000],
    ['… at the top of the range', {}, 3, TOP, 3000, undefined, 6999],
    ['initialDelay sets the range, not the floor', { initialDelay: 200 }, 1, 0.5, 3000, undefined, 3100],
    ['maxDelay caps floor + jitter', {}, 6, TOP, 3000, undefined, 29_999],
    ['… evenly: the range shrinks to fit under the cap', {}, 6, 0.5, 3000, undefined, 16_500],
    ['… also near the cap', { maxDelay: 10_000 }, 5, 0.5, 9000, undefined, 9500],
    ['a floor at maxDelay is waited out exactly', { maxDelay: 10_000 }, 1, 0.5, 10_000, undefined, 10_000],
    ['a floor above maxDelay is waited out exactly (the server asked)', { maxDelay: 10_000 }, 3, TOP, 60_000, undefined, 60_000],
    ['retry: 0 is no floor', {}, 2, 0.5, 0, undefined, 1000],
    ['retry: 1 is a floor of 1 ms', {}, 1, 0, 1, undefined, 1],
    ['Retry-After is a floor too', {}, 1, 0.5, undefined, 2000, 2500],
    ['… below the draw it still lifts it', {}, 1, 0, undefined, 100, 100],
    ['… and above maxDelay it is waited out exactly', {}, 8, 0.5, undefined, 60_000, 60_000],
    ['the higher of retry: and Retry-After is the floor', {}, 2, 0.5, 4000, 1000, 5000],
    ['… either way round', {}, 2, 0.5, 1000, 4000, 5000],
  ]
  it.each(table)('%s', (_what, options, attempt, random, serverRetry, retryAfter, delay) => {
    expect(backoffDelay(options, attempt, random, serverRetry, retryAfter)).toBe(delay)
  })

  it('over a seeded PRNG, every delay lies in [floor, min(maxDelay, floor + range))', () => {
    const random = seededRandom(7)
    const outside: unknown[] = []
    for (const floor of [0, 1, 500, 3000, 29_000, 30_000, 45_000]) {
      for (let attempt = 1; attempt <= 10; attempt++) {
        const range = Math.min(30_000, 1000 * 2 ** (attempt - 1))
        const top = Math.max(floor, Math.min(30_000, floor + range))
        for (let i = 0; i < 200; i++) {
          const delay = backoffDelay({}, attempt, random(), floor)
          if (delay < floor || (delay !== floor && delay >= top)) outside.push({ floor, attempt, delay })
        }
      }
    }
    expect(outside).toEqual([])
  })
})

describe('attemptWait: at most 4 attempts in any second', () => {
  const table: [string, number[], number, number][] = [
    ['no attempt yet', [], 0, 0],
    ['fewer than 4 recent attempts', [0, 10, 20], 25, 0],
    ['a fifth within the second waits until the first is 1 s old', [0, 10, 20, 30], 500, 500],
    ['… at once', [0, 0, 0, 0], 0, 1000],
    ['… not a moment longer', [0, 10, 20, 30], 1000, 0],
    ['only the last 4 count', [0, 600, 700, 800, 900], 950, 650],
    ['old attempts do not hold a new one', [0, 100, 200, 300], 5000, 0],
    ['a clock that went backwards waits at most one second', [10_000, 10_001, 10_002, 10_003], 0, 1000],
  ]
  it.each(table)('%s', (_what, starts, now, wait) => {
    expect(attemptWait(starts, now)).toBe(wait)
  })

  it('is a bound of 4', () => {
    expect(MAX_ATTEMPTS_PER_SECOND).toBe(4)
  })
})

describe('backoffDelay: distribution over a seeded PRNG', () => {
  const DRAWS = 10_000

  it.each([
    [1, 1000],
    [3, 4000],
    [5, 16_000],
    [9, 30_000],
  ])('attempt %i spreads uniformly over [0, %i)', (attempt, ceiling) => {
    const random = seededRandom(0xc0ffee + attempt)
    const delays = Array.from({ length: DRAWS }, () => backoffDelay({}, attempt, random()))
    expect(delays.every((d) => Number.isInteger(d) && d >= 0 && d < ceiling)).toBe(true)

    const mean = delays.reduce((a, b) => a + b, 0) / DRAWS
    // σ of the mean of 10k uniform draws is ceiling/√12/100 ≈ 0.29 % of the ceiling; allow ~5σ.
    expect(Math.abs(mean - ceiling / 2)).toBeLessThan(ceiling * 0.015)

    // Ten equal buckets get ~1000 each (σ ≈ 30): no clustering at either end.
    const buckets = Array.from({ length: 10 }, () => 0)
    for (const d of delays) buckets[Math.floor((d / ceiling) * 10)]!++
    for (const count of buckets) {
      expect(count).toBeGreaterThan(850)
      expect(count).toBeLessThan(1150)
    }

    expect(Math.min(...delays)).toBeLessThan(ceiling * 0.01)
    expect(Math.max(...delays)).toBeGreaterThan(ceiling * 0.99)
  })

  it('the seeded PRNG is deterministic, so the distribution test cannot flake', () => {
    const a = seededRandom(42)
    const b = seededRandom(42)
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b))
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')

  it('reads delta-seconds as ms', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter('0', now)).toBe(0)
    expect(parseRetryAfter(' 5 ', now)).toBe(5000)
  })

  it('reads an HTTP date as ms from now, in all three RFC 9110 formats', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000) // IMF-fixdate
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:29:00 GMT', now)).toBe(60_000) // obsolete RFC 850
    // asctime carries no zone; Date.parse reads it as local time, so take "now" the same way
    expect(parseRetryAfter('Wed Oct 21 07:28:10 2015', Date.parse('Wed Oct 21 07:28:00 2015'))).toBe(10_000)
  })

  it('clamps a date in the past to 0', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0)
  })

  it('ignores garbage, empty and missing values', () => {
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('', now)).toBeUndefined()
    expect(parseRetryAfter('   ', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})
