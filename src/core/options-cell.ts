/**
 * The options of a shared connection's holders (TanStack Query's `setOptions` model): every
 * holder puts its newest options in on each commit, and the connection reads callbacks (a
 * `headers` function with a fresh token, `parse`, `onAuthError`…) from the holder that
 * committed last and is still there. Creation inputs (url, wire options) are not read
 * from here: they are bound to the stream's key when the connection is made.
 */
export interface OptionsCell<O> {
  /** The newest options of a holder still there (of the last one, once none is). */
  get(): O
  set(holder: string, options: O): void
  remove(holder: string): void
}

export function createOptionsCell<O>(initial: O): OptionsCell<O> {
  const holders = new Map<string, O>()
  let latest = initial
  return {
    get: () => latest,
    set(holder, options) {
      holders.delete(holder)
      holders.set(holder, (latest = options))
    },
    remove(holder) {
      holders.delete(holder)
      for (const options of holders.values()) latest = options
    },
  }
}
