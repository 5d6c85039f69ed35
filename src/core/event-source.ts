import { type Connection, createConnection, type EngineOptions } from './connection'
import { createDecoder, type DecodeOptions } from './decode'
import { misuse } from './errors'
import { checkEventSource, toUrl } from './key'
import { type FetchTransportOptions, fetchTransport } from './sse-fetch'
import { type NativeTransportOptions, nativeTransport } from './sse-native'

declare const process: { env: Record<string, string | undefined> }

export { checkEventSource, eventSourceKey } from './key'

/** Every option of an SSE stream. */
export interface EventSourceOptions<T = string>
  extends EngineOptions,
    FetchTransportOptions,
    NativeTransportOptions,
    DecodeOptions<T> {
  /**
   * `'fetch'` streams over `fetch` (any method, headers, body; also in workers and Node).
   * `'eventsource'` uses the browser's EventSource (GET, no headers). Part of the stream's
   * identity.
   * @defaultValue 'fetch'
   * @example { transport: 'eventsource' } // a plain GET stream, where EventSource exists
   */
  transport?: 'fetch' | 'eventsource'
  /**
   * The event types that are messages; other events still count as liveness. Part of the
   * stream's identity (in any order).
   * @defaultValue ['message']
   * @example { events: ['quote', 'trade'] }
   */
  events?: readonly string[]
  /**
   * An id to resume from on the very first connection (e.g. one saved in storage). Not
   * identity: saving the last id in state must not reconnect. No NULL, CR or LF.
   * @defaultValue none: the first connection sends no `Last-Event-ID`
   * @example { lastEventId: localStorage.getItem('quotes:last') ?? undefined }
   */
  lastEventId?: string
  /**
   * Extra identity: two uses of one URL with different `key`s get separate connections,
   * e.g. when they need different `parse` functions (decoding is not identity, so by
   * default they would share one).
   * @defaultValue none
   * @example { key: 'quotes-raw' }
   */
  key?: string
}

/**
 * A framework-free SSE connection. Call `connect()` to start. Misuse throws here, at once
 * (see `checkEventSource`), and so do a relative url where there is no page to resolve it
 * against (Node) and `transport: 'eventsource'` where there is no EventSource.
 *
 * @example
 * const quotes = createEventSource<Quote>('/api/quotes', { json: true, events: ['quote'] })
 * quotes.onMessage((m) => console.log(m.data.price))
 * quotes.connect()
 */
export function createEventSource<T = string>(url: string, options: EventSourceOptions<T> = {}): Connection<T> {
  checkEventSource(url, options)
  // What only the runtime can tell, so not in checkEventSource (which a server render runs).
  if (!toUrl(url, (globalThis as { location?: Location }).location?.href)) {
    throw misuse('createEventSource', 'url', process.env.NODE_ENV !== 'production' && `a relative url (${url}) needs a page to resolve against; give an absolute url here`)
  }
  const events = options.events ?? ['message']
  let transport
  let idleTimeout
  if (options.transport === 'eventsource') {
    if (!(options.EventSource ?? globalThis.EventSource)) {
      throw misuse('createEventSource', 'EventSource', process.env.NODE_ENV !== 'production' && "transport 'eventsource' needs EventSource, which this runtime lacks: pass `EventSource`, or use 'fetch'")
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
