import { misuse } from './errors'

declare const process: { env: Record<string, string | undefined> }
import type { EventSourceOptions } from './event-source'
import type { WebSocketOptions } from './web-socket'

/**
 * A stable key for whatever affects the wire: the same inputs in any order give the same
 * key, so inline option objects never look like a new stream. Functions are left out
 * (inline callbacks must never reconnect), and so is `undefined`.
 */
export function streamKey(kind: string, parts: object): string {
  return kind + JSON.stringify(parts, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value,
  )
}

/**
 * A short, stable digest of a stream key for lock and channel names, which other code on
 * the origin can list (`navigator.locks.query()`): a URL with a token in it, or headers,
 * must not show there. FNV-1a (32 bits) and the key's length: for a hundred streams on
 * one origin, the chance that two share a name is about one in a million.
 */
export function hashKey(key: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(36) + key.length.toString(36)
}

/**
 * The identity of an SSE stream: what reaches the wire, and nothing else. Listed, not
 * filtered: url, the request (method, headers, body, credentials) or the native
 * EventSource's (withCredentials, lastEventIdParam), the event types and `key`. Decoding,
 * callbacks, retry policy and injectables (`json`, `parse`, `schema`, `timers`…) are not
 * identity: two uses that differ only there share one connection. A headers function
 * counts as "some function" (it is called on every connect, so it may change anyway).
 * Checks the inputs first ({@link checkEventSource}), so a hook throws misuse in render.
 *
 * @example
 * eventSourceKey('/quotes', { events: ['quote'], json: true }) === eventSourceKey('/quotes', { events: ['quote'] })
 */
export function eventSourceKey(url: string, options: EventSourceOptions<any> = {}): string {
  checkEventSource(url, options, 'useEventSource')
  const { headers } = options
  return streamKey('sse', {
    url,
    events: [...new Set(options.events ?? ['message'])].sort(),
    key: options.key,
    ...(options.transport === 'eventsource'
      ? { transport: 'eventsource', withCredentials: options.withCredentials ?? false, lastEventIdParam: options.lastEventIdParam ?? 'lastEventId' }
      : {
          transport: 'fetch',
          method: fetchMethod(options.method),
          // Headers' own order: lower-case names, sorted, values trimmed, as they go out.
          headers: typeof headers === 'function' ? 'fn' : headers ? [...new Headers(headers)] : undefined,
          body: options.body,
          credentials: options.credentials ?? 'same-origin',
        }),
  })
}

/**
 * The identity of a WebSocket stream: url (`'fn'` for a function, which then needs a
 * `key`), protocols, binaryType and `key`; nothing else (see {@link eventSourceKey}).
 * Checks the inputs first ({@link checkWebSocket}).
 *
 * @example
 * webSocketKey(() => signedUrl(), { key: 'chat' }) // a url function is named by its key
 */
export function webSocketKey(url: string | (() => unknown), options: WebSocketOptions<any, any> = {}): string {
  checkWebSocket(url, options, 'useWebSocket')
  const { protocols } = options
  return streamKey('ws', {
    url: typeof url === 'function' ? 'fn' : url,
    // Order matters: it is the client's order of preference in the handshake.
    protocols: typeof protocols === 'string' ? [protocols] : protocols?.length ? protocols : undefined,
    binaryType: options.binaryType ?? 'blob',
    key: options.key,
  })
}

/**
 * Throws misuse for SSE inputs that could never work: a url that is not a string or does
 * not parse, `events` that are not names, a request fetch would refuse (a method, headers,
 * credentials or body it does not take), or the native transport with what it cannot do
 * (method, headers, body). It reads only its inputs, never the page, so it is safe in a
 * server render; whether the runtime has an `EventSource`, or a base for a relative url,
 * `createEventSource` checks. Production builds name the option only: bundlers fold `process.env.NODE_ENV`, and the
 * messages go (it is read only on misuse, so a page with no `process` is safe until then).
 *
 * @example
 * checkEventSource('http://exa mple.com') // throws: a url that does not parse
 */
export function checkEventSource(url: unknown, options: EventSourceOptions<any> = {}, api = 'createEventSource'): void {
  const { events = ['message'], transport, headers, body, lastEventId, maxMessageSize } = options
  const method = fetchMethod(options.method)
  const fail = (what: string, detail: string | false): never => {
    throw misuse(api, what, detail)
  }
  if (!url || typeof url !== 'string') fail('url', process.env.NODE_ENV !== 'production' && `expected a url string, got ${describe(url)}`)
  const scheme = checkUrl(url as string, api)
  if (scheme && scheme !== 'http:' && scheme !== 'https:') fail('url', process.env.NODE_ENV !== 'production' && `an event stream url is http: or https:, not ${scheme}`)
  if (!Array.isArray(events) || !events.every((e) => e && typeof e === 'string')) fail('events', process.env.NODE_ENV !== 'production' && "`events` must be an array of names, e.g. ['quote']")
  if (transport !== undefined && transport !== 'fetch' && transport !== 'eventsource') fail('transport', process.env.NODE_ENV !== 'production' && `\`transport\` is 'fetch' or 'eventsource', not ${describe(transport)}`)
  if (transport === 'eventsource' && (method !== 'GET' || headers || body != null)) fail('transport', process.env.NODE_ENV !== 'production' && "transport 'eventsource' takes no method, headers or body; use 'fetch'")
  // What fetch would refuse on every attempt, as fetch itself tells: a method that is no
  // HTTP token or a forbidden one, headers that are not ByteStrings, an unknown
  // credentials, a body with GET or HEAD.
  try {
    new Request('http://base.invalid/', { method, headers: typeof headers === 'object' ? headers : undefined, credentials: options.credentials, body })
  } catch (thrown) {
    fail('request', process.env.NODE_ENV !== 'production' && `fetch refuses this request: ${(thrown as Error).message}`)
  }
  if (lastEventId !== undefined && (typeof lastEventId !== 'string' || /[\0\r\n]/.test(lastEventId))) fail('lastEventId', process.env.NODE_ENV !== 'production' && '`lastEventId` is a string without NULL, CR or LF')
  if (maxMessageSize !== undefined && !(typeof maxMessageSize === 'number' && maxMessageSize > 0)) fail('maxMessageSize', process.env.NODE_ENV !== 'production' && `\`maxMessageSize\` is a positive number, not ${describe(maxMessageSize)}`)
}

/**
 * Throws misuse for WebSocket inputs that could never work: a url that is neither a string
 * nor a function, a string that does not parse or whose scheme is not ws, wss, http or https,
 * or a url function without a `key` (a function cannot be told apart by identity). Like
 * {@link checkEventSource}, it reads only its inputs.
 *
 * @example
 * checkWebSocket('ftp://example.com/chat') // throws: not a WebSocket scheme
 */
export function checkWebSocket(url: unknown, options: WebSocketOptions<any, any> = {}, api = 'createWebSocket'): void {
  if (typeof url === 'function') {
    if (!options.key) throw misuse(api, 'key', process.env.NODE_ENV !== 'production' && 'a url function needs a `key` option naming the stream (a function cannot be told apart by identity)')
    return
  }
  if (!url || typeof url !== 'string') throw misuse(api, 'url', process.env.NODE_ENV !== 'production' && 'expected a url or a function that returns one')
  const scheme = checkUrl(url, api)
  if (scheme && !/^(wss?|https?):$/.test(scheme)) throw misuse(api, 'url', process.env.NODE_ENV !== 'production' && `a WebSocket url is ws:, wss:, http: or https:, not ${scheme} (${url})`)
}

/** Throws if `url` does not parse; returns its scheme, or undefined for a relative url. */
function checkUrl(url: string, api: string): string | undefined {
  // Relative urls are checked against a stand-in base: the page's, which resolves them
  // for real, may not exist here (a server render).
  // Chromium takes 'ws://exa mple.com' and %-encodes the space into the host; Node refuses
  // it. A host with '%' in it names no server, so both refuse it here.
  const absolute = toUrl(url)
  const resolved = absolute ?? toUrl(url, 'http://base.invalid/')
  if (!resolved || resolved.hostname.includes('%')) {
    throw misuse(api, 'url', process.env.NODE_ENV !== 'production' && `the url does not parse: ${JSON.stringify(url)} (%-encode spaces and the like)`)
  }
  return absolute?.protocol
}

/** `url` parsed (against `base`), or undefined where it does not parse (`URL.parse`, which browsers before 2023 lack). */
export function toUrl(url: string, base?: string): URL | undefined {
  try {
    return new URL(url, base)
  } catch {}
}

/** `fetch`'s method as it goes out: the standard methods are upper-cased, others are not. */
function fetchMethod(method: string | undefined): string {
  const upper = String(method ?? 'GET').toUpperCase()
  return /^(DELETE|GET|HEAD|OPTIONS|POST|PUT)$/.test(upper) ? upper : method!
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? 'an array' : String(value)
}
