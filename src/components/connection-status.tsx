'use client'
import { memo, useEffect, useState } from 'react'
import type { PauseReason, RealtimeError, RealtimeTransportKind, ConnectionStatus as Status, TabRole, Timers } from '../core/index'

/** What the status needs of a stream: the result of `useEventSource`, `useWebSocket` or `useRealtime` fits. */
export interface ConnectionStatusSource {
  readonly status: Status
  readonly error?: RealtimeError | null
  /** Failed attempts since the connection last stayed up. */
  readonly attempt?: number
  /**
   * When the next attempt starts (ms, on the clock of the `now` prop): shown as a countdown.
   * @example <ConnectionStatus source={{ status: 'reconnecting', retryAt: Date.now() + 3000 }} /> // Retrying in 3 s
   */
  readonly retryAt?: number | null
  /**
   * Whether this tab leads the shared connection, follows it, or has its own: shown as a badge
   * (`data-role`).
   * @example <ConnectionStatus source={{ status: 'open', role: 'follower' }} /> // Via another tab
   */
  readonly role?: TabRole
  /**
   * Why it is paused (the hooks set it only while it is): said in words, in the live region.
   * @example <ConnectionStatus source={{ status: 'paused', paused: 'offline' }} /> // Paused You are offline.
   */
  readonly paused?: PauseReason | null
  /** The realtime client's transport, when known. */
  readonly transport?: RealtimeTransportKind
  /** Starts again now (skips the backoff wait; works after a final error too). */
  reconnect?(): void
}

/** Props of {@link ConnectionStatus}. */
export interface ConnectionStatusProps {
  /** The stream to show (required). @example <ConnectionStatus source={useEventSource('/api/quotes')} /> */
  source: ConnectionStatusSource
  /**
   * Words for each status, role (the badge) and pause reason.
   * @defaultValue English: 'Live', 'Connecting…', 'Reconnecting…', 'Paused', 'Disconnected',
   *   'Not connected'; 'This tab leads', 'Via another tab', 'This tab only'; 'You are offline.',
   *   'The page is hidden.', 'The page was left.'
   * @example { labels: { open: 'En direct', follower: 'Via un autre onglet', offline: 'Hors ligne.' } }
   */
  labels?: Partial<Record<Status | TabRole | PauseReason, string>>
  /**
   * Words for the countdown to the next attempt, given the whole seconds left (0 when due).
   * Keep its identity.
   * @defaultValue (s) => (s ? `Retrying in ${s} s` : 'Retrying now')
   * @example { retryIn: (s) => `Nouvel essai dans ${s} s` }
   */
  retryIn?: (seconds: number) => string
  /**
   * The clock `retryAt` is on: the stream's own (its `now` option).
   * @defaultValue Date.now
   * @example { now: clock.now } // the fake clock a test gives the stream too
   */
  now?: () => number
  /**
   * Timers for the countdown: it renders once a second, when the whole seconds left change.
   * @defaultValue globalThis timers
   * @example { timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout } }
   */
  timers?: Timers
  /**
   * Words for an error. Keep its identity.
   * @defaultValue {@link describeError}
   * @example { describeError: (e) => (e.kind === 'auth' ? 'Session expired' : describeError(e)) }
   */
  describeError?: (error: RealtimeError) => string
  /** A class for the root. @defaultValue none @example { className: 'status' } */
  className?: string
}

/**
 * An error in words a user can act on, by its kind (never the raw server text).
 * @example describeError(new RealtimeError('auth', 'HTTP 401', { status: 401 })) // 'Not signed in, or not allowed…'
 */
export function describeError(error: RealtimeError): string {
  switch (error.kind) {
    case 'network':
      return 'The connection was lost or could not be made.'
    case 'http':
      return error.status ? `The server answered with an error (HTTP ${error.status}).` : 'The server answered with an error.'
    case 'auth':
      return 'Not signed in, or not allowed. Sign in again, then reconnect.'
    case 'parse':
      return 'A message could not be read; later ones still arrive.'
    case 'timeout':
      return 'Nothing arrived for too long, so the connection was replaced.'
    case 'protocol':
      return 'The server sent something it should not have.'
    case 'max-retries':
      return 'Gave up after too many failed attempts.'
    case 'overflow':
      return 'Too much was waiting to be sent; a message was not sent.'
    case 'ended':
      return 'The server ended the stream.'
    case 'gap':
      return 'Some updates were missed while this tab was away.'
    default:
      return 'Something went wrong with the connection.'
  }
}

/** The default words for each status, role and pause reason. */
const WORDS: Record<Status | TabRole | PauseReason, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  paused: 'Paused',
  closed: 'Disconnected',
  leader: 'This tab leads',
  follower: 'Via another tab',
  solo: 'This tab only',
  offline: 'You are offline.',
  hidden: 'The page is hidden.',
  pagehide: 'The page was left.',
}

/** Where a reconnect button helps: waiting for a retry, given up, or paused. */
const RECONNECTABLE: readonly Status[] = ['reconnecting', 'closed', 'paused']

const seconds = (s: number) => (s ? `Retrying in ${s} s` : 'Retrying now')

/**
 * The time left until `at`, in whole seconds. Only this part renders as the time passes:
 * once a second, when the number shown changes (a timer set for that moment).
 */
function Countdown({ at, now = Date.now, timers = globalThis as Timers, retryIn = seconds }: { at: number } & Pick<ConnectionStatusProps, 'now' | 'timers' | 'retryIn'>) {
  const [, tick] = useState(0)
  const left = Math.max(0, at - now())
  useEffect(() => {
    if (left <= 0) return
    const timer = timers.setTimeout(() => tick((n) => n + 1), left % 1000 || 1000)
    return () => timers.clearTimeout(timer)
  })
  return <p data-tabwire-connection-retry="">{retryIn(Math.ceil(left / 1000))}</p>
}

function ConnectionStatusView({ source, labels, describeError: describe = describeError, className, ...clock }: ConnectionStatusProps) {
  const { status, error, attempt = 0, retryAt, role, paused, transport, reconnect } = source
  const say = (key: keyof typeof WORDS) => labels?.[key] ?? WORDS[key]
  return (
    <div data-tabwire-connection="" data-state={status} data-transport={transport} data-error={error?.kind} className={className}>
      {/* Only the status, the pause reason and the error are announced: the attempt, the countdown and the role change often. */}
      <p role="status" data-tabwire-connection-status="">
        <span data-tabwire-connection-label="">{say(status)}</span>
        {paused ? (
          <span data-tabwire-connection-paused="" data-reason={paused}>
            {' '}
            {say(paused)}
          </span>
        ) : null}
        {error ? (
          <span data-tabwire-connection-error="" data-kind={error.kind}>
            {' '}
            {describe(error)}
          </span>
        ) : null}
      </p>
      {status === 'reconnecting' && attempt > 0 ? <p data-tabwire-connection-attempt="">Retry {attempt}</p> : null}
      {retryAt != null ? <Countdown at={retryAt} {...clock} /> : null}
      {role ? (
        <p data-tabwire-connection-role="" data-role={role}>
          {say(role)}
        </p>
      ) : null}
      {reconnect && RECONNECTABLE.includes(status) ? (
        <button type="button" data-tabwire-connection-reconnect="" onClick={() => reconnect()}>
          Reconnect now
        </button>
      ) : null}
    </div>
  )
}

const SOURCE = ['status', 'error', 'attempt', 'retryAt', 'role', 'paused', 'transport', 'reconnect'] as const
const PROPS = ['labels', 'describeError', 'className', 'retryIn', 'now', 'timers'] as const
const sameProps = (a: ConnectionStatusProps, b: ConnectionStatusProps) =>
  SOURCE.every((k) => a.source[k] === b.source[k]) && PROPS.every((k) => a[k] === b[k])

/**
 * A stream's status in words (`data-state` is the status), why it is paused, its last error
 * in words, the attempt and a live countdown to the next one while reconnecting ("Retrying
 * in 3 s", outside the live region), a badge saying whether this tab leads the shared
 * connection, follows it or has its own (`data-role`), and a "Reconnect now" button while it
 * waits, gave up or is paused. Re-renders only when one of these changes, not on data; the
 * countdown alone renders once a second.
 * @example
 * const quotes = useEventSource<Quote>('/api/quotes', { json: true })
 * return <ConnectionStatus source={quotes} />
 * @example
 * // In a test: the stream and the countdown on one fake clock.
 * <ConnectionStatus source={useEventSource(url, { now: clock.now, timers })} now={clock.now} timers={timers} />
 */
export const ConnectionStatus = /* @__PURE__ */ memo(ConnectionStatusView, sameProps)
