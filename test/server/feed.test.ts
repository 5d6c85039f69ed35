/**
 * createFeed on a socket that waits for `drain`, with a fake sink (no sockets, no sleeps):
 * a subscription stopped while its next replay chunk waits has not been sent that chunk, so
 * the position it answers (which a subscription replacing it on the same socket starts
 * after) is the last chunk written. Before, it answered the waiting chunk's, and the new
 * subscription skipped it: a silent hole of one 64 KiB chunk (outside review).
 */
import { describe, expect, it } from 'vitest'
import { createFeed, type Sink } from '../../src/server/feed'
import { createMemoryLog } from '../../src/server/log'
import { eventually } from './helpers'

/** A sink whose socket is full until `drain()`; records what was written. */
function backedUpSink() {
  const written: string[] = []
  const waits: (() => void)[] = []
  let full = true
  const sink: Sink = {
    encode: (payload) => payload,
    write(bytes) {
      written.push(bytes.toString())
      return !full
    },
    buffered: 0,
    open: true,
    get needsDrain() {
      return full
    },
    drained() {
      let done!: () => void
      const promise = new Promise<void>((resolve) => (done = resolve))
      waits.push(done)
      return { promise, cancel: done }
    },
  }
  return {
    sink,
    written,
    waits,
    drain() {
      full = false
      for (const done of waits.splice(0)) done()
    },
  }
}

describe('createFeed', () => {
  it('a subscription stopped while its replay waits for drain answers the last chunk written, not the one waiting', async () => {
    const log = createMemoryLog({ epoch: 'e' })
    for (let i = 1; i <= 6; i++) log.append(String(i))
    const feed = createFeed({ log, frame: (entry) => Buffer.from(`${entry.seq}|`), name: 'test', maxBuffered: 1 << 30, batchWindow: 0 })
    const socket = backedUpSink()
    const first = feed.follow({ sink: socket.sink, since: 'e.0', start: () => undefined, cut: () => {} })
    // The replay's chunk (entries 1 to 6) waits for the socket to drain.
    await eventually(() => expect(socket.waits).toHaveLength(1))
    expect(socket.written).toEqual([])
    // The client resubscribes on the same socket: the replacement starts after what was written.
    const after = first.stop()
    expect(after).toBe(0)
    socket.drain()
    const second = feed.follow({ sink: socket.sink, since: 'e.0', after, start: () => undefined, cut: () => {} })
    await eventually(() => expect(socket.written.join('')).toBe('1|2|3|4|5|6|'))
    second.stop()
  })
})
