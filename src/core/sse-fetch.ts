import { parseRetryAfter } from './backoff'
import { RealtimeError } from './errors'
import { createSseParser } from './sse-parser'
import type { Transport, TransportFactory } from './transport'

/** Request headers as a plain object: names are case-insensitive, values ASCII (a ByteString). */
export type HeadersInput = Record<string, string>

/** Options of the fetch transport. */
export interface FetchTransportOptions {
  /**
   * HTTP method. Part of the stream's identity.
   * @defaultValue 'GET'
   * @example { method: 'POST', body: JSON.stringify({ topics: ['acme'] }) }
   */
  method?: string
  /**
   * Request headers, or a function (possibly async) called on every connect, so a fresh
   * token goes out on every reconnect. An object's entries are part of the stream's
   * identity; a function is not (inline functions never reconnect). `accept` is always
   * `text/event-stream`, and `Last-Event-ID` is set on resume.
   * @defaultValue none
   * @example { headers: async () => ({ authorization: `Bearer ${await getToken()}` }) }
   */
  headers?: HeadersInput | (() => HeadersInput | Promise<HeadersInput>)
  /**
   * Request body, e.g. for a POST that opens a stream; needs a method other than GET or
   * HEAD. Part of the stream's identity.
   * @defaultValue none
   * @example { method: 'POST', body: '{"since":"2024-01-01"}' }
   */
  body?: string
  /**
   * Whether cookies go with the request (`fetch`'s `credentials`).
   * @defaultValue 'same-origin'
   * @example { credentials: 'include' } // cookies on a cross-origin stream
   */
  credentials?: RequestCredentials
  /**
   * The most characters of one event tabwire keeps (its data, and the line being read), so
   * a hostile or broken server cannot grow memory without bound. A bigger event is skipped,
   * not the stream: its data is dropped as it arrives, its `id:` still counts (a resuming
   * server will not send it again), a `protocol` error with its `id` is reported (snapshot
   * `error`, `onError`) and the events after it arrive as usual. A longer line is dropped too.
   * @defaultValue 1048576 (1 MiB)
   * @example { maxMessageSize: 64 * 1024 }
   */
  maxMessageSize?: number
  /**
   * Injectable `fetch` (tests, instrumented or polyfilled fetches).
   * @defaultValue globalThis.fetch
   * @example { fetch: (input, init) => myFetch(input, init) }
   */
  fetch?: typeof fetch
}

/**
 * A header value carrying `text` as its UTF-8 bytes: `Headers` takes a ByteString (one
 * character per byte, U+0000–U+00FF) and would throw on anything above U+00FF, or send
 * U+0080–U+00FF as single Latin-1 bytes. The server reads the bytes back as UTF-8, as it
 * does for the `id:` field it sent.
 */
function utf8ByteString(text: string): string {
  let out = ''
  for (const byte of new TextEncoder().encode(text)) out += String.fromCharCode(byte)
  return out
}

/**
 * SSE over `fetch` and a streaming body: any method, headers and body, and no DOM needed
 * (browsers, workers, Node ≥ 22). Parsing follows the WHATWG HTML spec (see sse-parser.ts).
 * 204 closes the stream with kind `ended` (the spec's "stop"); 401/403 are `auth`; other
 * 4xx are final; 5xx, 429 and 408 are retried, after `Retry-After` if given.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html
 * @example
 * const source = createConnection({ transport: fetchTransport('https://example.com/s', { method: 'POST', body: '{}' }) })
 */
export function fetchTransport(url: string, options: FetchTransportOptions = {}): TransportFactory {
  return ({ sink, lastEventId }) => {
    const controller = new AbortController()
    let closed = false
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
    const transport: Transport = {
      close() {
        closed = true
        // Abort cancels the body too, but a fetch that ignores signals would leave it open.
        controller.abort()
        reader?.cancel().catch(() => {})
      },
    }
    const fail = (error: RealtimeError, retryable: boolean, retryAfter?: number) => {
      if (closed) return
      transport.close()
      sink.fail(error, retryable, retryAfter)
    }

    const run = async () => {
      const extra = typeof options.headers === 'function' ? await options.headers() : options.headers
      const headers = new Headers(extra)
      headers.set('accept', 'text/event-stream')
      // Spec: send Last-Event-ID only when the last event id is not the empty string.
      if (lastEventId) headers.set('last-event-id', utf8ByteString(lastEventId))
      if (closed) return
      // Aborting (on close) also cancels the body, so nothing needs releasing by hand.
      const response = await (options.fetch ?? fetch)(url, {
        method: options.method,
        headers,
        body: options.body,
        credentials: options.credentials,
        cache: 'no-store',
        signal: controller.signal,
      })
      if (closed) return
      const status = response.status
      const type = response.headers.get('content-type')
      // 204 is the server saying "stop" (spec): closed on purpose, not a failure.
      if (status === 204) return fail(new RealtimeError('ended', 'the server ended the stream (HTTP 204)', { status }), false)
      // Other 4xx are final, 401/403 too (as `auth`); 5xx, 429 and 408 are retried.
      const kind =
        status === 401 || status === 403
          ? 'auth'
          : status !== 200
            ? 'http'
            : /^text\/event-stream\s*(;|$)/i.test(type ?? '') && response.body
              ? null
              : 'protocol'
      if (kind) {
        const message = kind === 'protocol' ? `not an event stream: '${type}'` : `HTTP ${status}`
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'), Date.now())
        return fail(new RealtimeError(kind, message, { status }), status > 499 || status === 429 || status === 408, retryAfter)
      }
      sink.open()
      const maxSize = options.maxMessageSize ?? 1_048_576
      const parser = createSseParser(
        {
          event: (event, data, id) => sink.message({ data, event, id: id || undefined }),
          id: (id) => sink.lastEventId(id),
          retry: (ms) => sink.retryHint(ms),
          // The skipped event's id already moved the last event id past it (see the parser).
          oversized: (id) =>
            sink.report(new RealtimeError('protocol', `an event passed maxMessageSize (${maxSize}) and was skipped`, { id: id || undefined })),
        },
        maxSize,
        lastEventId,
      )
      // A fresh decoder per stream: it strips the one leading BOM and joins UTF-8
      // sequences split across chunks.
      const decoder = new TextDecoder()
      reader = response.body!.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (closed) return
        if (done) return fail(new RealtimeError('network', 'the stream ended'), true)
        // Any bytes, comments included, prove the connection alive.
        sink.activity()
        parser.feed(decoder.decode(value, { stream: true }))
      }
    }

    run().catch((thrown: unknown) => {
      // The thrown text may quote the URL (and a token in it): it stays in `cause` only.
      fail(new RealtimeError('network', 'the request failed', { cause: thrown }), true)
    })
    return transport
  }
}
