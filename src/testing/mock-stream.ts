/**
 * An SSE response for an MSW `http.get` resolver: a streamed body carrying exactly the
 * bytes the server writes (so comments and an empty `id:` work, which MSW's `sse()` cannot
 * send), registered with the mock's core, and ended from the server side when the client
 * aborts or cancels, as a server sees its client go.
 */
import { HttpResponse } from 'msw'
import { SSE_HEADERS } from '../server/sse-protocol.ts'
import type { Connection, MockCore } from './mock-core.ts'

export interface StreamOptions {
  /** The resume id the request carried, for the registry. */
  lastEventId: string | null
  /** Called once the connection is registered: write the first frames, start following. */
  open(connection: Connection): void
  /** Called once when the stream ended, from either side. */
  ended(): void
}

/**
 * Chunked in Node, as the server frames a stream over HTTP/1.1. There MSW writes a body of
 * unknown length delimited by the connection's close; a client that aborts then sees the
 * mocked socket close, undici takes that for the end of the message and throws an uncaught
 * `assert(!this.aborted)`. A chunked body never ends by a close, so an abort (an unmount, a
 * linger timer, a reconnect) is just an abort. A browser (the MSW worker) frames the
 * response itself.
 */
const inNode = typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string'

/** The answer to a refused attempt: a network error, or the status (with `Retry-After`). */
export function refusal(core: MockCore): Response | undefined {
  const admission = core.admit()
  if (!admission.refused) return undefined
  if (admission.status === 0) return HttpResponse.error()
  const headers: Record<string, string> = 'retryAfter' in admission && admission.retryAfter !== undefined ? { 'retry-after': String(admission.retryAfter) } : {}
  return new HttpResponse(null, { status: admission.status, headers })
}

/** Opens a stream for `request`; resolves with the response to return from the resolver. */
export async function openStream(core: MockCore, request: Request, options: StreamOptions): Promise<Response> {
  const refused = refusal(core)
  if (refused) return refused
  await core.wait()
  const encoder = new TextEncoder()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let done = false
  let connection: Connection | undefined
  const finish = (how: (controller: ReadableStreamDefaultController<Uint8Array>) => void) => {
    if (done) return
    done = true
    connection?.end()
    try {
      how(controller)
    } catch {
      // Already closed or errored by the client's cancel.
    }
    options.ended()
  }
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => finish(() => {}),
  })
  connection = core.add({
    transport: 'sse',
    url: request.url,
    lastEventId: options.lastEventId,
    write: (text) => {
      if (!done) controller.enqueue(encoder.encode(text))
    },
    drop: () => finish((c) => c.error(new TypeError('network error (dropped by the mock)'))),
    close: () => finish((c) => c.close()),
  })
  // The client let go: end the response from this side (see the module comment).
  if (request.signal.aborted) finish((c) => c.close())
  else request.signal.addEventListener('abort', () => finish((c) => c.close()), { once: true })
  if (!done) options.open(connection)
  return new HttpResponse(body, { headers: inNode ? { ...SSE_HEADERS, 'transfer-encoding': 'chunked' } : SSE_HEADERS })
}
