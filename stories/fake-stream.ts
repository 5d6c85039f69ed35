/**
 * An in-page SSE "server" for stories: a `fetch` that streams numbered `quote` events and
 * resumes after `Last-Event-ID`, plus controls to break it. No network, no service worker:
 * tabwire takes `fetch` as an injectable.
 */
export function createFakeStream(rate = 5) {
  const encoder = new TextEncoder()
  const open = new Set<ReadableStreamDefaultController<Uint8Array>>()
  let failNext = 0

  const fetch = (async (_url: RequestInfo | URL, init?: RequestInit) => {
    if (failNext > 0) {
      failNext--
      return new Response('unavailable', { status: 503 })
    }
    let seq = Number(new Headers(init?.headers).get('last-event-id') ?? '0') || 0
    let timer: ReturnType<typeof setInterval> | undefined
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        open.add(controller)
        timer = setInterval(() => {
          seq++
          const quote = { symbol: 'ACME', price: Math.round(10_000 + Math.sin(seq / 5) * 500) / 100 }
          controller.enqueue(encoder.encode(`id: ${seq}\nevent: quote\ndata: ${JSON.stringify(quote)}\n\n`))
        }, 1000 / rate)
        init?.signal?.addEventListener('abort', () => {
          clearInterval(timer)
          open.delete(controller)
        })
      },
      cancel() {
        clearInterval(timer)
      },
    })
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
  }) as typeof globalThis.fetch

  return {
    fetch,
    /** Breaks every open stream, as a dropped connection would. */
    drop() {
      for (const controller of open) controller.error(new TypeError('connection reset'))
      open.clear()
    },
    /** The next `n` connection attempts get a 503. */
    failNext(n: number) {
      failNext = n
    },
  }
}
