import { RealtimeError } from '../errors'
import { hashKey } from '../key'
import { defaultFrame, devWarn, type Timers, timerSlot } from '../runtime'
import { createOutlet, IDLE } from '../store'
import type { WireMessage } from '../transport'
import { createElection } from './election'
import { FOLLOWER, follow, newer, remember } from './follower'
import { type Frame, fromWire, fromWireState, PROTOCOL, postFrame, readFrame, toWire, wireState, type WireState } from './frames'
import { globalPage } from './page'
import { createRelay, nextTask } from './relay'
import { createRing } from './ring'
import type { Shareable, TabChannel, TabDecodeOptions, TabResume, TabShareInjectables, TabShareOptions } from './types'

declare const process: { env: Record<string, string | undefined> }

/**
 * One connection per browser for a stream: tabs elect a leader with one Web Lock per
 * stream, held for the whole leadership. The leader owns the real connection and relays its
 * state, errors and every message off the wire (undecoded, in batches) over a
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
  const page = options.page ?? globalPage()
  const name = `${options.namespace ?? 'tabwire'}:v${PROTOCOL}:${hashKey(key)}`
  const beatEvery = options.heartbeat ?? 1000
  const timeout = options.timeout ?? 4 * beatEvery
  const out = createOutlet<T>(IDLE, options.scheduleFrame ?? defaultFrame(timers), true)
  const { _store: store, _report: report } = out
  const urgent = { urgent: true }

  let follower = FOLLOWER
  let channel: TabChannel | undefined
  let leader: { _connection: Shareable<T>; _newer(): void; _hello(frame: Extract<Frame, { t: 'hello' }>): void; _send(id: string, data: unknown): void; _stop(): void } | undefined
  let joined = false
  let away = false
  const watchdog = timerSlot(timers)
  let stopPage: (() => void) | undefined
  /** The last message off the wire this tab saw (led or relayed): a late tab decodes it for its snapshot. */
  let last: WireMessage | undefined
  /** Where the leader's relay flushes (one MessageChannel per stream, made when first needed). */
  let flushes: ((flush: () => void) => void) | undefined
  /** The last messages this tab delivered or relayed: a leader replays a returning tab's share from them. */
  const ring = createRing()
  /** While leading: what this tab delivered since `settle()` last counted it (counted in batches, not per message). */
  let mine: WireMessage[] = []
  const settle = () => {
    if (!mine.length) return
    ring._keep(mine)
    follower = { ...follower, _recent: remember(follower._recent, mine.map((m) => m.id)) }
    mine = []
  }
  /**
   * A tab back from a freeze or the back/forward cache, or one whose new leader may be ahead
   * of it: the leader's frames wait until its replay came.
   */
  let catching: { c: string; _frames: MessageEvent[] } | undefined
  /** Ends the wait for a replay (see `catchUp`). */
  const catchTimer = timerSlot(timers)
  /** The epoch whose leader this tab last asked for a replay (once per leader). */
  let tried = 0

  const post = (frame: Frame) => postFrame(channel, frame, out._errors.emit, () => wireState(store.peek()))
  const sends = options.sends?.({ _post: post, _report: report, _timers: timers, _maxQueued: options.maxQueued ?? 1000 })
  /** This tab's reading of a relayed message: delivered, or a `parse` error of this tab's own. */
  const read = (m: WireMessage, tap?: boolean) => out._read((last = m), options.decode, m.id ?? store.peek().lastEventId, tap)

  /**
   * A follower that hears nothing from the leader for `timeout` takes the lead: at a random
   * point of its last quarter, so followers do not all move at once. Only a visible one: a
   * hidden page's timers are throttled (to once a minute after a while), so silence between
   * hidden tabs proves nothing, and the leader's lock already goes when it closes or crashes.
   */
  const guard = () => {
    watchdog()
    if (joined && !away && !leader && page.visible()) {
      const wait = timeout * (1 - (options.random ?? Math.random)() / 4)
      const at = now() + wait
      // Far later than asked: every page was paused (a machine asleep), the leader's timers
      // too. It gets a new chance to beat before anyone steals.
      watchdog(() => (now() - at > timeout ? guard() : election._steal()), wait)
    }
  }

  const election = createElection(locks, name, {
    _lead: lead,
    _stolen: () => (follows(), guard()),
    // A refusing lock manager (a sandboxed frame): this tab gets a connection of its own.
    _refused: () => (channel?.close(), (channel = undefined), lead()),
  })
  /**
   * This tab led until now: it follows, and asks the new leader for what it may have missed
   * (frames that came while it still thought it led were not taken).
   */
  const follows = () => {
    stepDown(true)
    if (channel) catchUp([])
  }
  /** Another tab leads now: this one follows (and lines up for the lock again). */
  const superseded = () => (follows(), election._leave(), election._join())

  function lead() {
    watchdog()
    // A returning tab that leads resumes from its own last event: the server replays.
    caughtUp()
    const s = store.peek()
    // Resume from the last event this tab handled: the snapshot's id is the leader's, and a
    // lagging leader's may be older than what this tab already delivered.
    const from = follower._recent.at(-1) ?? s.lastEventId
    const resume = follower._epoch ? { lastEventId: from, data: s.data } : undefined
    // Above any epoch this tab heard and, by the clock, above one it may have missed.
    const epoch = Math.max(follower._epoch + 1, now())
    follower = { ...follower, _epoch: epoch, _seq: 0, _held: undefined, _ahead: [], _prev: undefined }
    ring._lead()
    let connection: Shareable<T>
    try {
      connection = create(resume, !!channel)
    } catch (cause) {
      election._leave('closed')
      joined = false
      store.set({ status: 'closed' }, urgent)
      return report(new RealtimeError('protocol', 'could not start the connection', { cause }))
    }
    // After a stall, ask the lock manager before relaying (not in the fallback: it refuses queries too).
    const check = channel ? election._watch(now, timeout * 0.75) : () => undefined
    /** The sequence number of the last batch of messages this leader relayed. */
    let relayedMsgs = 0
    const relay = createRelay(
      post,
      epoch,
      from,
      (_, s) => (relayedMsgs = s),
      check,
      () => leader === self && superseded(),
      (flushes ??= nextTask() ?? queueMicrotask),
    )
    /** What followers show of the last state relayed (see `mirror`). */
    let relayed: string | undefined
    // A takeover while the tabs show open: the new connection's first attempt shows as open,
    // for up to `timeout`. A leader change is seen only when it fails or takes long.
    let hide = !!resume && s.status === 'open'
    const shown = timerSlot(timers)
    if (hide) shown(() => ((hide = false), mirror()), timeout)
    /** Mirrors the connection; relays its state only when what followers show changed (messages carry their ids). */
    const mirror = () => {
      let s = connection.getSnapshot()
      if (s.status === 'open') sends?._opened()
      if (s.status !== 'connecting') hide = false
      if (hide) s = { ...s, status: 'open' }
      // Without a channel (a refusing lock manager) this tab serves itself only.
      store.set({ ...s, role: channel ? 'leader' : 'solo' }, urgent)
      const w = wireState(s)
      // Only the message may hold a comma, and it comes last: equal keys, equal states.
      const shown = `${[w.status, w.attempt, w.retryAt, w.paused, w.error?.message]}`
      if (shown !== relayed) relay._state(w), (relayed = shown)
    }
    const beat = timerSlot(timers)
    const tick = () => {
      const pending = check(true)
      if (pending) void pending.then((leads) => (leads ? relay._beat() : leader === self && superseded()))
      else relay._beat()
      beat(tick, beatEvery)
    }
    const offs = [
      connection.subscribe(mirror),
      // What this tab delivered counts when it delivers it (not when the relay posts it): a
      // leader that steps down with a batch still unposted has delivered it to itself.
      connection.onWire((m) => (relay._msg((last = m)), relay._own(() => mine.push(m) > 1000 && settle()), out._wires.emit(m))),
      connection.onMessage((m) => relay._own(() => out._messages.emit(m))),
      connection.onError((error) => {
        out._errors.emit(error)
        if (error.kind !== 'parse') relay._err(toWire(error)!)
      }),
    ]
    let asking = false
    const self = (leader = {
      _connection: connection,
      /** A frame of a newer epoch: this tab steps down if the lock manager says it no longer leads (it may be forged). */
      _newer() {
        const pending = asking ? undefined : check(false, true)
        if (!pending) return asking || superseded()
        asking = true
        void pending.then((leads) => ((asking = false), leads || (leader === self && superseded())))
      },
      /**
       * The hello of a late tab: the state now, with the last message (the connection
       * publishes ids once a frame); for a returning one, first what it missed.
       */
      _hello(f: Extract<Frame, { t: 'hello' }>) {
        if (f.c !== undefined) {
          // Everything this tab delivered goes out first, so the replay ends where its sequence does.
          relay._flush()
          settle()
          post(ring._answer(f as typeof f & { c: string }, epoch, relay._seq(), from, relayedMsgs))
        }
        relay._state({ ...wireState(store.peek()), lastEventId: last?.id ?? store.peek().lastEventId, m: last })
        // Posted at once, so it comes before that state: a tab that knew no leader takes a
        // new epoch's frames once it carries on past its first one (see `follow`).
        relay._beat()
      },
      /**
       * A follower's send. After a stall it waits, like a delivery, until this tab knows it
       * still leads: the followers sent it again through the next leader meanwhile.
       */
      _send: (id: string, data: unknown) => relay._own(() => sends?._fromFollower(id, data)),
      _stop() {
        beat()
        shown()
        relay._stop()
        for (const off of offs) off()
      },
    })
    // No grace for the first leader a tab knows of: it posted no send before (see `send` below).
    sends?._lead(connection as Shareable<unknown>, resume ? Math.min(beatEvery, 250) : 0)
    connection.connect()
    mirror()
    tick()
  }

  /**
   * Ends this tab's leadership: the real connection closes and the lock goes to another
   * tab. Returns this tab's own sends its socket still held; when `keep`, they wait for the
   * next leader.
   */
  function stepDown(keep: boolean): unknown[] {
    const was = leader
    leader = undefined
    settle()
    was?._stop()
    const closed = was?._connection.close()
    return sends?._stepDown(closed, keep) ?? []
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
    // throttled page). It follows, before the lock manager tells it of the steal.
    if (leader && 'e' in frame && frame.e > follower._epoch) leader._newer()
    // An acknowledgement may be the old leader's, after this tab took the lead: its grace is for this.
    if (frame.t === 'ack') return sends?._acked(frame.id, frame.error)
    if (catching && !leader) {
      if (frame.t === 'replay' && frame.c === catching.c) return caughtUp(frame)
      // A leader is there: the watchdog waits too.
      if ('e' in frame) return void (catching._frames.push(event), guard())
    }
    if (frame.t === 'replay') return
    if (leader) {
      if (frame.t === 'hello') leader._hello(frame)
      else if (frame.t === 'send') leader._send(frame.id, frame.data)
      return
    }
    if (!('e' in frame)) return
    // A new leader that may be ahead of this tab (its resume point is not among what this
    // tab delivered: it read the old leader's last frames, this tab did not yet): this tab
    // asks it for what it missed, once.
    if (newer(follower, frame) && frame.e !== tried && follower._recent.length && !follower._recent.includes(frame.r!)) {
      tried = frame.e
      return catchUp([event])
    }
    const [next, deliveries] = follow(follower, frame)
    if (next._epoch === frame.e) guard()
    follower = next
    for (const d of deliveries) {
      if (d.t === 'leader') sends?._resend()
      else if (d.t === 'msg') ring._keep([d.m]), read(d.m)
      else if (d.t === 'err') out._errors.emit(fromWire(d.error)!)
      else {
        // A late tab's first data: the last message, which it decodes itself.
        if (!last && d.state.m) read(d.state.m, false)
        store.set(fromWireState(d.state, store.peek()), urgent)
      }
    }
  }

  /**
   * A returning tab's replay came (or did not, in time, or it leads now): it delivers what
   * it missed, takes the leader's sequence from there, then reads the frames that waited.
   */
  function caughtUp(replay?: Extract<Frame, { t: 'replay' }>) {
    const was = catching
    catching = undefined
    if (!was) return
    catchTimer()
    // The leader no longer has where this tab left off, and dropped messages from its memory
    // (the tab was away, or hung, too long): nobody can give it what came between.
    if (replay?.miss && replay.gone) {
      report(new RealtimeError('gap', 'missed messages the leader tab no longer has', { id: follower._recent.at(-1) }))
    }
    if (replay && !replay.miss) {
      if (replay.e !== follower._epoch) sends?._resend()
      follower = { ...follower, _epoch: replay.e, _seq: replay.s, _held: undefined, _ahead: [], _prev: undefined, _recent: remember(follower._recent, replay.ms.map((m) => m.id)) }
      ring._keep(replay.ms)
      for (const m of replay.ms) read(m)
    }
    if (leader) return
    for (const event of was._frames) {
      // What came before the replay (a beat included, whose `s` is below the replay's) is in it.
      const f = event.data as { e?: unknown; s?: unknown }
      if (!replay || replay.miss || f.e !== replay.e || (f.s as number) >= replay.s) onFrame(event)
    }
  }

  /**
   * Joins the election and the channel (on connect, and when the page comes back: then it
   * also asks the leader for the messages after the last one it delivered).
   */
  const join = (returning?: boolean) => {
    channel = makeChannel(name)
    channel.onmessage = onFrame
    election._join()
    if (returning && follower._epoch) catchUp([])
    else post({ t: 'hello' })
    // Sends that waited while it was away go to whoever leads now (each id is taken once):
    // their acknowledgement may have come while its channel was closed.
    if (returning) sends?._resend()
    guard()
  }
  /**
   * Asks the leader (by a nonce `c` in a hello) for the messages after the last one this
   * tab delivered; `frames` (the leader's, that came meanwhile) wait for the answer, or for
   * `timeout`.
   */
  function catchUp(frames: MessageEvent[]) {
    const since = follower._recent.at(-1)
    let n = 0
    while (since !== undefined && follower._recent[follower._recent.length - 1 - n] === since) n++
    const c = Math.random().toString(36).slice(2)
    catching = { c, _frames: frames }
    catchTimer(caughtUp, timeout)
    post({ t: 'hello', c, since, n, pe: follower._epoch, ps: follower._seq })
  }

  /** Leaves both (`next`: the election's state after), so the page can be frozen or go into the back/forward cache. */
  const leave = (next: 'idle' | 'closed') => {
    watchdog()
    catchTimer()
    catching = undefined
    const held = stepDown(next === 'idle')
    election._leave(next)
    channel?.close()
    channel = undefined
    return held
  }

  return {
    ...out._api,
    connect() {
      if (joined) return
      joined = true
      away = false
      stopPage = page.subscribe((event) => {
        if (event === 'visibility') leader || guard()
        else if (event === 'leave' && !away) (away = true), leave('idle')
        else if (event === 'return' && away) (away = false), join(true)
      })
      store.set({ status: 'connecting', error: null, attempt: 0 }, urgent)
      if (election._state() === 'refused') lead()
      else join()
    },
    reconnect() {
      if (!joined) return this.connect()
      // A follower takes the lead to start the connection again itself.
      if (leader) leader._connection.reconnect()
      else if (!away) election._steal()
    },
    /** Stops this tab only (another takes the lead); returns the sends it still held. */
    close() {
      if (!joined) return []
      joined = false
      stopPage?.()
      const mine = leave('closed')
      // Nothing retries, pauses or leads for this tab now; `connect()` starts from here.
      store.set({ status: 'closed', error: null, attempt: 0, retryAt: null, paused: null, role: 'solo' }, urgent)
      return mine
    },
    send: (message: unknown) => (leader ? sends?._own(message) : sends?._queue(message, !follower._epoch)),
  }
}
