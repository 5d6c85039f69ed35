import { createParser } from 'eventsource-parser'
import { parseRetryAfter } from './backoff'
import { errorText } from './connection'
import { RealtimeError } from './errors'
import type { Transport, TransportFactory } from './transport'

export type HeadersInput = Record<string, string>

/** Options of the fetch transport. */
export interface FetchTransportOptions {
  /**
   * HTTP method.
   * @defaultValue 'GET'
   */
  method?: string
  /**
   * Request headers, or a function (possibly async) called on every connect, so a fresh
   * token goes out on every reconnect.
   * @example { headers: async () => ({ authorization: `Bearer ${await getToken()}` }) }
   */
  headers?: HeadersInput | (() => HeadersInput | Promise<HeadersInput>)
  /** Request body (e.g. for a POST that opens a stream). */
  body?: string
  /**
   * Whether cookies go with the request.
   * @defaultValue 'same-origin'
   */
  credentials?: RequestCredentials
  /**
   * A single event (or line) longer than this many characters is a `protocol` error and
   * the stream is replaced, so a hostile or broken server cannot grow memory without bound.
   * @defaultValue 1048576 (1 MiB)
   */
  maxMessageSize?: number
  /** Injectable `fetch`. @defaultValue globalThis.fetch */
  fetch?: typeof fetch
  /** Injectable clock, for `Retry-After` dates. @defaultValue Date.now */
  now?: () => number
}

/**
 * SSE over `fetch` and a streaming body: any method, headers and body, and no DOM needed
 * (browsers, workers, Node ≥ 22). Parsing follows the WHATWG HTML spec through
 * eventsource-parser.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
export function fetchTransport(url: string, options: FetchTransportOptions = {}): TransportFactory {
  return ({ sink, lastEventId }) => {
    const controller = new AbortController()
    let closed = false
    const transport: Transport = {
      close() {
        closed = true
        controller.abort()
      },
    }
    const fail = (error: RealtimeError, retryable: boolean, retryAfter?: number) => {
      if (closed) return
      transport.close()
      sink.fail(error, retryable, retryAfter)
    }

    const run = async () => {
      const doFetch = options.fetch ?? globalThis.fetch
      const extra = typeof options.headers === 'function' ? await options.headers() : options.headers
      const headers = new Headers(extra)
      headers.set('accept', 'text/event-stream')
      // Spec: send Last-Event-ID only when the last event id is not the empty string.
      if (lastEventId) headers.set('last-event-id', lastEventId)
      if (closed) return
      const response = await doFetch(url, {
        method: options.method ?? 'GET',
        headers,
        body: options.body ?? null,
        credentials: options.credentials ?? 'same-origin',
        cache: 'no-store',
        signal: controller.signal,
      })
      if (closed) return void response.body?.cancel().catch(() => {})
      const status = response.status
      if (status === 204) return fail(new RealtimeError('http', 'the server ended the stream (204 No Content)', { status }), false)
      if (status === 401 || status === 403) {
        return fail(new RealtimeError('auth', `the server refused the credentials (${status})`, { status }), false)
      }
      if (status !== 200) {
        const retryable = status >= 500 || status === 429 || status === 408
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'), (options.now ?? Date.now)())
        return fail(new RealtimeError('http', `the server answered ${status}`, { status }), retryable, retryAfter)
      }
      const type = response.headers.get('content-type') ?? ''
      if (type.split(';')[0]!.trim().toLowerCase() !== 'text/event-stream') {
        return fail(new RealtimeError('protocol', `expected text/event-stream, got '${type || 'no content type'}'`, { status }), false)
      }
      if (!response.body) return fail(new RealtimeError('protocol', 'the response has no body to stream'), false)
      sink.open()
      await read(response.body)
      fail(new RealtimeError('network', 'the server ended the stream'), true)
    }

    const read = async (body: ReadableStream<Uint8Array>) => {
      const maxSize = options.maxMessageSize ?? 1_048_576
      const parser = createParser({
        maxBufferSize: maxSize,
        onEvent: (event) => sink.message({ data: event.data, event: event.event ?? 'message', id: event.id }),
        onId: (id) => sink.lastEventId(id),
        onRetry: (ms) => sink.retryHint(ms),
        onComment: () => sink.activity(),
        onError: (e) => {
          if (e.type === 'max-buffer-size-exceeded') {
            fail(new RealtimeError('protocol', `an event exceeded maxMessageSize (${maxSize} characters)`), true)
          }
        },
      })
      // ignoreBOM: the parser strips exactly one leading BOM as the spec says; a decoder
      // that stripped one too would eat a second, meaningful U+FEFF.
      const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
      const reader = body.getReader()
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done || closed) break
          sink.activity()
          parser.feed(decoder.decode(value, { stream: true }))
          if (closed) break
        }
      } finally {
        if (closed) reader.cancel().catch(() => {})
      }
    }

    run().catch((thrown: unknown) => {
      fail(new RealtimeError('network', `the request failed: ${errorText(thrown)}`, { cause: thrown }), true)
    })
    return transport
  }
}
