import { type Connection, createConnection, type EngineOptions } from './connection'
import { createDecoder, type DecodeOptions } from './decode'
import { misuse } from './errors'
import { streamKey } from './key'
import { type FetchTransportOptions, fetchTransport } from './sse-fetch'
import { type NativeTransportOptions, nativeTransport } from './sse-native'

/** Every option of an SSE stream. */
export interface EventSourceOptions<T = string>
  extends EngineOptions,
    FetchTransportOptions,
    NativeTransportOptions,
    DecodeOptions<T> {
  /**
   * `'fetch'` streams over `fetch` (any method, headers, body; also in workers and Node).
   * `'eventsource'` uses the browser's EventSource (GET, no headers).
   * @defaultValue 'fetch'
   */
  transport?: 'fetch' | 'eventsource'
  /**
   * The event types that are messages; other events still count as liveness.
   * @defaultValue ['message']
   * @example { events: ['quote', 'trade'] }
   */
  events?: readonly string[]
  /** An id to resume from on the very first connection (e.g. one saved in storage). */
  lastEventId?: string
  /**
   * Extra identity: two uses of one URL with different `key`s get separate connections
   * (e.g. when they need different `parse` functions).
   */
  key?: string
}

const WIRE_OPTIONS = [
  'transport', 'method', 'body', 'credentials', 'withCredentials', 'lastEventIdParam', 'json',
  'maxMessageSize', 'maxRetries', 'minUptime', 'idleTimeout', 'initialDelay', 'maxDelay', 'factor',
  'pauseWhenHidden', 'lastEventId', 'key',
] as const

/**
 * The identity of an SSE stream: what affects the wire and the engine, never object or
 * function identity. Same key in one tab, one shared connection.
 */
export function eventSourceKey(url: string, options: EventSourceOptions<unknown> = {}): string {
  const parts: Record<string, unknown> = { url, events: [...(options.events ?? ['message'])].sort() }
  for (const name of WIRE_OPTIONS) parts[name] = options[name]
  if (typeof options.headers === 'object') parts.headers = options.headers
  return streamKey('sse', parts)
}

/**
 * A framework-free SSE connection. Call `connect()` to start.
 *
 * @example
 * const quotes = createEventSource<Quote>('/api/quotes', { json: true, events: ['quote'] })
 * quotes.onMessage((m) => console.log(m.data.price))
 * quotes.connect()
 */
export function createEventSource<T = string>(url: string, options: EventSourceOptions<T> = {}): Connection<T> {
  if (typeof url !== 'string' || url === '') throw misuse('createEventSource', 'the url must be a non-empty string')
  const events = options.events ?? ['message']
  if (!Array.isArray(events) || events.some((e) => typeof e !== 'string' || e === '')) {
    throw misuse('createEventSource', '`events` must be an array of non-empty event type names')
  }
  let transport
  if (options.transport === 'eventsource') {
    if (options.method && options.method !== 'GET') throw misuse('createEventSource', "transport 'eventsource' only does GET; use transport 'fetch'")
    if (options.headers || options.body) throw misuse('createEventSource', "transport 'eventsource' cannot send headers or a body; use transport 'fetch'")
    if (!options.EventSource && typeof globalThis.EventSource !== 'function') {
      throw misuse('createEventSource', "transport 'eventsource' needs a global EventSource (or the `EventSource` option); use transport 'fetch' here")
    }
    transport = nativeTransport(url, events, options)
  } else {
    transport = fetchTransport(url, options)
  }
  const accepted = new Set(events)
  return createConnection<T>({
    ...options,
    transport,
    decode: createDecoder(options),
    accepts: (event) => accepted.has(event),
  })
}
