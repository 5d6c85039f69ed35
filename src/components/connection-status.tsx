'use client'
import { memo } from 'react'
import type { ConnectionStatus as Status, RealtimeError, RealtimeTransportKind } from '../core/index'

/** What the status needs of a stream: the result of `useEventSource`, `useWebSocket` or `useRealtime` fits. */
export interface ConnectionStatusSource {
  readonly status: Status
  readonly error?: RealtimeError | null
  /** Failed attempts since the connection last stayed up. */
  readonly attempt?: number
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
   * Words for each status.
   * @defaultValue English: 'Live', 'Connecting…', 'Reconnecting…', 'Paused', 'Disconnected', 'Not connected'
   * @example { labels: { open: 'En direct' } }
   */
  labels?: Partial<Record<Status, string>>
  /**
   * Words for an error. Keep its identity.
   * @defaultValue {@link describeError}
   * @example { describeError: (e) => (e.kind === 'auth' ? 'Session expired' : describeError(e)) }
   */
  describeError?: (error: RealtimeError) => string
  /** A class for the root. @defaultValue none @example { className: 'status' } */
  className?: string
}

const LABELS: Record<Status, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  paused: 'Paused',
  closed: 'Disconnected',
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

/** Where a reconnect button helps: waiting for a retry, given up, or paused. */
const RECONNECTABLE: readonly Status[] = ['reconnecting', 'closed', 'paused']

function ConnectionStatusView({ source, labels, describeError: describe = describeError, className }: ConnectionStatusProps) {
  const { status, error, attempt = 0, transport, reconnect } = source
  return (
    <div data-tabwire-connection="" data-state={status} data-transport={transport} data-error={error?.kind} className={className}>
      {/* Only the status and the error are announced: the attempt count ticks on every retry. */}
      <p role="status" data-tabwire-connection-status="">
        <span data-tabwire-connection-label="">{labels?.[status] ?? LABELS[status]}</span>
        {error ? (
          <span data-tabwire-connection-error="" data-kind={error.kind}>
            {' '}
            {describe(error)}
          </span>
        ) : null}
      </p>
      {status === 'reconnecting' && attempt > 0 ? <p data-tabwire-connection-attempt="">Retry {attempt}</p> : null}
      {reconnect && RECONNECTABLE.includes(status) ? (
        <button type="button" data-tabwire-connection-reconnect="" onClick={() => reconnect()}>
          Reconnect now
        </button>
      ) : null}
    </div>
  )
}

const sameProps = (a: ConnectionStatusProps, b: ConnectionStatusProps) =>
  a.labels === b.labels &&
  a.describeError === b.describeError &&
  a.className === b.className &&
  a.source.status === b.source.status &&
  a.source.error === b.source.error &&
  a.source.attempt === b.source.attempt &&
  a.source.transport === b.source.transport &&
  a.source.reconnect === b.source.reconnect

/**
 * A stream's status in words (`data-state` is the status), its last error in words, the
 * attempt while reconnecting, and a "Reconnect now" button while it waits, gave up or is
 * paused. Re-renders only when one of these changes, not on data.
 * @example
 * const quotes = useEventSource<Quote>('/api/quotes', { json: true })
 * return <ConnectionStatus source={quotes} />
 */
export const ConnectionStatus = /* @__PURE__ */ memo(ConnectionStatusView, sameProps)
