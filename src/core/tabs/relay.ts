import type { WireMessage } from '../transport'
import { type Frame, MAX_BATCH, type Sequenced, type WireError, type WireState } from './frames'

type Item = { t: 'state'; state: WireState } | { t: 'msgs'; ms: WireMessage[] } | { t: 'err'; error: WireError } | { t: 'own'; run: () => void }

/**
 * Runs a callback after the tasks already queued, through a MessageChannel (not a timer: a
 * hidden page's timers are throttled to once a second or less). A WebSocket or a native
 * EventSource dispatches each message as a task of its own, so a flush per task would post
 * per message; one queued behind them gathers what arrived meanwhile. Undefined where there
 * is no MessageChannel.
 */
export function nextTask(): ((callback: () => void) => void) | undefined {
  if (typeof MessageChannel !== 'function') return undefined
  const { port1, port2 } = new MessageChannel()
  // In Node a port that listens keeps the process alive.
  ;(port1 as { unref?: () => void }).unref?.()
  let queued: (() => void)[] = []
  port1.onmessage = () => {
    const run = queued
    queued = []
    for (const callback of run) callback()
  }
  return (callback) => void (queued.push(callback) === 1 && port2.postMessage(0))
}

/**
 * A leader's outgoing sequence. What one task produces goes out as few frames as possible,
 * in order: the messages between two state or error changes travel as one batch, so a
 * flood of 50,000 events a second costs the followers a post per batch, not per event. An
 * idle stream relays at once (the flush runs right after the task, or the tasks queued with
 * it), and no timer is involved (a hidden leader's timers are throttled).
 */
export function createRelay(
  post: (frame: Frame) => unknown,
  epoch: number,
  from: string | undefined,
  /** Hears each batch as it is posted, with its sequence number. */
  sent: (ms: WireMessage[], s: number) => void,
  /**
   * Undefined when this tab may post now; else whether it still leads, once known (a
   * leader whose own timers ran late may have been replaced meanwhile). While it is not
   * known, frames wait; when it no longer leads, they are dropped: followers never get a
   * stale batch.
   */
  check: () => Promise<boolean> | undefined,
  superseded: () => void,
  /** Runs the flush soon: after this task (a microtask), or after the tasks already queued (see `nextTask`). */
  schedule: (flush: () => void) => void,
) {
  let seq = 0
  let outbox: Item[] = []
  let stopped = false
  let checking = false
  const flush = () => {
    if (stopped || checking) return
    const items = outbox
    outbox = []
    for (const item of items) {
      if (item.t === 'own') item.run()
      else {
        if (item.t === 'msgs') sent(item.ms, seq + 1)
        post({ ...item, e: epoch, r: from, s: ++seq } as Sequenced)
      }
    }
  }
  /** Starts the check if this leader's timers ran late: asked as the first thing arrives after a stall. */
  const begin = () => {
    const pending = checking ? undefined : check()
    if (!pending) return
    checking = true
    void pending.then((leads) => {
      checking = false
      if (leads) flush()
      else superseded()
    })
  }
  const add = (item: Item) => {
    if (stopped) return
    begin()
    if (!outbox.length && !checking) schedule(flush)
    const tail = outbox.at(-1)
    // A batch past what a follower accepts in one frame goes on in the next.
    if (item.t === 'msgs' && tail?.t === 'msgs' && tail.ms.length < MAX_BATCH) tail.ms.push(...item.ms)
    // Only the last of states in a row counts (a flood of hellos costs one frame a flush).
    else if (item.t === 'state' && tail?.t === 'state') outbox[outbox.length - 1] = item
    else outbox.push(item)
  }
  return {
    _msg: (m: WireMessage) => add({ t: 'msgs', ms: [m] }),
    _state: (state: WireState) => add({ t: 'state', state }),
    _err: (error: WireError) => add({ t: 'err', error }),
    /**
     * Delivers to this tab's own listeners: at once, or, while it is not known whether this
     * tab still leads, in order with what waits, and not at all if it no longer does (the
     * next leader delivers it).
     */
    _own: (run: () => void) => (begin(), checking ? outbox.push({ t: 'own', run }) : run()),
    /** Liveness, with the last sequence number used, so a follower that missed frames can tell. */
    _beat: () => void (stopped || post({ t: 'beat', e: epoch, r: from, s: seq })),
    /** The last sequence number posted. */
    _seq: () => seq,
    /** Flushes what is queued now (before the lead is given up). */
    _flush: flush,
    /** Drops what is queued: this tab no longer leads. */
    _stop() {
      stopped = true
      outbox = []
    },
  }
}
