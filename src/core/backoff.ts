/** Reconnection delays. */
export interface BackoffOptions {
  /**
   * Range of the first retry's random delay, in ms; each later retry's range grows by
   * `factor`. A server's reconnection time (SSE `retry:`) does not change it: that is a
   * floor the delay starts from (see {@link backoffDelay}).
   * @defaultValue 1000
   * @example { initialDelay: 250 } // a first retry within a quarter second
   */
  initialDelay?: number
  /**
   * The longest delay in ms. Only the server can ask for a longer one: an SSE `retry:` or
   * HTTP `Retry-After` above it is waited out exactly.
   * @defaultValue 30000
   * @example { maxDelay: 10_000 }
   */
  maxDelay?: number
  /**
   * Growth of the delay's range per attempt.
   * @defaultValue 2
   * @example { factor: 1.5 }
   */
  factor?: number
}

/**
 * The delay before retry number `attempt`, in whole ms: full jitter above the server's floor,
 * capped at `maxDelay`.
 *
 * ```text
 * span  = min(maxDelay, initialDelay · factor^(attempt − 1))   the exponential range
 * floor = max(serverRetry, retryAfter)                          0 if the server said nothing
 * delay = floor + random · min(span, maxDelay − floor)          if floor < maxDelay
 * delay = floor                                                 if floor ≥ maxDelay
 * ```
 *
 * - Full jitter (a uniform draw over the whole range) spreads a crowd of clients that lost
 *   one server, so they do not all come back at once.
 * - The server's reconnection time is a floor and the jitter goes above it: the SSE spec has
 *   the client wait at least that long, and a `Retry-After` asks the same. A `retry: 0` (or
 *   none) leaves plain full jitter from 0.
 * - `maxDelay` caps the delay; only a floor above it is waited out, exactly (the server asked).
 * - However low the floor, {@link attemptWait} keeps attempts to 4 in any second.
 * - The result never exceeds 2e9 ms, what timers can hold (past 2^31 − 1 they fire at once).
 *
 * @param attempt - 1 for the first retry (0 or less counts as 1).
 * @param random - a draw in `[0, 1)`.
 * @param serverRetry - the SSE `retry:` value in ms, if the server sent one.
 * @param retryAfter - the HTTP `Retry-After` in ms, if the server sent one.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model
 * @example backoffDelay({}, 3, 0.5, 2000) // 2000 + 0.5 · 4000 = 4000
 */
export function backoffDelay(
  options: BackoffOptions,
  attempt: number,
  random: number,
  serverRetry?: number,
  retryAfter?: number,
): number {
  const maxDelay = options.maxDelay ?? 30_000
  const span = Math.min(maxDelay, (options.initialDelay ?? 1000) * (options.factor ?? 2) ** Math.max(0, attempt - 1))
  const floor = Math.max(serverRetry ?? 0, retryAfter ?? 0)
  const room = Math.max(0, Math.min(span, maxDelay - floor))
  return Math.min(2e9, Math.floor(floor + Math.floor(random * room)))
}

/** At most this many connection attempts start in any one-second window, whatever the server says. */
export const MAX_ATTEMPTS_PER_SECOND = 4

/**
 * How long (ms) the next attempt must wait so that no more than
 * {@link MAX_ATTEMPTS_PER_SECOND} start in any 1000 ms window: 0 if it may start now.
 * A clock that went backwards waits at most one window.
 * @param starts - when the latest attempts started, oldest first (only the last 4 matter).
 * @param now - the time now, on the same clock.
 * @example attemptWait([0, 10, 20, 30], 500) // 500: the fifth waits until the first is 1 s old
 */
export function attemptWait(starts: readonly number[], now: number): number {
  const oldest = starts.length >= MAX_ATTEMPTS_PER_SECOND ? starts[starts.length - MAX_ATTEMPTS_PER_SECOND]! : undefined
  return oldest === undefined ? 0 : Math.min(1000, Math.max(0, oldest + 1000 - now))
}

/**
 * Reads an HTTP `Retry-After` header (delta-seconds or an HTTP date) as ms from `now`.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000
  const date = Date.parse(value)
  return date >= 0 ? Math.max(0, date - now) : undefined
}
