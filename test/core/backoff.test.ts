import { describe, expect, it } from 'vitest'
import { backoffDelay, parseRetryAfter } from '../../src/core/backoff'
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

  it("uses the server's SSE retry: as the base instead of initialDelay", () => {
    const options = { initialDelay: 1000 }
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(options, n, 0.5, 3000))).toEqual([1500, 3000, 6000, 12_000, 15_000])
    expect([1, 2].map((n) => backoffDelay(options, n, 0, 3000))).toEqual([0, 0])
  })

  it("lets a server retry: above maxDelay raise the cap to the server's value", () => {
    expect([1, 2, 3].map((n) => backoffDelay({ maxDelay: 10_000 }, n, 0.5, 60_000))).toEqual([30_000, 30_000, 30_000])
  })

  it('ignores retry: 0, which would mean no backoff ever (a reconnect storm)', () => {
    expect([1, 4].map((n) => backoffDelay({}, n, TOP, 0))).toEqual([999, 7999])
  })

  it('never returns more than timers can hold (2e9 ms), however large the hints', () => {
    expect(backoffDelay({}, 1, 0.5, undefined, 3_000_000_000)).toBe(2e9)
    expect(backoffDelay({}, 1, TOP, 99_999_999_999)).toBe(2e9)
    expect(backoffDelay({ maxDelay: 1e12, initialDelay: 1e12 }, 1, TOP)).toBe(2e9)
  })

  it('treats Retry-After as a floor, not a replacement', () => {
    expect(backoffDelay({}, 1, 0.5, undefined, 2000)).toBe(2000) // 500 < 2000
    expect(backoffDelay({}, 1, 0.5, undefined, 100)).toBe(500) // 500 > 100
    expect(backoffDelay({}, 3, 0, undefined, 7000)).toBe(7000)
    expect(backoffDelay({}, 8, 0.5, undefined, 60_000)).toBe(60_000) // above maxDelay too
    expect(backoffDelay({}, 2, 0.5, 4000, 1000)).toBe(4000) // with a server retry: as well
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
