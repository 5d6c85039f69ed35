import { type Connection, type ConnectionSnapshot, emitter, type RealtimeMessage } from './connection'
import { RealtimeError, type RealtimeErrorKind } from './errors'
import type { Timers } from './runtime'

/** Bumped whenever frames change shape: tabs of two app versions never read each other. */
const PROTOCOL = 1

/** The part of a BroadcastChannel the relay uses (inject an in-memory one in tests). */
export interface TabChannel {
  postMessage(message: unknown): void
  onmessage: ((event: MessageEvent) => void) | null
  close(): void
}

export interface TabShareOptions {
  /**
   * Prefix of lock and channel names, so two apps on one origin never share by accident.
   * @defaultValue 'tabwire'
   */
  namespace?: string
  /**
   * ms between the leader's heartbeats on the channel.
   * @defaultValue 1000
   */
  heartbeat?: number
  /**
   * A follower that hears nothing from the leader for this long (ms) takes the lead: a
   * frozen or throttled leader must not hold the stream hostage.
   * @defaultValue 4 × heartbeat
   */
  timeout?: number
  /** Injectable lock manager. @defaultValue navigator.locks */
  locks?: Pick<LockManager, 'request'>
  /** Injectable channel factory. @defaultValue (name) => new BroadcastChannel(name) */
  channel?: (name: string) => TabChannel
  /** Injectable timers. @defaultValue globalThis timers */
  timers?: Timers
}

/** What a tab's connection needs to be shareable: a connection that may send. */
export type Shareable<T> = Connection<T> & { send?(message: unknown): unknown }

type WireError = { kind: RealtimeErrorKind; message: string; status?: number | undefined }
type WireState = Omit<ConnectionSnapshot<unknown>, 'error' | 'data'> & { error: WireError | null }
type Frame =
  | { t: 'hello' }
  | { t: 'reconnect' }
  | { t: 'beat'; e: number }
  /** A snapshot; `d` (the latest data) only when answering a late tab's hello. */
  | { t: 'state'; e: number; s: number; state: WireState; d?: unknown }
  | { t: 'msg'; e: number; s: number; m: Omit<RealtimeMessage<unknown>, 'raw'> }
  | { t: 'send'; id: string; data: unknown }
  | { t: 'ack'; id: string }

const IDLE: ConnectionSnapshot<never> = { status: 'idle', data: undefined, lastEventId: undefined, error: null, attempt: 0 }
const STATUSES = ['idle', 'connecting', 'open', 'reconnecting', 'paused', 'closed']

/** A frame from another tab of this version, or undefined (foreign, malformed, other version). */
export function readFrame(data: unknown): Frame | undefined {
  const f = data as Record<string, unknown> | null
  if (!f || typeof f !== 'object' || f.v !== PROTOCOL) return undefined
  const epoch = Number.isSafeInteger(f.e)
  const sequenced = epoch && Number.isSafeInteger(f.s)
  const state = f.state as Record<string, unknown> | null
  const m = f.m as Record<string, unknown> | null
  const ok =
    f.t === 'hello' ||
    f.t === 'reconnect' ||
    (f.t === 'beat' && epoch) ||
    (f.t === 'state' && sequenced && !!state && STATUSES.includes(state.status as string) && Number.isSafeInteger(state.attempt)) ||
    (f.t === 'msg' && sequenced && !!m && typeof m.event === 'string') ||
    ((f.t === 'send' || f.t === 'ack') && typeof f.id === 'string')
  return ok ? (f as unknown as Frame) : undefined
}

const wireError = (e: RealtimeError | null): WireError | null => e && { kind: e.kind, message: e.message, status: e.status }

/**
 * One connection per browser for a stream: tabs elect a leader with one Web Lock per
 * stream, held for the whole leadership (no probe-then-request race). The leader owns the
 * real connection and relays its snapshot and every message over a BroadcastChannel;
 * followers mirror it. Frames carry `(epoch, seq)`: a new leader starts a higher epoch, and
 * followers drop stale epochs and repeats. A new leader resumes from the last event id its
 * tab saw. Followers' sends go through the leader and are kept until acknowledged.
 *
 * Where Web Locks or BroadcastChannel are missing, this is simply `create()`: one
 * connection per tab, never a broken shared mode.
 *
 * @param key - the stream's identity (see `eventSourceKey`); part of the lock and channel names.
 * @param create - makes this tab's real connection when it leads, resuming from `lastEventId`.
 */
export function shareAcrossTabs<T>(
  key: string,
  create: (lastEventId: string | undefined) => Shareable<T>,
  options: TabShareOptions = {},
): Shareable<T> {
  const locks = options.locks ?? (globalThis as { navigator?: Navigator }).navigator?.locks
  const makeChannel = options.channel ?? (typeof BroadcastChannel === 'function' ? (n: string) => new BroadcastChannel(n) : undefined)
  if (typeof locks?.request !== 'function' || !makeChannel) return create(undefined)

  const timers = options.timers ?? (globalThis as Timers)
  const name = `${options.namespace ?? 'tabwire'}:v${PROTOCOL}:${key}`
  const beatEvery = options.heartbeat ?? 1000
  const timeout = options.timeout ?? 4 * beatEvery
  const listeners = emitter<void>()
  const messages = emitter<RealtimeMessage<T>>()
  const errors = emitter<RealtimeError>()
  const unacked = new Map<string, unknown>()
  /** Ids delivered lately: after a leader change, repeats of them are dropped. */
  const recent: string[] = []

  let snapshot: ConnectionSnapshot<T> = IDLE
  let channel: TabChannel | undefined
  let abort: AbortController | undefined
  let leader: { connection: Shareable<T>; release: () => void; offs: (() => void)[] } | undefined
  let epoch = 0
  let seq = 0
  let catchingUp = false
  let watchdog: unknown
  let beat: unknown

  const post = (frame: Frame) => {
    try {
      channel?.postMessage({ v: PROTOCOL, ...frame })
    } catch (thrown) {
      // A message that cannot be structured-cloned fails alone; the stream goes on.
      report(new RealtimeError('protocol', 'a message could not be shared with other tabs', { cause: thrown }))
    }
  }
  const report = (error: RealtimeError) => {
    snapshot = { ...snapshot, error }
    listeners.emit()
    errors.emit(error)
  }
  const setState = (state: Omit<ConnectionSnapshot<T>, 'data'>) => {
    const s = snapshot
    if (s.status === state.status && s.error === state.error && s.attempt === state.attempt && s.lastEventId === state.lastEventId) return
    snapshot = { ...s, ...state }
    listeners.emit()
  }
  const deliver = (message: RealtimeMessage<T>) => {
    const id = message.id
    if (id !== undefined) {
      // A leader whose lock was stolen (it was silent, not dead) may have delivered more than
      // the others saw: as a follower it drops what it already delivered until something new
      // arrives. Followers are never ahead of the stream they mirror, so they filter nothing.
      if (catchingUp && recent.includes(id)) return
      if (recent.at(-1) !== id && recent.push(id) > 64) recent.shift()
    }
    catchingUp = false
    snapshot = { ...snapshot, data: message.data, lastEventId: id ?? snapshot.lastEventId }
    messages.emit(message)
    listeners.emit()
  }
  /** A follower that hears nothing from the leader for `timeout` (with jitter, so followers do not all move at once) takes the lead. */
  const guard = () => {
    timers.clearTimeout(watchdog)
    if (abort && !leader) watchdog = timers.setTimeout(() => elect(true), timeout * (1 + Math.random() / 2))
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
        if (abort !== controller) return
        stepDown()
        catchingUp = true
        elect()
      })
    guard()
  }

  function lead(release: () => void) {
    timers.clearTimeout(watchdog)
    // Above any epoch this tab heard and, by the clock, above one it may have missed (a tab
    // that opened while the old leader was frozen heard nothing).
    epoch = Math.max(epoch + 1, Date.now())
    seq = 0
    catchingUp = false
    const connection = create(snapshot.lastEventId)
    const relayState = () => {
      const s = connection.getSnapshot()
      setState({ status: s.status, error: s.error, attempt: s.attempt, lastEventId: s.lastEventId ?? snapshot.lastEventId })
      post({ t: 'state', e: epoch, s: ++seq, state: { status: s.status, lastEventId: snapshot.lastEventId, attempt: s.attempt, error: wireError(s.error) } })
    }
    const offs = [
      connection.subscribe(relayState),
      connection.onMessage((m) => {
        deliver(m)
        post({ t: 'msg', e: epoch, s: ++seq, m: { data: m.data, event: m.event, id: m.id } })
      }),
      connection.onError((e) => errors.emit(e)),
    ]
    leader = { connection, release, offs }
    connection.connect()
    relayState()
    // Sends this tab queued for an earlier leader go out now, in order.
    for (const [id, data] of unacked) unacked.delete(id), connection.send?.(data)
    const tick = () => {
      post({ t: 'beat', e: epoch })
      beat = timers.setTimeout(tick, beatEvery)
    }
    tick()
  }

  /** Ends this tab's leadership: the real connection closes and the lock goes to another tab. */
  function stepDown() {
    if (!leader) return
    const { connection, release, offs } = leader
    leader = undefined
    timers.clearTimeout(beat)
    for (const off of offs) off()
    connection.close()
    release()
  }

  const onFrame = (event: MessageEvent) => {
    const frame = readFrame(event.data)
    if (!frame) return
    if (leader) {
      if (frame.t === 'hello') post({ t: 'state', e: epoch, s: ++seq, state: { ...snapshot, error: wireError(snapshot.error) }, d: snapshot.data })
      else if (frame.t === 'reconnect') leader.connection.reconnect()
      else if (frame.t === 'send') leader.connection.send?.(frame.data), post({ t: 'ack', id: frame.id })
      return
    }
    if (frame.t === 'ack') return void unacked.delete(frame.id)
    if (!('e' in frame) || frame.e < epoch) return // not for followers, or from an older leader
    if (frame.e > epoch) {
      // A new leader: its own sequence, and sends not yet acknowledged go to it again.
      epoch = frame.e
      seq = 0
      for (const [id, data] of unacked) post({ t: 'send', id, data })
    }
    guard()
    if (frame.t === 'beat' || frame.s <= seq) return
    seq = frame.s
    if (frame.t === 'msg') return deliver({ ...frame.m, raw: frame.m.data } as RealtimeMessage<T>)
    const { error, ...state } = frame.state
    if ('d' in frame) snapshot = { ...snapshot, data: frame.d as T }
    setState({ ...state, lastEventId: state.lastEventId ?? snapshot.lastEventId, error: error && new RealtimeError(error.kind, error.message, { status: error.status }) })
  }

  /** Page Lifecycle: a frozen leader would hold the stream hostage, so it lets go first. */
  const onFreeze = () => {
    if (!leader) return
    stepDown()
    elect()
  }
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
      elect()
      post({ t: 'hello' })
    },
    reconnect() {
      if (!abort) return this.connect()
      if (leader) leader.connection.reconnect()
      else post({ t: 'reconnect' })
    },
    close() {
      abort?.abort()
      abort = undefined
      timers.clearTimeout(watchdog)
      doc?.removeEventListener('freeze', onFreeze)
      stepDown()
      channel?.close()
      channel = undefined
      setState({ status: 'closed', error: null, attempt: 0, lastEventId: snapshot.lastEventId })
    },
    send(message: unknown) {
      if (leader) return leader.connection.send?.(message)
      const id = Math.random().toString(36).slice(2)
      unacked.set(id, message)
      post({ t: 'send', id, data: message })
      return 'queued'
    },
  }
}
