'use client'
import { createEventSource, eventSourceKey, type EventSourceOptions } from '../core/event-source'
import { relaying } from '../core/tabs'
import { liveOptions } from './latest'
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
  // `enabled` and `share` are the hook's own: `enabled: true` and no `enabled` are the same stream.
  const key = url !== null && options.enabled !== false ? eventSourceKey(url, { ...options, enabled: undefined, share: undefined } as EventSourceOptions<unknown>) : null
  return useConnection<T, S, UseEventSourceOptions<T, S>>(
    key,
    // Callbacks are read through `latest` (they may capture state). A schema is a pure
    // value: the one given when the stream starts is used. A stream shared by every tab
    // serves visible ones too, so it never pauses because its leader tab is hidden.
    (latest, resume, relay) => {
      const o = liveOptions(latest, ['headers', 'parse', 'onAuthError'])
      return createEventSource<T>(url!, { ...o, ...relaying(o, relay), lastEventId: resume?.lastEventId ?? o.lastEventId, pauseWhenHidden: !relay && o.pauseWhenHidden })
    },
    options,
  ).state
}
