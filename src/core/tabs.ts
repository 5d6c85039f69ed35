import { type ConnectionSnapshot, decodeMessage, emitter, type RealtimeMessage } from './connection'
import { createDecoder, type DecodeOptions } from './decode'
import { RealtimeError } from './errors'
import { hashKey } from './key'
import { devWarn, type Timers } from './runtime'
import { type Frame, fromWire, PROTOCOL, readFrame, toWire } from './tab-frames'
import type { Shareable, TabChannel, TabDecodeOptions, TabRelay, TabResume, TabShareInjectables, TabShareOptions } from './tab-types'
import type { WireMessage } from './transport'

/**
 * The decoding options for the connection `create` makes: each message goes to `relay`
 * first, then is decoded as `options` say. Without a relay (one connection per tab), none.
 * @example createEventSource(url, { ...options, ...relaying(options, relay) })
 */
export function relaying<T>(options: DecodeOptions<T>, relay: TabRelay | undefined): DecodeOptions<T> {
  const decode = relay && createDecoder(options)
  return relay ? { json: false, schema: undefined, parse: (data, message) => (relay(message), decode ? decode(message) : (data as T)) } : {}
}

declare const process: { env: Record<string, string | undefined> }

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A snapshot before anything happened (the hooks render it on the server too). */
export const IDLE: ConnectionSnapshot<never> = { status: 'idle', data: undefined, lastEventId: undefined, error: null, attempt: 0 }

/**
 * One connection per browser for a stream: tabs elect a leader with one Web Lock per
 * stream, held for the whole leadership (no probe-then-request race). The leader owns the
 * real connection and relays its state, errors and every message over a BroadcastChannel;
 * followers mirror it. Frames carry `(epoch, seq)`: a new leader starts a higher epoch, and
 * followers drop stale epochs and repeats. A tab that takes the lead resumes from what the
 * tabs saw last. Followers' sends go through the leader and are kept until acknowledged.
 *
 * Where Web Locks or BroadcastChannel are missing, this is simply `create()`: one
 * connection per tab, never a broken shared mode.
 *
 * @param key - the stream's identity (see `eventSourceKey`); hashed into the lock and channel names.
 * @param create - makes this tab's real connection when it leads. `resume` is undefined for
 *   the first leader this tab knows of; `relay` must get every message the connection takes
 *   off the wire (see {@link relaying}), and is undefined in the one-connection-per-tab fallback.
 * @example
 * const decoding = { json: true }
 * const quotes = shareAcrossTabs(eventSourceKey(url, decoding), (resume, relay) =>
 *   createEventSource(url, { ...decoding, ...relaying(decoding, relay), lastEventId: resume?.lastEventId }),
 *   { decode: createDecoder(decoding) })
 * quotes.connect()
 */
export function shareAcrossTabs<T>(
  key: string,
  create: (resume: TabResume<T> | undefined, relay: TabRelay | undefined) => Shareable<T>,
  options: TabShareOptions & TabDecodeOptions<T> & TabShareInjectables = {},
): Shareable<T> {
  const locks = options.locks ?? (globalThis as { navigator?: Navigator }).navigator?.locks
  const makeChannel = options.channel ?? (typeof BroadcastChannel === 'function' ? (n: string) => new BroadcastChannel(n) : undefined)
  if (typeof locks?.request !== 'function' || !makeChannel) return create(undefined, undefined)

  const timers = options.timers ?? (globalThis as Timers)
  const name = `${options.namespace ?? 'tabwire'}:v${PROTOCOL}:${hashKey(key)}`
  const beatEvery = options.heartbeat ?? 1000
  const timeout = options.timeout ?? 4 * beatEvery
  const maxQueued = options.maxQueued ?? 1000
  const listeners = emitter<void>()
  const messages = emitter<RealtimeMessage<T>>()
  const errors = emitter<RealtimeError>()
  /** Sends not yet acknowledged by a leader, in order. */
  const unacked = new Map<string, unknown>()
  /** The id of each message delivered lately (an id-less event's is the one before it), in order. */
  const recent: string[] = []

  let snapshot: ConnectionSnapshot<T> = IDLE
  let channel: TabChannel | undefined
  let abort: AbortController | undefined
  let leader: { connection: Shareable<T>; release: () => void; offs: (() => void)[] } | undefined
  let epoch = 0
  let seq = 0
  /** Ids this tab delivered beyond the point the current leader resumed from, to skip when they come again. */
  let ahead: string[] = []
  /** The last event id this tab resumed from when it took the lead. */
  let from: string | undefined
  /**
   * The messages waiting in this leader's socket queue, in order: a follower's send id, or
   * undefined for this tab's own. A follower's send is acknowledged once its socket takes it.
   */
  let waiting: (string | undefined)[] = []
  let watchdog: unknown
  let beat: unknown
  /** The last message off the wire this tab saw (led or relayed): a late tab decodes it for its snapshot. */
  let last: WireMessage | undefined

  /**
   * Posts a frame; false when it could not be structured-cloned: it fails alone, reported
   * here, and the stream goes on. Real transports' payloads (text, Blobs, ArrayBuffers)
   * always clone; a custom transport's that do not never reach the followers.
   */
  const post = (frame: Frame) => {
    try {
      channel?.postMessage({ v: PROTOCOL, ...frame })
      return true
    } catch (thrown) {
      errors.emit(new RealtimeError('protocol', 'not cloneable', { cause: thrown }))
    }
  }
  /** Posts a frame of this leader's sequence. */
  const relay = (frame: DistributiveOmit<Extract<Frame, { s: number }>, 'e' | 's'>) => post({ ...frame, e: epoch, s: ++seq, r: from } as Frame)
  /** Ids of sends some leader took: a send posted again (to a leader just found) is taken once. */
  const taken: string[] = []
  const take = (id: string) => taken.push(id) > 1000 && taken.shift()
  /** Hands a message to this leader's socket; a follower's (`id`) is acknowledged once the socket has it. */
  const toSocket = (data: unknown, id?: string) => {
    const r = leader!.connection.send?.(data)
    if (r === 'queued') waiting.push(id)
    else if (id) post({ t: 'ack', id, r })
    return r
  }
  function report(error: RealtimeError) {
    snapshot = { ...snapshot, error }
    listeners.emit()
    errors.emit(error)
  }
  /** An error other tabs share: a `parse` error is one tab's own (each decodes for itself). */
  const shared = (error: RealtimeError | null) => (error?.kind === 'parse' ? null : error)
  const wireState = ({ data, ...state }: ConnectionSnapshot<T>) => ({ ...state, error: toWire(shared(state.error)) })
  /**
   * Applies a state, these fields only (a frame may carry others); an unknown `lastEventId`
   * keeps the one this tab has. True when it changed anything.
   */
  const setState = ({ status, error, attempt, lastEventId = snapshot.lastEventId }: Omit<ConnectionSnapshot<T>, 'data' | 'lastEventId'> & { lastEventId?: string | undefined }) => {
    const s = snapshot
    if (s.status === status && s.error === error && s.attempt === attempt && s.lastEventId === lastEventId) return
    snapshot = { ...s, status, error, attempt, lastEventId }
    listeners.emit()
    return true
  }
  /**
   * Counts a message off the wire as this tab's, once (decoded or not: its id is seen);
   * false when this tab already had it.
   */
  const handle = ({ id }: WireMessage) => {
    // A tab may have delivered more than the new leader had when it took over (an old leader
    // that was silent, not dead; a follower that read the old leader's last frames first):
    // it skips those, and nothing else. A paused page may miss some of the repeats, so a
    // repeat skips the ones before it too.
    if (ahead.length) {
      const j = ahead.indexOf(id!)
      ahead = ahead.slice(j + 1 || ahead.length)
      if (j >= 0) return
    }
    // The last 1000 to 2000: enough for a leader that was paused for a while and ran ahead.
    if (id !== undefined && recent.push(id) > 2000) recent.splice(0, 1000)
    snapshot = { ...snapshot, lastEventId: id ?? snapshot.lastEventId }
    return true
  }
  /** Delivers a decoded message; as in the engine, a good message clears a `parse` error. */
  const show = (message: RealtimeMessage<T>) => {
    snapshot = { ...snapshot, data: message.data, error: shared(snapshot.error) }
    messages.emit(message)
    listeners.emit()
  }
  /** This tab's reading of a message; undefined, and a `parse` error, when it cannot decode it. */
  const read = (wire: WireMessage) => {
    const message = decodeMessage(options.decode, wire)
    return message instanceof RealtimeError ? report(message) : message
  }
  const newId = () => Math.random().toString(36).slice(2)
  const overflow = () => report(new RealtimeError('overflow', 'the send queue is full'))
  const queue = (data: unknown) => {
    if (unacked.size >= maxQueued) {
      overflow()
      return 'rejected'
    }
    const id = newId()
    if (!post({ t: 'send', id, data })) return 'rejected'
    unacked.set(id, data)
    return 'queued'
  }
  /**
   * A follower that hears nothing from the leader for `timeout` takes the lead: at a random
   * point of its last quarter, so followers do not all move at once.
   */
  const guard = () => {
    timers.clearTimeout(watchdog)
    if (abort && !leader) watchdog = timers.setTimeout(() => elect(true), timeout * (1 - Math.random() / 4))
  }

  /**
   * Queues for the lock, or takes it from a silent leader. The lock is held for the whole
   * leadership; a request that was given up on purpose is ignored; a leadership stolen by
   * another tab ends here, and the tab queues again as a follower.
   */
  function elect(steal = false) {
    abort?.abort()
    const controller = (abort = new AbortController())
    locks!
      .request(name, steal ? { steal: true } : { signal: controller.signal }, () => new Promise<void>((release) => lead(release)))
      .catch(() => {
        if (abort === controller) supersede()
      })
    guard()
  }

  /** Another tab leads now (it stole the lock): this one follows. */
  function supersede() {
    stepDown(true)
    elect()
  }

  function lead(release: () => void) {
    timers.clearTimeout(watchdog)
    // Resume from the last event this tab handled: the snapshot's id is the leader's, and a
    // lagging leader's may be older than what this tab already delivered.
    from = recent.at(-1) ?? snapshot.lastEventId
    // What the tabs saw last, unless this is the first leader this tab knows.
    const resume = epoch ? { ...snapshot, lastEventId: from } : undefined
    // Above any epoch this tab heard and, by the clock, above one it may have missed (a tab
    // that opened while the old leader was frozen heard nothing).
    epoch = Math.max(epoch + 1, Date.now())
    seq = 0
    ahead = []
    // Every message off the wire is relayed, and counted here, before this tab decodes it.
    const connection = create(resume, (m) => {
      relay({ t: 'msg', m: (last = m) })
      handle(m)
    })
    /**
     * Relays the connection's state when it changed, not on each frame's data publish (the
     * messages carry their ids). Followers mirror this tab, so they already have its state.
     */
    const relayState = () => {
      const { data, ...state } = connection.getSnapshot()
      // An open socket has sent its queue: the followers' sends in it are delivered.
      if (state.status === 'open') for (const id of waiting.splice(0)) id && post({ t: 'ack', id })
      if (setState(state)) relay({ t: 'state', state: wireState(snapshot) })
    }
    const offs = [
      connection.subscribe(relayState),
      connection.onMessage(show),
      connection.onError((error) => {
        errors.emit(error)
        if (error.kind !== 'parse') relay({ t: 'err', error: toWire(error)! })
      }),
    ]
    leader = { connection, release, offs }
    connection.connect()
    relayState()
    // Sends this tab queued for an earlier leader go out now, in order.
    for (const [id, data] of unacked) unacked.delete(id), toSocket(data)
    const tick = () => {
      post({ t: 'beat', e: epoch, r: from })
      beat = timers.setTimeout(tick, beatEvery)
    }
    tick()
  }

  /**
   * Ends this tab's leadership: the real connection closes and the lock goes to another
   * tab. When `keep`, what the socket still held waits for the next leader like a
   * follower's send (it is posted when that leader's first frame arrives).
   */
  function stepDown(keep: boolean): unknown[] | undefined {
    if (!leader) return
    const { connection, release, offs } = leader
    leader = undefined
    timers.clearTimeout(beat)
    for (const off of offs) off()
    const held = connection.close()
    release()
    // Only this tab's own: the followers whose sends were still queued send them again.
    const own = Array.isArray(held) ? held.filter((_, i) => waiting[i] === undefined) : []
    waiting = []
    if (keep) for (const data of own) unacked.set(newId(), data)
    return own
  }

  const onFrame = (event: MessageEvent) => {
    const frame = readFrame(event.data)
    if (!frame) {
      // Reported in development builds only (see `devWarn`).
      try {
        if (process.env.NODE_ENV !== 'production') devWarn('frame', `ignored a foreign message on ${name}`)
      } catch {}
      return
    }
    // A newer leader: this tab's lock was stolen while it could not hear (a paused or
    // throttled page). It follows at once, before the lock manager tells it.
    if (leader && 'e' in frame && frame.e > epoch) supersede()
    if (leader) {
      if (frame.t === 'hello') relay({ t: 'state', state: { ...wireState(snapshot), m: last } })
      else if (frame.t === 'send') {
        // Already taken: acknowledged again unless it still waits in the socket's queue.
        if (!taken.includes(frame.id)) take(frame.id), toSocket(frame.data, frame.id)
        else if (!waiting.includes(frame.id)) post({ t: 'ack', id: frame.id })
      }
      return
    }
    if (frame.t === 'ack') {
      take(frame.id)
      if (unacked.delete(frame.id) && frame.r === 'rejected') overflow()
      return
    }
    if (!('e' in frame) || frame.e < epoch) return // not for followers, or from an older leader
    if (frame.e > epoch) {
      // A new leader: its own sequence, and sends not yet acknowledged go to it again.
      epoch = frame.e
      seq = 0
      // What this tab delivered after the new leader's resume point (id-less events carry
      // the id before them, so the first delivery with that id is the point).
      ahead = recent.slice(recent.indexOf(frame.r!) + 1 || recent.length)
      for (const [id, data] of unacked) post({ t: 'send', id, data })
    }
    guard()
    if (frame.t === 'beat' || frame.s <= seq) return
    seq = frame.s
    if (frame.t === 'msg') {
      const message = handle((last = frame.m)) && read(frame.m)
      return message && show(message)
    }
    if (frame.t === 'err') return errors.emit(fromWire(frame.error)!)
    const { error, m, status } = frame.state
    // A late tab's first data: the last message, which it decodes itself.
    const message = !last && m && read((last = m))
    if (message) snapshot = { ...snapshot, data: message.data }
    // The leader's state has no `parse` error (each tab has its own), so a null error keeps
    // this tab's while the status holds: errors end with a new status, as in the engine.
    setState({ ...frame.state, error: fromWire(error) ?? (status === snapshot.status ? snapshot.error : null) })
  }

  /**
   * Page Lifecycle: a frozen leader would hold the stream hostage, and one that is leaving
   * (`pagehide`) would pause it for everyone: both let go first.
   */
  const onFreeze = () => leader && supersede()
  const doc = (globalThis as { document?: Document }).document

  return {
    subscribe: listeners.add,
    getSnapshot: () => snapshot,
    onMessage: messages.add,
    onError: errors.add,
    report,
    connect() {
      if (abort) return
      channel = makeChannel(name)
      channel.onmessage = onFrame
      doc?.addEventListener('freeze', onFreeze)
      globalThis.addEventListener?.('pagehide', onFreeze)
      setState({ status: 'connecting', error: null, attempt: 0 })
      elect()
      post({ t: 'hello' })
    },
    reconnect() {
      if (!abort) return this.connect()
      // A follower takes the lead to start the connection again itself.
      if (leader) leader.connection.reconnect()
      else elect(true)
    },
    /** Stops this tab only (another takes the lead); returns the sends it still held. */
    close() {
      abort?.abort()
      abort = undefined
      timers.clearTimeout(watchdog)
      doc?.removeEventListener('freeze', onFreeze)
      globalThis.removeEventListener?.('pagehide', onFreeze)
      const held = stepDown(false) ?? []
      channel?.close()
      channel = undefined
      setState({ status: 'closed', error: null, attempt: 0 })
      const mine = [...held, ...unacked.values()]
      unacked.clear()
      return mine
    },
    send(message: unknown) {
      return leader ? toSocket(message) : queue(message)
    },
  }
}
