import { parseRetryAfter } from '../backoff'
import { RealtimeError } from '../errors'
import type { HeadersInput } from '../sse-fetch'
import { createSseParser } from '../sse-parser'
import { REALTIME_PROTOCOL, readServerFrame } from './protocol'
import { frameText } from './transport-socket'
import type { FrameLink, RealtimeClientFrame } from './transport-types'

/** What one SSE stream (and its POSTs) needs from the transport that opens it. */
export interface SseSettings {
  fetch: typeof fetch
  headers: HeadersInput | (() => HeadersInput | Promise<HeadersInput>) | undefined
  credentials: RequestCredentials
  maxMessageSize: number
}

/** What an SSE link tells the transport that opened it. Never called after `close()`. */
export interface SseEvents {
  /** The stream's `hello` arrived with the right protocol: frames can go out through `link`. */
  open(link: FrameLink): void
  /** One frame's text (an event's `data`), after `hello`. */
  data(text: string): void
  /** Bytes arrived (a comment, a heartbeat, part of an event). */
  activity(): void
  /** The server's reconnection time (`retry:`). */
  retryHint(ms: number): void
  /** A problem that does not end the link. */
  report(error: RealtimeError): void
  /** The stream or a POST failed; everything is already aborted. */
  fail(error: RealtimeError, retryable: boolean, retryAfter?: number): void
}

/** Statuses whose answer is retried: a server error, a timeout, too many requests. */
const retried = (status: number) => status > 499 || status === 429 || status === 408

/**
 * Opens the SSE half of the realtime protocol: a `text/event-stream` GET whose first frame
 * must be `hello`, then POSTs of `{ session, frames }` to the same url, one at a time and in
 * order (frames sent meanwhile go together in the next one). A POST that fails (network,
 * 404: the server forgot the session, 408/429/5xx) fails the link, so the engine reconnects
 * and the host resubscribes; any other refused POST is reported and the link goes on.
 */
export function openSseLink(url: string, settings: SseSettings, events: SseEvents): { close(): void } {
  const controller = new AbortController()
  let done = false
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  let headers: HeadersInput | undefined
  let session = ''
  let queue: string[] = []
  let posting = false

  const close = () => {
    done = true
    // Abort cancels the body too, but a fetch that ignores signals would leave it open.
    controller.abort()
    reader?.cancel().catch(() => {})
  }
  const fail = (error: RealtimeError, retryable: boolean, retryAfter?: number) => {
    if (done) return
    close()
    events.fail(error, retryable, retryAfter)
  }
  /** Headers with the extras first, so `accept` / `content-type` cannot be overridden. */
  const request = (name: string, value: string) => {
    const h = new Headers(headers)
    h.set(name, value)
    return h
  }
  /** The failure an answer means, or undefined for a good one. */
  const refusal = (response: Response) => {
    const status = response.status
    if (status >= 200 && status < 300) return undefined
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), Date.now())
    const kind = status === 401 || status === 403 ? 'auth' : 'http'
    return { error: new RealtimeError(kind, `HTTP ${status}`, { status }), retryable: retried(status), retryAfter }
  }

  const post = async () => {
    posting = true
    while (queue.length > 0 && !done) {
      const body = `{"session":${JSON.stringify(session)},"frames":[${queue.join(',')}]}`
      queue = []
      const response = await settings.fetch(url, {
        method: 'POST',
        headers: request('content-type', 'application/json'),
        body,
        credentials: settings.credentials,
        cache: 'no-store',
        signal: controller.signal,
      })
      if (done) return
      response.body?.cancel().catch(() => {})
      const refused = refusal(response)
      if (!refused) continue
      const status = response.status
      if (refused.retryable || status === 404) return fail(refused.error, true, refused.retryAfter)
      events.report(new RealtimeError('protocol', `the server refused frames (HTTP ${status})`, { status }))
    }
    posting = false
  }
  const link: FrameLink = {
    send(frames: RealtimeClientFrame[]) {
      if (done) return
      for (const frame of frames) {
        const text = frameText(frame, events.report)
        if (text !== undefined) queue.push(text)
      }
      if (!posting && queue.length > 0) post().catch((cause: unknown) => fail(new RealtimeError('network', 'a POST failed', { cause }), true))
    },
  }

  const frame = (text: string) => {
    if (session) return events.data(text)
    const hello = readServerFrame(text)
    if (hello?.type !== 'hello' || hello.protocol !== REALTIME_PROTOCOL) {
      const what = hello?.type === 'hello' ? `protocol ${hello.protocol}, not ${REALTIME_PROTOCOL}` : 'no hello first'
      return fail(new RealtimeError('protocol', `not a realtime stream (${what})`), false)
    }
    session = hello.session
    events.open(link)
  }

  const run = async () => {
    headers = typeof settings.headers === 'function' ? await settings.headers() : settings.headers
    if (done) return
    const response = await settings.fetch(url, {
      headers: request('accept', 'text/event-stream'),
      credentials: settings.credentials,
      cache: 'no-store',
      signal: controller.signal,
    })
    if (done) return
    const type = response.headers.get('content-type')
    const refused = refusal(response)
    if (refused) return fail(refused.error, refused.retryable, refused.retryAfter)
    if (!/^text\/event-stream\s*(;|$)/i.test(type ?? '') || !response.body) {
      return fail(new RealtimeError('protocol', `not an event stream: '${type}'`, { status: response.status }), false)
    }
    const parser = createSseParser(
      {
        // Frames carry their own cursors: the SSE id and event name mean nothing here.
        event: (_type, data) => void (done || frame(data)),
        id: () => {},
        retry: (ms) => void (done || events.retryHint(ms)),
        oversized: () =>
          void (done || events.report(new RealtimeError('protocol', `a frame passed maxMessageSize (${settings.maxMessageSize}) and was skipped`))),
      },
      settings.maxMessageSize,
    )
    const decoder = new TextDecoder()
    reader = response.body.getReader()
    for (;;) {
      const { done: ended, value } = await reader.read()
      if (done) return
      if (ended) return fail(new RealtimeError('network', 'the stream ended'), true)
      events.activity()
      parser.feed(decoder.decode(value, { stream: true }))
    }
  }
  // The thrown text may quote the url (and a token in it): it stays in `cause` only.
  run().catch((cause: unknown) => fail(new RealtimeError('network', 'the request failed', { cause }), true))
  return { close }
}
