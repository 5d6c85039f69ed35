/**
 * What went wrong, as a closed set so UIs can branch on it.
 *
 * - `network`: the request failed or the stream ended; retried with backoff.
 * - `http`: the server answered with a status that is retried (5xx, 429) or final (other 4xx).
 * - `auth`: 401 or 403; final until `reconnect()` (or an `onAuthError` retry).
 * - `parse`: one message could not be parsed or validated; the stream goes on.
 * - `timeout`: nothing arrived for `idleTimeout` ms; the connection is replaced.
 * - `protocol`: the server broke the protocol (wrong content type, message too large…).
 * - `max-retries`: the engine gave up after `maxRetries` attempts; `reconnect()` starts again.
 * - `overflow`: a WebSocket send queue was full; the message was not queued.
 * - `ended`: the server ended the stream on purpose (HTTP 204): closed, not a failure;
 *   `reconnect()` starts again.
 * - `gap`: this tab missed messages that no one can give it again (it was frozen for longer
 *   than the leader tab remembers); the stream goes on from the leader's position. Refetch
 *   what you show. The next good message clears it.
 */
export type RealtimeErrorKind = (typeof REALTIME_ERROR_KINDS)[number]

/**
 * Every {@link RealtimeErrorKind}, for code that must check a kind it did not make (a frame
 * from another tab, say).
 * @example
 * const known = (REALTIME_ERROR_KINDS as readonly string[]).includes(frame.kind)
 */
export const REALTIME_ERROR_KINDS = [
  'network',
  'http',
  'auth',
  'parse',
  'timeout',
  'protocol',
  'max-retries',
  'overflow',
  'ended',
  'gap',
] as const

/**
 * Extra facts an error may carry; each is optional.
 * @example new RealtimeError('parse', 'not JSON', { raw: text, id: '41', cause: thrown })
 */
export interface RealtimeErrorDetails {
  /** HTTP status (`http`, `auth`, `ended`), or the WebSocket close code of a close error. */
  status?: number
  /** The raw message text, for `parse` errors. */
  raw?: unknown
  /** The id of the message a `parse` or `protocol` error is about, when it had one. */
  id?: string
  /** The underlying error. */
  cause?: unknown
}

/**
 * The one error type tabwire reports. It lives in the snapshot (`snapshot.error`): errors
 * are data, not exceptions.
 *
 * @example
 * if (error?.kind === 'auth') return <SignIn />
 */
export class RealtimeError extends Error {
  override readonly name = 'RealtimeError'
  /** What went wrong. */
  declare readonly kind: RealtimeErrorKind
  /** The HTTP status (`http`, `auth`, `ended`), or the WebSocket close code of a close error. */
  declare readonly status: number | undefined
  /** The raw payload, for `parse` errors. */
  declare readonly raw: unknown
  /** The id of the message a `parse` or `protocol` error is about, when it had one. */
  declare readonly id: string | undefined

  constructor(kind: RealtimeErrorKind, message: string, details: RealtimeErrorDetails = {}) {
    super(message, details)
    this.kind = kind
    this.status = details.status
    this.raw = details.raw
    this.id = details.id
  }
}

/** True for a {@link RealtimeError}, also one made by another copy of tabwire. */
export function isRealtimeError(value: unknown): value is RealtimeError {
  return value instanceof RealtimeError || (value instanceof Error && value.name === 'RealtimeError')
}

/**
 * Misuse of the API: thrown at once, naming the API and the option (`what`), and in
 * development builds the fix (`detail`: production builds pass `false`, see `DEV`).
 */
export function misuse(api: string, what: string, detail: string | false): TypeError {
  return new TypeError(`[tabwire] ${api}: ${detail || `bad ${what}`}`)
}
