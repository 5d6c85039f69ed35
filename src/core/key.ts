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
 * must not show there. Two 32-bit FNV-1a lanes with different seeds (53 bits kept).
 */
export function hashKey(key: string): string {
  let a = 0x811c9dc5
  let b = 0x01000193 ^ key.length
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
  }
  return ((b >>> 11) * 0x100000000 + (a >>> 0)).toString(36)
}
