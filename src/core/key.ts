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

/**
 * A short, stable digest of a stream key for lock and channel names, which other code on
 * the origin can list (`navigator.locks.query()`): a URL with a token in it, or headers,
 * must not show there. FNV-1a (32 bits) and the key's length: for a hundred streams on
 * one origin, the chance that two share a name is about one in a million.
 */
export function hashKey(key: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(36) + key.length.toString(36)
}
