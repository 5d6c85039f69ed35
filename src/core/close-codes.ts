import type { RealtimeErrorKind } from './errors'

/**
 * What a WebSocket close code means for the connection: `null` to reconnect with backoff,
 * or the kind of the final error.
 *
 * | code | meaning | result |
 * |---|---|---|
 * | 1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014 | normal, going away, no status, abnormal (network), server error, restart, try again later, bad gateway | reconnect |
 * | 1002, 1003, 1004, 1007, 1009, 1010, 1015 | protocol error, unsupported data, reserved, invalid payload, too big, extension, TLS | final `protocol` |
 * | 1008 | policy violation | final `protocol` |
 * | 4401, 4403 | application "unauthorized" / "forbidden" (4000 + HTTP status) | final `auth` (`onAuthError` may retry once) |
 * | 4400–4499 otherwise, but 4408 and 4429 | application client errors | final `protocol` |
 * | any other code (other 4000–4999, 3000–3999…) | | reconnect |
 *
 * A close your code asked for (`close()`) never reconnects. Override with `shouldReconnect`;
 * a refused retry of a code with no kind of its own is a `network` error.
 * @see https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1
 */
export function closeCodeOutcome(code: number): RealtimeErrorKind | null {
  if (code === 4401 || code === 4403) return 'auth'
  if ((code > 1001 && code < 1011 && code !== 1005 && code !== 1006) || code === 1015) return 'protocol'
  if (code >= 4400 && code < 4500 && code !== 4408 && code !== 4429) return 'protocol'
  return null
}
