/** Writing to a client's socket within a bound, and waiting for it to drain. */

/** A wait for `drain` that can be called off (the waiter goes at once, no listener is left). */
export interface DrainWait {
  readonly promise: Promise<void>
  cancel(): void
}

/**
 * The `drained` of a sink on `socket`: one `drain` listener however many wait, removed when
 * the last waiter is called off, so replays that are superseded leave nothing behind.
 */
export function drainWaiter(socket: NodeJS.EventEmitter, gone: Promise<void>): () => DrainWait {
  const waiting = new Set<() => void>()
  let listening = false
  let closed = false
  const release = () => {
    listening = false
    const all = [...waiting]
    waiting.clear()
    for (const resolve of all) resolve()
  }
  void gone.then(() => {
    closed = true
    if (listening) socket.off('drain', release)
    release()
  })
  return () => {
    if (closed) return { promise: Promise.resolve(), cancel() {} }
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    waiting.add(resolve)
    if (!listening) {
      listening = true
      socket.once('drain', release)
    }
    return {
      promise,
      cancel() {
        if (!waiting.delete(resolve)) return
        resolve()
        if (!waiting.size && listening) {
          listening = false
          socket.off('drain', release)
        }
      },
    }
  }
}

/**
 * Whether `bytes` more may be written to `sink` under `bound`: always when nothing waits in
 * it (a single frame larger than the bound still goes), else when the total stays within it.
 */
export function fits(sink: { readonly buffered: number }, bytes: number, bound: number): boolean {
  const buffered = sink.buffered
  return buffered === 0 || buffered + bytes <= bound
}
