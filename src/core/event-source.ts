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

/**
 * The identity of an SSE stream: its URL and every option that is data (functions are
 * left out), never object or function identity. Same key in
 * one tab, one shared connection.
 */
export function eventSourceKey(url: string, options: EventSourceOptions<unknown> = {}): string {
  // A schema object can be large or cyclic (zod keeps its definition on it), and
  // lastEventId only seeds the first connection: leave them out.
  const events = [...(options.events ?? ['message'])].sort()
  return streamKey('sse', { ...options, url, events, schema: undefined, environment: undefined, lastEventId: undefined })
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
  const events = options.events ?? ['message']
  if (!url || typeof url !== 'string' || !Array.isArray(events) || !events.every((e) => e && typeof e === 'string')) {
    throw misuse('createEventSource', 'expected a url and `events` as an array of names')
  }
  let transport
  let idleTimeout
  if (options.transport === 'eventsource') {
    if ((options.method ?? 'GET') !== 'GET' || options.headers || options.body || !(options.EventSource ?? globalThis.EventSource)) {
      throw misuse('createEventSource', "transport 'eventsource' needs EventSource and a plain GET; use 'fetch'")
    }
    transport = nativeTransport(url, events, options)
    // A native EventSource hides comments and unlisted event types, so a quiet stream
    // with comment heartbeats would look dead: idle detection is opt-in here.
    idleTimeout = 0
  } else {
    transport = fetchTransport(url, options)
  }
  return createConnection<T>({
    ...options,
    idleTimeout: options.idleTimeout ?? idleTimeout,
    transport,
    decode: createDecoder(options),
    accepts: (event) => events.includes(event),
  })
}
