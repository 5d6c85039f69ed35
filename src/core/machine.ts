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
  /** Whether the `onAuthError` hook was already tried since the last open. */
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
  | { type: 'failed'; error: RealtimeError; retryable: boolean; retryAfter?: number }
  /** The backoff delay is over. */
  | { type: 'retry' }
  /** The `onAuthError` hook answered. */
  | { type: 'auth-answered'; retry: boolean; error: RealtimeError }
  | { type: 'pause'; reason: PauseReason }
  | { type: 'resume'; reason: PauseReason }
  /** A large gap between timer ticks: the machine slept. */
  | { type: 'wake' }

export type Effect =
  | { type: 'open' }
  | { type: 'drop' }
  | { type: 'schedule-retry'; attempt: number; retryAfter?: number }
  | { type: 'cancel-retry' }
  | { type: 'watch-uptime' }
  | { type: 'ask-auth'; error: RealtimeError }

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

/** Tear down whatever runs now, whatever it is. */
const stopAll: readonly Effect[] = [{ type: 'drop' }, { type: 'cancel-retry' }]

/**
 * The whole connection policy as a pure function: same state and event, same answer.
 * Timers and I/O are effects the caller performs; none are performed here.
 */
export function transition(state: MachineState, event: MachineEvent, config: MachineConfig): Result {
  const s = state
  switch (event.type) {
    case 'connect':
      if (s.status !== 'idle' && s.status !== 'closed') return [s, []]
      return start(s, 'connecting')
    case 'reconnect':
      return start({ ...s, attempt: 0, authRetried: false }, 'connecting', stopAll)
    case 'close':
      if (s.status === 'closed') return [s, []]
      return [{ ...s, status: 'closed', error: null }, stopAll]
    case 'opened':
      if (!live(s.status)) return [s, [{ type: 'drop' }]]
      return [{ ...s, status: 'open', error: null }, [{ type: 'watch-uptime' }]]
    case 'stable':
      return s.status === 'open' ? [{ ...s, attempt: 0, authRetried: false }, []] : [s, []]
    case 'failed':
      return failed(s, event, config)
    case 'retry':
      return s.status === 'reconnecting' ? [s, [{ type: 'open' }]] : [s, []]
    case 'auth-answered':
      if (s.status !== 'reconnecting') return [s, []]
      if (event.retry) return [s, [{ type: 'open' }]]
      return [{ ...s, status: 'closed', error: event.error }, []]
    case 'pause': {
      if (s.paused.includes(event.reason)) return [s, []]
      const paused = [...s.paused, event.reason]
      if (!live(s.status) && s.status !== 'paused') return [{ ...s, paused }, []]
      return [{ ...s, paused, status: 'paused' }, stopAll]
    }
    case 'resume': {
      if (!s.paused.includes(event.reason)) return [s, []]
      const paused = s.paused.filter((r) => r !== event.reason)
      if (s.status !== 'paused' || paused.length > 0) return [{ ...s, paused }, []]
      // Back online or visible: try at once, this is not a failure.
      return [{ ...s, paused, status: s.attempt > 0 ? 'reconnecting' : 'connecting' }, [{ type: 'open' }]]
    }
    case 'wake':
      // After a sleep an "open" stream is most likely dead and a pending retry is late:
      // check at once. For a stream we cannot ping, the check is a fresh connection.
      if (s.status === 'open' || s.status === 'reconnecting') {
        return [{ ...s, status: 'reconnecting' }, [...stopAll, { type: 'open' }]]
      }
      return [s, []]
  }
}

function start(s: MachineState, status: ConnectionStatus, before: readonly Effect[] = []): Result {
  const base = { ...s, error: null }
  if (s.paused.length > 0) return [{ ...base, status: 'paused' }, before]
  return [{ ...base, status }, [...before, { type: 'open' }]]
}

function failed(
  s: MachineState,
  event: Extract<MachineEvent, { type: 'failed' }>,
  config: MachineConfig,
): Result {
  if (!live(s.status)) return [s, []]
  const { error } = event
  if (error.kind === 'auth' && config.hasAuthHook && !s.authRetried) {
    return [{ ...s, status: 'reconnecting', error, authRetried: true }, [{ type: 'drop' }, { type: 'ask-auth', error }]]
  }
  if (!event.retryable) return [{ ...s, status: 'closed', error }, [{ type: 'drop' }]]
  if (s.attempt >= config.maxRetries) {
    const gaveUp = new RealtimeError('max-retries', `gave up after ${s.attempt} retries: ${error.message}`, {
      cause: error,
    })
    return [{ ...s, status: 'closed', error: gaveUp }, [{ type: 'drop' }]]
  }
  const attempt = s.attempt + 1
  const retry: Effect =
    event.retryAfter === undefined
      ? { type: 'schedule-retry', attempt }
      : { type: 'schedule-retry', attempt, retryAfter: event.retryAfter }
  return [{ ...s, status: 'reconnecting', attempt, error }, [{ type: 'drop' }, retry]]
}
