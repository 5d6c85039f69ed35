/**
 * A stable key for whatever affects the wire: the same inputs in any order give the same
 * key, so inline option objects never look like a new stream. Functions are left out
 * (inline callbacks must never reconnect), and so is `undefined`.
 */
export function streamKey(kind: string, parts: object): string {
  return kind + JSON.stringify(parts, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value,
  )
}
