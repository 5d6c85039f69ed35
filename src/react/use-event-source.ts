'use client'
import type { RealtimeError } from '../core/errors'
import { createEventSource, eventSourceKey, type EventSourceOptions } from '../core/event-source'
import { type HookOptions, type HookState, useConnection, useLatest } from './use-connection'

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
  const latest = useLatest(options)
  const key = url !== null && options.enabled !== false ? eventSourceKey(url, options as EventSourceOptions<unknown>) : null
  return useConnection<T, S>(
    key,
    () => {
      // Callbacks are read through `latest`, so a re-render with new inline functions
      // keeps the connection and the newest functions still apply.
      const o = latest.current
      const { schema } = o
      return createEventSource<T>(url!, {
        ...o,
        headers: typeof o.headers === 'function' ? () => (latest.current.headers as () => Record<string, string>)() : o.headers,
        parse: o.parse && ((data, message) => latest.current.parse!(data, message)),
        onAuthError: o.onAuthError && ((error: RealtimeError) => latest.current.onAuthError!(error)),
        schema: schema && { '~standard': { ...schema['~standard'], validate: (v) => (latest.current.schema ?? schema)['~standard'].validate(v) } },
      })
    },
    options,
  )
}
