import type { RealtimeError } from './errors'

/** One message as it came off the wire, before decoding. */
export interface WireMessage {
  /** The payload: text for SSE. */
  data: unknown
  /** The event type (`message` unless the server named one). */
  event: string
  /**
   * The message's id. SSE: the stream's last event id when the message arrived (it sticks
   * across events). WebSocket: the message's own id, from the `messageId` option, or undefined.
   */
  id: string | undefined
}

/**
 * Where a transport reports what happens. Calls from a transport the engine has already
 * replaced are ignored, so a late callback can never disturb the current connection.
 */
export interface TransportSink {
  /** The connection is up. */
  open(): void
  /** A message arrived. */
  message(message: WireMessage): void
  /** Bytes arrived that are not a message (a comment, a heartbeat). Proves liveness. */
  activity(): void
  /** The server set the last event id (SSE `id:`), with or without a message. */
  lastEventId(id: string): void
  /** The server's reconnection time (SSE `retry:`), in ms. */
  retryHint(ms: number): void
  /**
   * A problem that does not end the attempt, e.g. an oversized message that was skipped;
   * the stream goes on. It goes to the snapshot's `error` and to `onError` listeners, like
   * `Connection.report`.
   */
  report(error: RealtimeError): void
  /**
   * The attempt failed or the open connection broke.
   * @param retryable - whether backoff should try again.
   * @param retryAfter - a server-given minimum delay in ms.
   */
  fail(error: RealtimeError, retryable: boolean, retryAfter?: number): void
}

export interface TransportContext {
  /** Where this attempt reports; calls after the attempt was replaced are ignored. */
  sink: TransportSink
  /** The last event id seen on this stream, to resume from. */
  lastEventId: string | undefined
  /** The attempt number (0 for a first connection). */
  attempt: number
}

/** A live attempt. `close()` must stop all I/O and make no further sink calls. */
export interface Transport {
  close(): void
}

/** Opens one attempt. May throw: the throw is reported as a `network` failure. */
export type TransportFactory = (context: TransportContext) => Transport
