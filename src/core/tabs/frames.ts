import type { ConnectionSnapshot } from '../connection'
import { REALTIME_ERROR_KINDS, RealtimeError, type RealtimeErrorKind } from '../errors'
import type { WireMessage } from '../transport'

/**
 * Bumped whenever frames change shape or meaning: it is in the channel name and in every
 * frame. 2: messages are relayed undecoded. 3: messages travel in batches; a refused send's
 * ack carries its error.
 */
export const PROTOCOL = 3

/** An error as it crosses the channel (an Error's prototype does not survive cloning). */
export type WireError = { kind: RealtimeErrorKind; message: string; status?: number | undefined; id?: string | undefined }
/** A snapshot as it crosses the channel; when answering a late tab's hello, `m` is the last message, undecoded. */
export type WireState = Omit<ConnectionSnapshot<unknown>, 'error' | 'data'> & { error: WireError | null; m?: WireMessage | undefined }

/**
 * What a leader's frames carry: its epoch, and the last event id it resumed from (so a tab
 * that missed its first frames still knows what it already has beyond that point).
 */
export type Led = { e: number; r?: string | undefined }

/** A leader's frame in its sequence (`s` counts from 1 in each epoch). */
export type Sequenced = Led & { s: number } & (
    | { t: 'state'; state: WireState }
    /** Messages off the wire, in order, batched per task. */
    | { t: 'msgs'; ms: WireMessage[] }
    | { t: 'err'; error: WireError }
  )

/** What tabs say to each other about one stream. */
export type Frame =
  | { t: 'hello' }
  /** `s`: the last sequence number the leader used, so a tab that missed frames can tell. */
  | ({ t: 'beat'; s: number } & Led)
  | Sequenced
  | { t: 'send'; id: string; data: unknown }
  /** `error`: the leader refused the send (its queue was full, it could not serialize it). */
  | { t: 'ack'; id: string; error?: WireError | undefined }

const maybeString = (value: unknown) => value === undefined || typeof value === 'string'
const STATUSES = ['idle', 'connecting', 'open', 'reconnecting', 'paused', 'closed']
/** Most messages one frame may carry; a leader batches one task's messages. */
export const MAX_BATCH = 100_000
/**
 * How far ahead of this tab's clock an epoch may be. Epochs come from the clock of a tab on
 * the same machine; one far ahead is forged, and would leave no room for the next leader's.
 */
export const EPOCH_SKEW = 10_000

const isWireError = (e: unknown): e is WireError =>
  !!e &&
  REALTIME_ERROR_KINDS.includes((e as WireError).kind) &&
  typeof (e as WireError).message === 'string' &&
  maybeString((e as WireError).id) &&
  ((e as WireError).status === undefined || typeof (e as WireError).status === 'number')
const isMessage = (m: unknown) => !!m && typeof (m as WireMessage).event === 'string' && maybeString((m as WireMessage).id)

/**
 * A frame from a tab running this protocol, or undefined: foreign, malformed or from
 * another version. Everything a follower acts on is checked here, since any script on the
 * origin can post to the channel.
 */
export function readFrame(data: unknown, now = Date.now()): Frame | undefined {
  const f = data as Record<string, unknown> | null
  if (!f || typeof f !== 'object' || f.v !== PROTOCOL) return undefined
  const led = Number.isSafeInteger(f.e) && (f.e as number) > 0 && (f.e as number) <= now + EPOCH_SKEW && maybeString(f.r)
  const sequenced = led && Number.isSafeInteger(f.s) && (f.s as number) > 0
  const state = f.state as Record<string, unknown> | null
  const ms = f.ms as unknown[]
  const ok =
    f.t === 'hello' ||
    (f.t === 'beat' && led && Number.isSafeInteger(f.s) && (f.s as number) >= 0) ||
    (f.t === 'state' &&
      sequenced &&
      !!state &&
      STATUSES.includes(state.status as string) &&
      Number.isSafeInteger(state.attempt) &&
      (state.error === null || isWireError(state.error)) &&
      maybeString(state.lastEventId) &&
      (state.m === undefined || isMessage(state.m))) ||
    (f.t === 'msgs' && sequenced && Array.isArray(ms) && ms.length > 0 && ms.length <= MAX_BATCH && ms.every(isMessage)) ||
    (f.t === 'err' && sequenced && isWireError(f.error)) ||
    (f.t === 'send' && typeof f.id === 'string') ||
    (f.t === 'ack' && typeof f.id === 'string' && (f.error === undefined || isWireError(f.error)))
  return ok ? (f as unknown as Frame) : undefined
}

export const toWire = (e: RealtimeError | null): WireError | null =>
  e && { kind: e.kind, message: e.message, status: e.status, id: e.id }
export const fromWire = (e: WireError | null): RealtimeError | null =>
  e && new RealtimeError(e.kind, e.message, { status: e.status, id: e.id })
