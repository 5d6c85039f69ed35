import { RealtimeError } from './errors'

/**
 * Connection status.
 *
 * - `idle`: not started (also the server snapshot).
 * - `connecting`: the first attempt, or an attempt asked for with `reconnect()`.
 * - `open`: the stream is up.
 * - `reconnecting`: waiting for the next attempt, or making it.
 * - `paused`: offline, or held by a policy (hidden page, back/forward cache).
 * - `closed`: stopped: by `close()`, a final error, or after `maxRetries`.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'paused' | 'closed'

/** Why a connection is paused. Several can hold at once. */
export type PauseReason = 'offline' | 'hidden' | 'pagehide'

export interface MachineState {
  readonly status: ConnectionStatus
  /** Failed attempts since the connection last stayed up for `minUptime`. */
  readonly attempt: number
  readonly error: RealtimeError | null
  /** Pause reasons in force, in the order they arrived. */
  readonly paused: readonly PauseReason[]
  /** Whether the `onAuthError` hook was already tried since the connection last stayed up `minUptime`. */
  readonly authRetried: boolean
}

export type MachineEvent =
  /** Start, or start again after `close()`. */
  | { type: 'connect' }
  /** `reconnect()`: a fresh start with the attempt count reset, whatever the status. */
  | { type: 'reconnect' }
  | { type: 'close' }
  | { type: 'opened' }
  /** The connection stayed up for `minUptime`. */
  | { type: 'stable' }
  /** The attempt failed or the live connection broke. */
  | { type: 'failed'; error: RealtimeError; retryable: boolean; retryAfter?: number | undefined }
  /** The backoff delay is over. */
  | { type: 'retry' }
  /** The `onAuthError` hook answered. */
  | { type: 'auth-answered'; retry: boolean; error: RealtimeError }
  | { type: 'pause'; reason: PauseReason }
  | { type: 'resume'; reason: PauseReason }
  /** A large gap between timer ticks: the machine slept. */
  | { type: 'wake' }

/**
 * What the caller must do after a transition:
 * `open` a new attempt, `drop` the current one, `stop` (drop and cancel a pending retry),
 * `uptime` (start the `minUptime` clock), `{ retry }` (schedule attempt n after a backoff,
 * never sooner than `retryAfter` ms), `{ auth }` (ask the `onAuthError` hook).
 */
export type Effect =
  | 'open'
  | 'drop'
  | 'stop'
  | 'uptime'
  | { retry: number; retryAfter: number | undefined }
  | { auth: RealtimeError }

export interface MachineConfig {
  /** Attempts before giving up; `Infinity` never gives up. */
  maxRetries: number
  /** Whether an `onAuthError` hook exists. */
  hasAuthHook: boolean
}

export const initialState: MachineState = {
  status: 'idle',
  attempt: 0,
  error: null,
  paused: [],
  authRetried: false,
}

type Result = readonly [MachineState, readonly Effect[]]

const live = (s: ConnectionStatus) => s === 'connecting' || s === 'open' || s === 'reconnecting'

/**
 * The whole connection policy as a pure function: same state and event, same answer.
 * Timers and I/O are effects the caller performs; none are performed here.
 */
export function transition(s: MachineState, event: MachineEvent, config: MachineConfig): Result {
  const { status } = s
  const same: Result = [s, []]
  const to = (patch: Partial<MachineState>, effects: readonly Effect[] = []): Result => [{ ...s, ...patch }, effects]
  switch (event.type) {
    case 'connect':
      return status === 'idle' || status === 'closed' ? start(s, []) : same
    case 'reconnect':
      return start({ ...s, attempt: 0, authRetried: false }, ['stop'])
    case 'close':
      // Nothing is watched while closed, so pause reasons are forgotten: the next start
      // reads them afresh. A final error stays visible.
      return to({ status: 'closed', error: status === 'closed' ? s.error : null, paused: [] }, ['stop'])
    case 'opened':
      return live(status) ? to({ status: 'open', error: null }, ['uptime']) : [s, ['drop']]
    case 'stable':
      return status === 'open' ? to({ attempt: 0, authRetried: false }) : same
    case 'retry':
      return status === 'reconnecting' ? [s, ['open']] : same
    case 'auth-answered':
      if (status !== 'reconnecting') return same
      return event.retry ? [s, ['open']] : to({ status: 'closed', error: event.error })
    case 'pause': {
      if (s.paused.includes(event.reason)) return same
      const paused = [...s.paused, event.reason]
      return live(status) || status === 'paused' ? to({ paused, status: 'paused' }, ['stop']) : to({ paused })
    }
    case 'resume': {
      if (!s.paused.includes(event.reason)) return same
      const paused = s.paused.filter((r) => r !== event.reason)
      // Back online or visible: try at once; that is not a failure.
      if (status !== 'paused' || paused.length > 0) return to({ paused })
      return to({ paused, status: s.attempt > 0 ? 'reconnecting' : 'connecting' }, ['open'])
    }
    case 'wake':
      // After a sleep an "open" stream is most likely dead and a pending retry is late:
      // check at once. For a stream that cannot be pinged, the check is a fresh connection.
      return status === 'open' || status === 'reconnecting' ? to({ status: 'reconnecting' }, ['stop', 'open']) : same
    case 'failed': {
      if (!live(status)) return same
      const { error } = event
      if (error.kind === 'auth' && config.hasAuthHook && !s.authRetried) {
        return to({ status: 'reconnecting', error, authRetried: true }, ['drop', { auth: error }])
      }
      if (!event.retryable) return to({ status: 'closed', error }, ['drop'])
      if (s.attempt >= config.maxRetries) {
        const gaveUp = new RealtimeError('max-retries', `gave up: ${error.message}`, { cause: error })
        return to({ status: 'closed', error: gaveUp }, ['drop'])
      }
      const attempt = s.attempt + 1
      return to({ status: 'reconnecting', attempt, error }, ['drop', { retry: attempt, retryAfter: event.retryAfter }])
    }
  }
}

/** Starts an attempt, unless a pause holds (then it starts when the pause ends). */
function start(s: MachineState, before: Effect[]): Result {
  return s.paused.length > 0
    ? [{ ...s, status: 'paused', error: null }, before]
    : [{ ...s, status: 'connecting', error: null }, [...before, 'open']]
}
