/** Reconnection delays. */
export interface BackoffOptions {
  /**
   * Base delay of the first retry in ms. A server's SSE `retry:` field replaces it.
   * @defaultValue 1000
   */
  initialDelay?: number
  /**
   * Cap of the exponential delay in ms.
   * @defaultValue 30000
   */
  maxDelay?: number
  /**
   * Growth per attempt.
   * @defaultValue 2
   */
  factor?: number
}

/**
 * Full-jitter exponential backoff: a uniform draw in `[0, min(maxDelay, base · factor^(attempt-1))]`.
 * Full jitter spreads a crowd of clients that lost one server, so they do not return at once.
 * A `Retry-After` from the server is a floor. The result never exceeds 2e9 ms (what timers can
 * hold), and a server's `retry: 0` leaves the base as it is.
 *
 * @param attempt - 1 for the first retry.
 * @param random - a draw in `[0, 1)`.
 * @param serverRetry - the SSE `retry:` value, if the server sent one.
 * @param retryAfter - the HTTP `Retry-After` in ms, if the server sent one.
 */
export function backoffDelay(
  options: BackoffOptions,
  attempt: number,
  random: number,
  serverRetry?: number,
  retryAfter?: number,
): number {
  // A server's `retry: 0` would mean no backoff ever: it does not replace the base.
  const base = serverRetry || (options.initialDelay ?? 1000)
  const max = Math.max(options.maxDelay ?? 30_000, serverRetry ?? 0)
  const ceiling = Math.min(max, base * (options.factor ?? 2) ** Math.max(0, attempt - 1))
  // Timers treat delays past 2^31 - 1 ms as 0: a huge hint from a server must not mean "now".
  return Math.min(2e9, Math.max(retryAfter ?? 0, Math.floor(random * ceiling)))
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
