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
 * How long a leader keeps a follower's send back for the one that tab made before it (see
 * `_fromFollower`) at most. That one comes as soon as the follower hears the new leader:
 * the bound matters when it never comes (its tab closed meanwhile).
 */
const WAIT = 1000

/**
 * A send id's own part. An id is a random part, then, after a dot, the own part of the send
 * its tab made before it, when that one was still unacknowledged (an older build's ids have
 * no dot: its sends wait for nothing).
 */
const own = (id: string) => id.split('.')[0]!

/**
 * What happens to sends while the lead moves between tabs. A follower's send waits (in
 * order, bounded) until a leader's acknowledgement; a new leader gets what was not yet
 * acknowledged. A leader takes each send id once however often it is posted, and holds
 * every send for a short grace after it took the lead, so an acknowledgement the old leader
 * posted (on another IPC path than the lock grant) arrives before the send could go twice.
 * A follower's sends reach the socket in the order that tab made them, whichever leader
 * each reached first: a leader keeps a send back until it took the one its id names.
 */
export function createSends(ctx: SendsContext) {
  /** Sends not yet acknowledged by a leader, in order (this tab's, waiting for one). */
  const unacked = new Map<string, unknown>()
  /**
   * Own parts of the ids of sends some leader took: a send posted again (to a leader just
   * found) is taken once, and one made after it need not wait for it.
   */
  const taken = new Set<string>()
  /** While leading: what the socket queue holds, in order (a follower's send id, or undefined for this tab's own). */
  let waiting: (string | undefined)[] = []
  /** While leading: the socket, or undefined during the grace (sends wait in `held`). */
  let socket: Shareable<unknown> | undefined
  /** While leading: what waits for the socket, in order: every send during the grace, then followers' sends kept back (see `_fromFollower`). */
  let held: [unknown, string | undefined][] = []
  let grace: unknown
  /** While leading and something waits in `held`: the timer that ends its wait (`WAIT` after the first). */
  let expiry: unknown
  // The last 1000 (a Set keeps insertion order): a flood of forged sends costs a lookup each, not a scan.
  const take = (id: string) => taken.add(own(id)).size > 1000 && taken.delete(taken.values().next().value!)
  const has = (id: string) => taken.has(own(id))
  /** A new send's id: it names this tab's last send not yet acknowledged, if any. */
  const newId = (before = [...unacked.keys()].pop()) => Math.random().toString(36).slice(2) + (before ? '.' + own(before) : '')

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

  /** Whether a send may go: its id names no send, or one some leader took. */
  const ready = (id: string | undefined) => {
    const before = id?.split('.')[1]
    return !before || taken.has(before)
  }
  /** The timer that ends the wait of what `held` has (started with the first). */
  const wait = () => (expiry ??= ctx._timers.setTimeout(() => ((expiry = undefined), drain(1)), WAIT))
  /**
   * Once the grace is over, what `held` has goes to the socket, in order, but for a
   * follower's send whose predecessor no leader took yet; when `all` (its wait is over, or
   * too many wait), that one too. One another leader took meanwhile is acknowledged instead.
   */
  const drain = (all?: unknown) => {
    // Passes over `held` until one releases nothing: a send released late in a pass may be
    // what an earlier one waits for. Each pass is one lookup a send, so a flood of forged
    // sends naming sends that never come costs the leader little.
    for (let go = 1; go && socket; ) {
      go = 0
      held = held.filter(([data, id]) => {
        if (!socket || !(all || ready(id))) return true
        go = 1
        id && has(id) ? ctx._post({ t: 'ack', id }) : toSocket(data, id)
      })
    }
    expiry = held[0] ? wait() : ctx._timers.clearTimeout(expiry)
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
      // What waited for it, here, goes.
      drain()
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
        drain()
      }
      if (ms > 0) grace = ctx._timers.setTimeout(start, ms)
      else start()
    },
    /** A send while this tab leads: its own (no id) or a follower's. */
    _own: (data: unknown) => toSocket(data),
    /**
     * A follower's send reaching this leader; one already taken is acknowledged again unless
     * its socket still holds it. One whose predecessor (the send its id names) no leader
     * took is kept back until this one takes it: that tab posted it to the old leader, which
     * did not acknowledge it, and posts it again when it hears this one. Bounded: after
     * `WAIT`, or with 1000 kept back, they go anyway, in the order they came.
     */
    _fromFollower(id: string, data: unknown) {
      if (has(id)) socket && !waiting.includes(id) && ctx._post({ t: 'ack', id })
      // One that waits for a send not taken yet releases nothing: it only needs the timer.
      else if (!held.some(([, h]) => h === id)) held.push([data, id]) > 999 || ready(id) ? drain(held.length > 999) : wait()
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
      // The followers post what was kept back again, to the next leader.
      drain()
      if (keep) for (const data of mine) unacked.set(newId(), data)
      else unacked.clear()
      return [...before, ...mine]
    },
  }
}
