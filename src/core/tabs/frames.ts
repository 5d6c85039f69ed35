import type { ConnectionSnapshot } from '../connection'
import { REALTIME_ERROR_KINDS, RealtimeError, type RealtimeErrorKind } from '../errors'
import type { PauseReason } from '../machine'
import type { WireMessage } from '../transport'
import type { TabChannel } from './types'

/**
 * Bumped whenever frames change shape or meaning: it is in the channel name and in every
 * frame. 2: messages are relayed undecoded. 3: messages travel in batches; a refused send's
 * ack carries its error. (A state's `retryAt` and `paused` came later within 3: optional, so
 * tabs of an older build of it still share the connection.)
 */
export const PROTOCOL = 3

/** An error as it crosses the channel (an Error's prototype does not survive cloning). */
export type WireError = { kind: RealtimeErrorKind; message: string; status?: number | undefined; id?: string | undefined }
/**
 * A snapshot as it crosses the channel (no `role`: each tab knows its own); when answering a
 * late tab's hello, `m` is the last message, undecoded. `retryAt` and `paused` are absent in
 * a state from a tab of an older build.
 */
export type WireState = Omit<ConnectionSnapshot<unknown>, 'error' | 'data' | 'role' | 'retryAt' | 'paused'> & {
  error: WireError | null
  retryAt?: number | null | undefined
  paused?: PauseReason | null | undefined
  m?: WireMessage | undefined
}

/**
 * What a leader's frames carry: its epoch, and the last event id it resumed from (so a tab
 * that missed its first frames still knows what it already has beyond that point).
 */
export type Led = { e: number; r?: string | undefined }

/** A leader's frame in its sequence (`s` counts from 1 in each epoch). */
export type Sequenced = Led & { s: number } & (
    | { t: 'state'; state: WireState }
    /** Messages off the wire, in order, in batches (what arrived while the relay was pending). */
    | { t: 'msgs'; ms: WireMessage[] }
    | { t: 'err'; error: WireError }
  )

/** What a follower reads in a leader's sequence: its sequenced frames and its beats. */
export type LeaderFrame = Sequenced | ({ t: 'beat'; s: number } & Led)

/** What tabs say to each other about one stream. */
export type Frame =
  /**
   * A tab that joins. One coming back (from a freeze or the back/forward cache) also asks,
   * by nonce `c`, for what it missed: the messages after the `n` it delivered with id `since`;
   * `pe` and `ps`, the epoch and sequence number it was at, say where it was for messages
   * without ids.
   */
  | { t: 'hello'; c?: string | undefined; since?: string | undefined; n?: number | undefined; pe?: number | undefined; ps?: number | undefined }
  /**
   * The leader's answer to such a hello, for that tab alone: the messages it asked for, from
   * the leader's memory of the last ones, as of sequence number `s` of epoch `e`. `miss`: the
   * leader does not have `since` (the tab goes on as after any leader change); `gone`: the
   * leader dropped some of what it delivered since it led, so `since` may be among them.
   */
  | { t: 'replay'; c: string; e: number; s: number; ms: WireMessage[]; miss: boolean; gone?: boolean | undefined }
  /** `s`: the last sequence number the leader used, so a tab that missed frames can tell. */
  | ({ t: 'beat'; s: number } & Led)
  | Sequenced
  /**
   * A follower's send. Its `id` is random, then, when the tab's previous send was still
   * unacknowledged, a dot and that one's id (its random part): the leader keeps the tab's
   * sends in order (see sends.ts). An older build's ids have no dot.
   */
  | { t: 'send'; id: string; data: unknown }
  /** `error`: the leader refused the send (its queue was full, it could not serialize it). */
  | { t: 'ack'; id: string; error?: WireError | undefined }

const STATUSES = ['idle', 'connecting', 'open', 'reconnecting', 'paused', 'closed']
const PAUSES: unknown[] = ['offline', 'hidden', 'pagehide'] satisfies PauseReason[]
/** Most messages one frame may carry; a leader batches one task's messages. */
export const MAX_BATCH = 100_000
/**
 * How far ahead of this tab's clock an epoch may be: a year. Epochs come from the clocks of
 * tabs on this machine, which may be stepped (a tab whose clock went back must still follow
 * the leader it had); one further ahead is forged, and would leave no room for the next
 * leader's (who takes the highest epoch it heard, plus one).
 */
export const EPOCH_SKEW = 31_536_000_000 // 365 × 24 × 3600 × 1000

/** Longest send id a tab accepts (this build's have at most 45 characters: see sends.ts; tabs remember the ids they saw). */
export const MAX_ID = 64

/** A safe integer of at least `min`. */
const count = (value: unknown, min: number) => Number.isSafeInteger(value) && (value as number) >= min
/** Absent, or of this type. */
const maybe = (value: unknown, type = 'string') => value === undefined || typeof value === type
const isWireError = (e: any): e is WireError =>
  !!e && REALTIME_ERROR_KINDS.includes(e.kind) && typeof e.message === 'string' && maybe(e.id) && maybe(e.status, 'number')
const isMessage = (m: any) => !!m && typeof m.event === 'string' && maybe(m.id)
const isId = (id: unknown) => typeof id === 'string' && id.length <= MAX_ID

/**
 * A frame from a tab running this protocol, or undefined: foreign, malformed or from
 * another version. Everything a follower acts on is checked here, since any script on the
 * origin can post to the channel.
 */
export function readFrame(data: unknown, now: number): Frame | undefined {
  const f = data as any
  if (f?.v !== PROTOCOL) return undefined
  const { t, s, state, ms } = f
  const led = count(f.e, 1) && f.e <= now + EPOCH_SKEW && maybe(f.r)
  const sequenced = led && count(s, 1)
  const ok =
    (t === 'hello' && maybe(f.c) && maybe(f.since) && [f.n, f.pe, f.ps].every((x) => x === undefined || count(x, 0))) ||
    (t === 'replay' && typeof f.c === 'string' && led && count(s, 0) && Array.isArray(ms) && ms.length <= MAX_BATCH && [...ms].every(isMessage) && typeof f.miss === 'boolean' && maybe(f.gone, 'boolean')) ||
    (t === 'beat' && led && count(s, 0)) ||
    (t === 'state' &&
      sequenced &&
      !!state &&
      STATUSES.includes(state.status) &&
      count(state.attempt, 0) &&
      (state.error === null || isWireError(state.error)) &&
      maybe(state.lastEventId) &&
      (state.retryAt == null || Number.isFinite(state.retryAt)) &&
      (state.paused == null || PAUSES.includes(state.paused)) &&
      (state.m === undefined || isMessage(state.m))) ||
    (t === 'msgs' && sequenced && Array.isArray(ms) && ms.length > 0 && ms.length <= MAX_BATCH && [...ms].every(isMessage)) ||
    (t === 'err' && sequenced && isWireError(f.error)) ||
    (t === 'send' && isId(f.id)) ||
    (t === 'ack' && isId(f.id) && (f.error === undefined || isWireError(f.error)))
  return ok ? f : undefined
}

export const toWire = (e: RealtimeError | null): WireError | null =>
  e && { kind: e.kind, message: e.message, status: e.status, id: e.id }
export const fromWire = (e: WireError | null): RealtimeError | null =>
  e && new RealtimeError(e.kind, e.message, { status: e.status, id: e.id })

/** A snapshot as followers get it: no data (messages carry it), and no `parse` error (each tab decodes, and fails, for itself). */
export const wireState = (s: ConnectionSnapshot<unknown>): WireState => ({
  status: s.status,
  attempt: s.attempt,
  lastEventId: s.lastEventId,
  error: s.error?.kind === 'parse' ? null : toWire(s.error),
  retryAt: s.retryAt,
  paused: s.paused,
})

/**
 * A follower's snapshot from the leader's state. That state has no `parse` error (each tab
 * has its own), so a null error keeps this tab's while the status holds: errors end with a
 * new status, as in the engine.
 */
export const fromWireState = (w: WireState, s: ConnectionSnapshot<unknown>): Partial<ConnectionSnapshot<never>> => ({
  status: w.status,
  attempt: w.attempt,
  lastEventId: w.lastEventId ?? s.lastEventId,
  error: fromWire(w.error) ?? (w.status === s.status ? s.error : null),
  retryAt: w.retryAt ?? null,
  paused: w.paused ?? null,
  role: 'follower',
})

/**
 * Posts a frame on `channel`; false when it could not be structured-cloned (reported to
 * `refused`). A batch that cannot is posted without the messages that cannot, each
 * reported: the stream goes on. It goes once, with its sequence number: what could go, or
 * the leader's `state()` in its place.
 */
export function postFrame(channel: TabChannel | undefined, frame: Frame, refused: (error: RealtimeError) => void, state: () => WireState): boolean | undefined {
  const bad = (cause: unknown, id?: string) => refused(new RealtimeError('protocol', 'not cloneable', { cause, id }))
  try {
    channel?.postMessage({ v: PROTOCOL, ...frame })
    return true
  } catch (thrown) {
    if (frame.t !== 'msgs') return bad(thrown), false
    const good = frame.ms.filter((m) => {
      try {
        return structuredClone(m)
      } catch (cause) {
        bad(cause, m.id)
      }
    })
    const { ms, ...led } = frame
    postFrame(channel, good.length ? { ...led, ms: good } : { ...led, t: 'state', state: state() }, refused, state)
  }
}
