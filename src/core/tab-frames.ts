import type { ConnectionSnapshot } from './connection'
import { RealtimeError, type RealtimeErrorKind } from './errors'
import type { WireMessage } from './transport'

/**
 * Bumped whenever frames change shape or meaning: it is in the channel name and in every
 * frame. 2: messages are relayed undecoded.
 */
export const PROTOCOL = 2

/** An error as it crosses the channel (an Error's prototype does not survive cloning). */
export type WireError = { kind: RealtimeErrorKind; message: string; status?: number | undefined }
/** A snapshot as it crosses the channel; when answering a late tab's hello, `m` is the last message, undecoded. */
export type WireState = Omit<ConnectionSnapshot<unknown>, 'error' | 'data'> & { error: WireError | null; m?: WireMessage | undefined }

/**
 * What a leader's frames carry: its epoch, and the last event id it resumed from (so a tab
 * that missed its first frames still knows what it already has beyond that point).
 */
type Led = { e: number; r?: string | undefined }

/** What tabs say to each other about one stream. */
export type Frame =
  | { t: 'hello' }
  | ({ t: 'beat' } & Led)
  | ({ t: 'state'; s: number; state: WireState } & Led)
  | ({ t: 'msg'; s: number; m: WireMessage } & Led)
  | ({ t: 'err'; s: number; error: WireError } & Led)
  | { t: 'send'; id: string; data: unknown }
  /** `r`: `'rejected'` when the leader's socket queue was full. */
  | { t: 'ack'; id: string; r?: unknown }

const maybeString = (value: unknown) => value === undefined || typeof value === 'string'
const STATUSES = ['idle', 'connecting', 'open', 'reconnecting', 'paused', 'closed']
const KINDS = ['network', 'http', 'auth', 'parse', 'timeout', 'protocol', 'max-retries', 'overflow']

const isWireError = (e: unknown): e is WireError =>
  !!e && KINDS.includes((e as WireError).kind) && typeof (e as WireError).message === 'string'
const isMessage = (m: unknown) => !!m && typeof (m as WireMessage).event === 'string' && maybeString((m as WireMessage).id)

/**
 * A frame from a tab running this protocol, or undefined: foreign, malformed or from
 * another version. Everything a follower acts on is checked here, since any script on the
 * origin can post to the channel.
 */
export function readFrame(data: unknown): Frame | undefined {
  const f = data as Record<string, unknown> | null
  if (!f || typeof f !== 'object' || f.v !== PROTOCOL) return undefined
  // Epochs come from the clock (see `lead`): one far ahead of it is not a tab's, and would
  // leave no room for the next leader's.
  const epoch = Number.isSafeInteger(f.e) && (f.e as number) <= Date.now() + 864e5 && maybeString(f.r)
  const sequenced = epoch && Number.isSafeInteger(f.s)
  const state = f.state as Record<string, unknown> | null
  const ok =
    f.t === 'hello' ||
    (f.t === 'beat' && epoch) ||
    (f.t === 'state' &&
      sequenced &&
      !!state &&
      STATUSES.includes(state.status as string) &&
      Number.isSafeInteger(state.attempt) &&
      (state.error === null || isWireError(state.error)) &&
      maybeString(state.lastEventId) &&
      (state.m === undefined || isMessage(state.m))) ||
    (f.t === 'msg' && sequenced && isMessage(f.m)) ||
    (f.t === 'err' && sequenced && isWireError(f.error)) ||
    ((f.t === 'send' || f.t === 'ack') && typeof f.id === 'string')
  return ok ? (f as unknown as Frame) : undefined
}

export const toWire = (e: RealtimeError | null): WireError | null => e && { kind: e.kind, message: e.message, status: e.status }
export const fromWire = (e: WireError | null): RealtimeError | null => e && new RealtimeError(e.kind, e.message, { status: e.status })
