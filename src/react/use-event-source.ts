'use client'
import { createEventSource, eventSourceKey, type EventSourceOptions } from '../core/event-source'
import { liveDecoding, liveOptions } from './latest'
import { type HookOptions, type HookState, useConnection } from './use-connection'

/** Options of {@link useEventSource}: every stream option plus the hook's own. */
export interface UseEventSourceOptions<T = string, S = T> extends EventSourceOptions<T>, HookOptions<T, S> {}

/** What {@link useEventSource} returns. */
export type UseEventSourceResult<S> = HookState<S>

/**
 * Subscribes a component to a Server-Sent Events stream. Components that ask for the same
 * stream in one tab share one connection. Inline options and callbacks never reconnect;
 * a new URL or a new wire-affecting option moves to the new stream.
 *
 * @param url - the stream's URL, or `null` for no connection.
 * @example
 * const { status, data, error } = useEventSource<Quote>('/api/quotes', {
 *   json: true,
 *   events: ['quote'],
 *   onMessage: (m) => chart.push(m.data),
 * })
 */
export function useEventSource<T = string, S = T>(
  url: string | null,
  options: UseEventSourceOptions<T, S> = {},
): UseEventSourceResult<S> {
  // Throws at once on misuse (a bad url, headers with the native transport…).
  const key = url !== null && options.enabled !== false ? eventSourceKey(url, options as EventSourceOptions<unknown>) : null
  return useConnection<T, S, UseEventSourceOptions<T, S> & { url: string | null }>(
    key,
    // The url and wire options are the key's; callbacks and decoding are the newest
    // holder's. A stream shared by every tab serves visible ones too, so it never pauses
    // because its leader tab is hidden.
    (inputs, live, resume, shared) =>
      createEventSource<T>(inputs.url!, {
        ...liveOptions(inputs, live, ['headers', 'onAuthError']),
        ...liveDecoding(live),
        lastEventId: resume?.lastEventId ?? inputs.lastEventId,
        pauseWhenHidden: !shared && inputs.pauseWhenHidden,
      }),
    { ...options, url },
  ).state
}
