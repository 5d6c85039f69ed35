'use client'
import { useCallback } from 'react'
import { createSends } from '../core/tabs/sends'
import { createWebSocket, type SendResult, type WebSocketOptions, webSocketKey } from '../core/web-socket'
import { liveDecoding, liveOptions } from './latest'
import { type HookOptions, type HookState, useConnection } from './use-connection'

/** Options of {@link useWebSocket}: every WebSocket option plus the hook's own. */
export interface UseWebSocketOptions<In = unknown, Out = unknown, S = In> extends WebSocketOptions<In, Out>, HookOptions<In, S> {}

/** What {@link useWebSocket} returns. */
export interface UseWebSocketResult<S, Out> extends Omit<HookState<S>, 'close'> {
  /**
   * Sends now if the socket is open, else queues in order (bounded by `maxQueued`);
   * returns where the message went. Keeps one identity for the life of the stream.
   */
  send(message: Out): SendResult
  /** Stops the (shared) socket and returns the messages still queued. */
  close(): Out[]
}

type Url = string | (() => string | Promise<string>)

/**
 * Subscribes a component to a WebSocket: reconnecting, with a send queue that loses
 * nothing, heartbeats and a close-code policy. Components that use the same stream in
 * one tab share one socket. Inline options and callbacks never reconnect.
 *
 * @param url - a URL, a function (possibly async) called on every connect, or `null`.
 * @example
 * const chat = useWebSocket<ChatIn, ChatOut>('wss://example.com/chat', { json: true })
 * chat.send({ type: 'say', text }) // queued while reconnecting, never silently dropped
 */
export function useWebSocket<In = unknown, Out = unknown, S = In>(
  url: Url | null,
  options: UseWebSocketOptions<In, Out, S> = {},
): UseWebSocketResult<S, Out> {
  // Throws at once on misuse (a malformed url, a url function without a `key`…).
  const key = url !== null && options.enabled !== false ? webSocketKey(url, options as WebSocketOptions<In, Out>) : null
  const { state, acquire, peek } = useConnection<In, S, UseWebSocketOptions<In, Out, S> & { url: Url | null }>(
    key,
    // Wire options are the key's; callbacks, decoding (and a url function) are the newest holder's:
    // they may capture state. A tab taking the stream over from another resumes through
    // `onReopen`.
    (inputs, live, resume) => {
      const o = { ...liveOptions(inputs, live, ['url', 'serialize', 'shouldReconnect', 'onReopen', 'onAuthError', 'messageId']), ...liveDecoding(live) }
      return createWebSocket<In, Out>(o.url!, { ...o, ...(resume && { resume: { lastMessage: resume.data, lastEventId: resume.lastEventId } }) })
    },
    { ...options, url },
    createSends,
  )

  const send = useCallback(
    (message: Out): SendResult => {
      // A send before this component subscribed (say, from a child's effect) still
      // reaches the shared socket: take it, or start it, for a moment.
      const lease = acquire()
      lease?.release()
      return (lease?.value._stream.send?.(message) as SendResult | undefined) ?? 'rejected'
    },
    [acquire],
  )
  const close = useCallback(() => (peek()?.close() as Out[] | undefined) ?? [], [peek])
  return { ...state, send, close }
}
