import { type ConnectionSnapshot, decodeMessage, type RealtimeMessage } from '../connection'
import { RealtimeError } from '../errors'
import { hashKey } from '../key'
import { defaultFrame, devWarn, type Timers } from '../runtime'
import { createStore, delivered, emitter } from '../store'
import type { WireMessage } from '../transport'
import { createElection } from './election'
import { FOLLOWER, follow, remember } from './follower'
import { type Frame, fromWire, PROTOCOL, readFrame, toWire, type WireState } from './frames'
import { globalPage } from './page'
import { createRelay } from './relay'
import type { Shareable, TabChannel, TabDecodeOptions, TabResume, TabShareInjectables, TabShareOptions } from './types'

declare const process: { env: Record<string, string | undefined> }

/** A snapshot before anything happened (the hooks render it on the server too). */
export const IDLE: ConnectionSnapshot<never> = { status: 'idle', data: undefined, lastEventId: undefined, error: null, attempt: 0 }

/** An error other tabs share: a `parse` error is one tab's own (each decodes for itself). */
const shared = (error: RealtimeError | null) => (error?.kind === 'parse' ? null : error)

/**
 * One connection per browser for a stream: tabs elect a leader with one Web Lock per
 * stream, held for the whole leadership. The leader owns the real connection and relays its
 * state, errors and every message off the wire (undecoded, batched per task) over a
 * BroadcastChannel; every tab decodes for itself. Frames carry `(epoch, seq)`: a new leader
 * starts a higher epoch and resumes from the last event the tabs had, and each tab skips
 * exactly what it already delivered. Followers' sends go through the leader and are kept
 * until acknowledged. A frozen page, or one going into the back/forward cache, leaves the
 * election and the channel, and joins again when it comes back.
 *
 * Where Web Locks or BroadcastChannel are missing, or the lock manager refuses the page,
 * each tab has its own connection: never a broken shared mode.
 *
 * @param key - the stream's identity (see `eventSourceKey`); hashed into the lock and channel names.
 * @param create - makes this tab's real connection when it leads. `resume` is undefined for
 *   the first leader this tab knows of; `shared` is false in the one-connection-per-tab fallback.
 * @example
 * const quotes = shareAcrossTabs(eventSourceKey(url), (resume) =>
 *   createEventSource(url, { json: true, lastEventId: resume?.lastEventId }), { decode: createDecoder({ json: true }) })
 * quotes.connect()
 */
export function shareAcrossTabs<T>(
  key: string,
  create: (resume: TabResume<T> | undefined, shared: boolean) => Shareable<T>,
  options: TabShareOptions & TabDecodeOptions<T> & TabShareInjectables = {},
): Shareable<T> {
  const locks = options.locks ?? (globalThis as { navigator?: Navigator }).navigator?.locks
  const makeChannel = options.channel ?? (typeof BroadcastChannel === 'function' ? (n: string) => new BroadcastChannel(n) : undefined)
  if (typeof locks?.request !== 'function' || !makeChannel) return create(undefined, false)

  const timers = options.timers ?? (globalThis as Timers)
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const page = options.page ?? globalPage()
  const name = `${options.namespace ?? 'tabwire'}:v${PROTOCOL}:${hashKey(key)}`
  const beatEvery = options.heartbeat ?? 1000
  const timeout = options.timeout ?? 4 * beatEvery
  const store = createStore<ConnectionSnapshot<T>>(IDLE, options.scheduleFrame ?? defaultFrame(timers))
  const messages = emitter<RealtimeMessage<T>>()
  const wires = emitter<WireMessage>()
  const errors = emitter<RealtimeError>()

  let follower = FOLLOWER
  let channel: TabChannel | undefined
  let leader: { connection: Shareable<T>; relay: ReturnType<typeof createRelay>; offs: (() => void)[] } | undefined
  let joined = false
  let away = false
  let watchdog: unknown
  let beat: unknown
  /** When this leader's beat last ran on time. */
  let beatAt = 0
  let stopPage: (() => void) | undefined
  /** The last message off the wire this tab saw (led or relayed): a late tab decodes it for its snapshot. */
  let last: WireMessage | undefined

  /**
   * Posts a frame; false when it could not be structured-cloned. A batch that cannot is
   * posted without the messages that cannot, each reported here: the stream goes on.
   */
  const post = (frame: Frame): boolean | undefined => {
    try {
      channel?.postMessage({ v: PROTOCOL, ...frame })
      return true
    } catch (thrown) {
      if (frame.t !== 'msgs') return errors.emit(new RealtimeError('protocol', 'not cloneable', { cause: thrown })), false
      const good = frame.ms.filter((m) => {
        try {
          return structuredClone(m)
        } catch (cause) {
          errors.emit(new RealtimeError('protocol', 'not cloneable', { cause, id: m.id }))
        }
      })
      // Once, with its sequence number: what could go, or the state in its place.
      const { ms, ...led } = frame
      post(good.length ? { ...led, ms: good } : { ...led, t: 'state', state: wireState(store.peek()) })
    }
  }
  const report = (error: RealtimeError) => {
    store.set({ error }, { urgent: true })
    errors.emit(error)
  }
  const sends = options.sends?.({ post, report, timers, maxQueued: options.maxQueued ?? 1000 })
  const wireState = (s: ConnectionSnapshot<T>): WireState => ({ status: s.status, attempt: s.attempt, lastEventId: s.lastEventId, error: toWire(shared(s.error)) })

  /** This tab's reading of a message off the wire: delivered, or a `parse` error of this tab's own. */
  const read = (m: WireMessage, deliver = true) => {
    if (deliver) wires.emit(m)
    const message = decodeMessage(options.decode, m)
    if (message instanceof RealtimeError) return store.set({ lastEventId: m.id ?? store.peek().lastEventId }), report(message)
    store.set(delivered(store.peek(), message.data, m.id ?? store.peek().lastEventId))
    if (deliver) messages.emit(message)
  }

  /**
   * A follower that hears nothing from the leader for `timeout` takes the lead: at a random
   * point of its last quarter, so followers do not all move at once. Only a visible one: a
   * hidden page's timers are throttled (to once a minute after a while), so silence between
   * hidden tabs proves nothing, and the leader's lock already goes when it closes or crashes.
   */
  const guard = () => {
    timers.clearTimeout(watchdog)
    if (joined && !away && !leader && page.visible()) watchdog = timers.setTimeout(() => election.steal(), timeout * (1 - random() / 4))
  }

  const election = createElection(locks, name, {
    lead,
    stolen: () => (stepDown(true), guard()),
    // A refusing lock manager (a sandboxed frame): this tab gets a connection of its own.
    refused: () => {
      channel?.close()
      channel = undefined
      lead()
    },
  })

  function lead() {
    timers.clearTimeout(watchdog)
    // Resume from the last event this tab handled: the snapshot's id is the leader's, and a
    // lagging leader's may be older than what this tab already delivered.
    const from = follower.recent.at(-1) ?? store.peek().lastEventId
    const resume = follower.epoch ? { lastEventId: from, data: store.peek().data } : undefined
    // Above any epoch this tab heard and, by the clock, above one it may have missed.
    const epoch = Math.max(follower.epoch + 1, now())
    follower = { ...follower, epoch, seq: 0, held: undefined, ahead: [] }
    let connection: Shareable<T>
    try {
      connection = create(resume, !!channel)
    } catch (thrown) {
      election.leave('closed')
      joined = false
      store.set({ status: 'closed' }, { urgent: true })
      return report(new RealtimeError('protocol', 'could not start the connection', { cause: thrown }))
    }
    // Who holds the lock now, as the lock manager lists it: a leader whose timers ran late
    // (a long task, a paused page) asks again before it relays what piled up meanwhile.
    let owner: string | undefined
    const holder = () => locks!.query?.().then(({ held }) => held?.find((l) => l.name === name)?.clientId)
    // Not in the fallback: a page that refused the lock (an opaque origin) refuses queries too.
    if (channel) void holder()?.then((id) => (owner = id), () => {})
    const check = () =>
      owner === undefined || now() - beatAt < timeout * 0.75
        ? undefined
        : holder()!.then((id) => (id === owner ? ((beatAt = now()), true) : false), () => true)
    const superseded = () => leader?.relay === relay && (stepDown(true), election.leave(), election.join())
    const relay = createRelay(
      post,
      epoch,
      from,
      (ms) => (follower = { ...follower, recent: remember(follower.recent, ms.map((m) => m.id)) }),
      check,
      superseded,
    )
    beatAt = now()
    let relayed: WireState | undefined
    /** Mirrors the connection; relays its state only when what followers show changed (messages carry their ids). */
    const mirror = () => {
      const s = connection.getSnapshot()
      if (s.status === 'open') sends?.opened()
      store.set(s, { urgent: true })
      const w = wireState(s)
      if (w.status !== relayed?.status || w.attempt !== relayed.attempt || w.error?.message !== relayed.error?.message) relay.state((relayed = w))
    }
    leader = {
      connection,
      relay,
      offs: [
        connection.subscribe(mirror),
        connection.onWire((m) => (relay.msg((last = m)), wires.emit(m))),
        connection.onMessage(messages.emit),
        connection.onError((error) => {
          errors.emit(error)
          if (error.kind !== 'parse') relay.err(toWire(error)!)
        }),
      ],
    }
    // No grace for the first leader a tab knows of, unless it sent before it heard one.
    sends?.lead(connection as Shareable<unknown>, resume || sends.unacked.size ? Math.min(beatEvery, 250) : 0)
    connection.connect()
    mirror()
    const tick = () => {
      const pending = check()
      if (pending) void pending.then((leads) => (leads ? relay.beat() : superseded()))
      else relay.beat(), (beatAt = now())
      beat = timers.setTimeout(tick, beatEvery)
    }
    tick()
  }

  /**
   * Ends this tab's leadership: the real connection closes and the lock goes to another
   * tab. Returns this tab's own sends its socket still held; when `keep`, they wait for the
   * next leader.
   */
  function stepDown(keep: boolean): unknown[] {
    if (!leader) return []
    const { connection, relay, offs } = leader
    leader = undefined
    timers.clearTimeout(beat)
    relay.stop()
    for (const off of offs) off()
    const closed = connection.close()
    return sends ? sends.stepDown(closed, keep) : []
  }

  const onFrame = (event: MessageEvent) => {
    const frame = readFrame(event.data, now())
    if (!frame) {
      // Reported in development builds only (see `devWarn`).
      try {
        if (process.env.NODE_ENV !== 'production') devWarn('frame', `ignored a foreign message on ${name}`)
      } catch {}
      return
    }
    // A newer leader: this tab's lock was stolen while it could not hear (a paused or
    // throttled page). It follows at once, before the lock manager tells it.
    if (leader && 'e' in frame && frame.e > follower.epoch) stepDown(true), election.leave(), election.join()
    if (leader) {
      // The connection publishes ids once a frame; the last message has the newest.
      if (frame.t === 'hello') leader.relay.state({ ...wireState(store.peek()), lastEventId: last?.id ?? store.peek().lastEventId, m: last })
      else if (frame.t === 'send') sends?.fromFollower(frame.id, frame.data)
      // The old leader's acknowledgement, after this tab took the lead: its grace is for this.
      else if (frame.t === 'ack') sends?.acked(frame.id, frame.error)
      return
    }
    if (frame.t === 'ack') return sends?.acked(frame.id, frame.error)
    if (!('e' in frame)) return
    const [next, deliveries] = follow(follower, frame)
    if (next.epoch === frame.e) guard()
    follower = next
    for (const d of deliveries) {
      if (d.t === 'leader') sends?.resend()
      else if (d.t === 'msg') read((last = d.m))
      else if (d.t === 'err') errors.emit(fromWire(d.error)!)
      else {
        const { error, m, status, attempt } = d.state
        // A late tab's first data: the last message, which it decodes itself.
        if (!last && m) read((last = m), false)
        // The leader's state has no `parse` error (each tab has its own), so a null error
        // keeps this tab's while the status holds: errors end with a new status, as in the engine.
        const s = store.peek()
        const lastEventId = d.state.lastEventId ?? s.lastEventId
        store.set({ status, attempt, lastEventId, error: fromWire(error) ?? (status === s.status ? s.error : null) }, { urgent: true })
      }
    }
  }

  /** Joins the election and the channel (on connect, and when the page comes back). */
  const join = () => {
    channel = makeChannel(name)
    channel.onmessage = onFrame
    election.join()
    post({ t: 'hello' })
    guard()
  }
  /** Leaves both entirely, so the page can be frozen or go into the back/forward cache. */
  const leave = () => {
    timers.clearTimeout(watchdog)
    stepDown(true)
    election.leave('idle')
    channel?.close()
    channel = undefined
  }
  const onPage = (event: 'leave' | 'return' | 'visibility') => {
    if (event === 'visibility') return leader || guard()
    if (event === 'leave' && !away) (away = true), leave()
    else if (event === 'return' && away) (away = false), join()
  }

  return {
    subscribe: store.subscribe,
    getSnapshot: store.get,
    onMessage: messages.add,
    onError: errors.add,
    onWire: wires.add,
    report,
    connect() {
      if (joined) return
      joined = true
      away = false
      stopPage = page.subscribe(onPage)
      store.set({ status: 'connecting', error: null, attempt: 0 }, { urgent: true })
      if (election.state() === 'refused') lead()
      else join()
    },
    reconnect() {
      if (!joined) return this.connect()
      // A follower takes the lead to start the connection again itself.
      if (leader) leader.connection.reconnect()
      else if (!away) election.steal()
    },
    /** Stops this tab only (another takes the lead); returns the sends it still held. */
    close() {
      if (!joined) return []
      joined = false
      stopPage?.()
      timers.clearTimeout(watchdog)
      const held = stepDown(false)
      election.leave('closed')
      channel?.close()
      channel = undefined
      store.set({ status: 'closed', error: null, attempt: 0 }, { urgent: true })
      const mine = [...held, ...(sends?.unacked.values() ?? [])]
      sends?.unacked.clear()
      return mine
    },
    send: (message: unknown) => (leader ? sends?.own(message) : sends?.queue(message)),
  }
}
