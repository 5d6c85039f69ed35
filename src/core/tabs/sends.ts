import { RealtimeError } from '../errors'
import type { Timers } from '../runtime'
import { type Frame, fromWire, toWire, type WireError } from './frames'
import type { Shareable } from './types'

export interface SendsContext {
  _post(frame: Frame): boolean | undefined
  _report(error: RealtimeError): void
  _timers: Timers
  _maxQueued: number
}

/**
 * What happens to sends while the lead moves between tabs. A follower's send waits (in
 * order, bounded) until a leader's acknowledgement; a new leader gets what was not yet
 * acknowledged. A leader takes each send id once however often it is posted, and holds
 * every send for a short grace after it took the lead, so an acknowledgement the old leader
 * posted (on another IPC path than the lock grant) arrives before the send could go twice.
 */
export function createSends(ctx: SendsContext) {
  /** Sends not yet acknowledged by a leader, in order (this tab's, waiting for one). */
  const unacked = new Map<string, unknown>()
  /** Ids of sends some leader took: a send posted again (to a leader just found) is taken once. */
  const taken: string[] = []
  /** While leading: what the socket queue holds, in order (a follower's send id, or undefined for this tab's own). */
  let waiting: (string | undefined)[] = []
  /** While leading: the socket, or undefined during the grace (sends wait in `held`). */
  let socket: Shareable<unknown> | undefined
  let held: [unknown, string | undefined][] = []
  let grace: unknown
  const take = (id: string) => taken.push(id) > 1000 && taken.shift()
  const newId = () => Math.random().toString(36).slice(2)

  const refused = (id: string | undefined, error: RealtimeError) =>
    id ? void ctx._post({ t: 'ack', id, error: toWire(error)! }) : ctx._report(error)

  /** Hands a message to the socket; a follower's (`id`) is acknowledged once the socket has it. */
  const toSocket = (data: unknown, id?: string): unknown => {
    if (!socket) return held.push([data, id]) && 'queued'
    if (id) take(id)
    let error: RealtimeError | undefined
    let r: unknown
    try {
      r = socket.send?.(data, { report: (e: RealtimeError) => void (error = e) })
    } catch (thrown) {
      // A socket's send must not throw, but a throw here would leave a follower's send
      // unacknowledged forever, or throw out of this tab's send().
      error = new RealtimeError('protocol', 'the message could not be sent', { cause: thrown })
      r = 'rejected'
    }
    if (r === 'queued') waiting.push(id)
    else if (r === 'rejected') refused(id, error ?? new RealtimeError('overflow', 'the send queue is full'))
    else if (id) ctx._post({ t: 'ack', id })
    return r
  }

  return {
    unacked,
    /**
     * A send from this tab while it does not lead. Before it heard of any leader (`wait`) it
     * keeps the send: `_resend` posts it to the first leader it hears, and if this tab leads
     * first, nobody else can have taken it, so it goes out without a grace.
     */
    _queue(data: unknown, wait?: boolean) {
      if (unacked.size >= ctx._maxQueued) {
        ctx._report(new RealtimeError('overflow', 'the send queue is full'))
        return 'rejected'
      }
      const id = newId()
      if (!wait && !ctx._post({ t: 'send', id, data })) return 'rejected'
      unacked.set(id, data)
      return 'queued'
    },
    /** A leader's answer: a refused send is reported here, in the tab that sent it, once. */
    _acked(id: string, error: WireError | undefined) {
      take(id)
      if (unacked.delete(id) && error) ctx._report(fromWire(error)!)
    },
    /** A new leader: what it may not have goes to it again. */
    _resend() {
      for (const [id, data] of unacked) ctx._post({ t: 'send', id, data })
    },
    /**
     * This tab leads with `connection`; after the grace (none for the first leader this tab
     * knows: no acknowledgement can be in flight), its own waiting sends go first, in order.
     */
    _lead(connection: Shareable<unknown>, ms: number) {
      waiting = []
      held = []
      const start = () => {
        socket = connection
        // This tab's own sends stay in `unacked` (by id) through the grace, so the old
        // leader's acknowledgement of one, arriving meanwhile, keeps it from going twice.
        const mine = [...unacked.values()]
        unacked.clear()
        for (const data of mine) toSocket(data)
        for (const [data, id] of held.splice(0)) id && taken.includes(id) ? ctx._post({ t: 'ack', id }) : toSocket(data, id)
      }
      if (ms > 0) grace = ctx._timers.setTimeout(start, ms)
      else start()
    },
    /** A send while this tab leads: its own (no id) or a follower's. */
    _own: (data: unknown) => toSocket(data),
    /** A follower's send reaching this leader; one already taken is acknowledged again unless its socket still holds it. */
    _fromFollower(id: string, data: unknown) {
      if (!taken.includes(id) && !held.some(([, h]) => h === id)) toSocket(data, id)
      else if (socket && !waiting.includes(id)) ctx._post({ t: 'ack', id })
    },
    /** The leader's socket is open: it sent its queue, so the followers' sends in it are delivered. */
    _opened() {
      for (const id of waiting.splice(0)) id && ctx._post({ t: 'ack', id })
    },
    /**
     * The lead ends (`closed`: what the closed socket still held), or a follower leaves:
     * returns this tab's own sends not sent yet (a follower's go again through the next
     * leader). When `keep`, they wait for that leader too; else they are given up.
     */
    _stepDown(closed: unknown, keep: boolean): unknown[] {
      ctx._timers.clearTimeout(grace)
      // Stepping down during the grace: what this tab sent before it led is still unacked.
      const before = [...unacked.values()]
      const mine = [...held.filter(([, id]) => !id).map(([data]) => data)]
      const queued = Array.isArray(closed) ? closed.filter((_, i) => waiting[i] === undefined) : []
      mine.push(...queued)
      socket = undefined
      held = []
      waiting = []
      if (keep) for (const data of mine) unacked.set(newId(), data)
      else unacked.clear()
      return [...before, ...mine]
    },
  }
}
