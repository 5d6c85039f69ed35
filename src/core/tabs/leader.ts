import type { Timers } from '../runtime'
import type { Outlet } from '../store'
import type { Election } from './election'
import { type Frame, toWire, wireState } from './frames'
import { createRelay } from './relay'
import type { createSends } from './sends'
import type { Shareable } from './types'

/** What a leader needs from its tab's side of the cross-tab layer. */
export interface LeaderTab<T> {
  out: Outlet<T>
  post(frame: Frame): unknown
  sends: ReturnType<typeof createSends> | undefined
  election: Election
  timers: Timers
  now(): number
  beatEvery: number
  timeout: number
  /** Messages went out to the followers: this tab counts them as delivered. */
  relayed(ids: (string | undefined)[]): void
  /** A check after a stall found that another tab leads now. */
  superseded(): void
}

/** A tab's leadership, from `startLeading` until `stop()`. */
export interface Leader<T> {
  readonly connection: Shareable<T>
  /** Answers a late tab's hello: the state now, with the last message off the wire. */
  hello(): void
  /** Connects, mirrors and beats (once the tab knows this is its leader). */
  start(): void
  /** Stops mirroring, relaying and beating (the caller closes the connection). */
  stop(): void
}

/**
 * What this tab does while it leads with `connection` (connected by `start()`): mirrors it into
 * the tab's snapshot, relays its state (when what followers show changed), errors and
 * every message off the wire in epoch `epoch`, resuming from `from`, and beats every
 * `beatEvery`. Sends wait out `grace` ms first (see `createSends`). When `watch`, a leader
 * whose timers ran late (a long task, a paused page) asks the lock manager whether it still
 * holds the lock before it relays what piled up meanwhile: followers never get a stale batch.
 */
export function startLeading<T>(tab: LeaderTab<T>, connection: Shareable<T>, epoch: number, from: string | undefined, grace: number, watch: boolean): Leader<T> {
  const { out, sends, election, timers, now } = tab
  const { store } = out
  let stopped = false
  // Who holds the lock now, as the lock manager lists it (not where it refused the page: an
  // opaque origin refuses queries too).
  let owner: string | undefined
  if (watch) void election.holder()?.then((id) => (owner = id), () => {})
  /** When this leader's beat last ran on time. */
  let beatAt = now()
  const check = () =>
    owner === undefined || now() - beatAt < tab.timeout * 0.75
      ? undefined
      : election.holder()!.then((id) => (id === owner ? ((beatAt = now()), true) : false), () => true)
  const superseded = () => stopped || tab.superseded()
  const relay = createRelay(tab.post, epoch, from, (ms) => tab.relayed(ms.map((m) => m.id)), check, superseded)
  /** What followers were last told: the state changes they show, joined (messages carry their ids). */
  let shown: string | undefined
  const mirror = () => {
    const s = connection.getSnapshot()
    if (s.status === 'open') sends?.opened()
    store.set(s, { urgent: true })
    const w = wireState(s)
    const seen = JSON.stringify([w.status, w.attempt, w.error?.message])
    if (seen !== shown) relay.state(w), (shown = seen)
  }
  let beat: unknown
  const tick = () => {
    const pending = check()
    if (pending) void pending.then((leads) => (leads ? relay.beat() : superseded()))
    else relay.beat(), (beatAt = now())
    beat = timers.setTimeout(tick, tab.beatEvery)
  }
  const offs = [
    connection.subscribe(mirror),
    connection.onWire((m) => (relay.msg(m), out.tap(m))),
    connection.onMessage(out.messages.emit),
    connection.onError((error) => {
      out.errors.emit(error)
      if (error.kind !== 'parse') relay.err(toWire(error)!)
    }),
  ]
  return {
    connection,
    start() {
      sends?.lead(connection as Shareable<unknown>, grace)
      connection.connect()
      mirror()
      tick()
    },
    // The connection publishes ids once a frame; the last message has the newest.
    hello: () => relay.state({ ...wireState(store.peek()), lastEventId: out.last()?.id ?? store.peek().lastEventId, m: out.last() }),
    stop() {
      stopped = true
      timers.clearTimeout(beat)
      relay.stop()
      for (const off of offs) off()
    },
  }
}
