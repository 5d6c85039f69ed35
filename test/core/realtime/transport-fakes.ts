// Test doubles for the realtime transport: a fetch the test answers by hand (streams it
// writes SSE text into, POSTs it settles one by one), a memory storage, and a recording host.
// Everything the transport does lands in one ordered log, with the engine's statuses, so a
// test asserts whole sequences.
import { createConnection, type EngineOptions } from '../../../src/core/connection'
import type { RealtimeServerFrame } from '../../../src/core/realtime/protocol'
import { realtimeTransport } from '../../../src/core/realtime/transport'
import type { FrameLink, RealtimeTransportHost, RealtimeTransportOptions } from '../../../src/core/realtime/transport-types'
import type { WireMessage } from '../../../src/core/transport'
import { fakeWebSockets } from '../fake-web-socket'
import { fakeEnvironment, manualFrames, manualTimers } from '../fakes'

/** An SSE body the test writes to; `cancelled` once the reader let go of it. */
export interface FakeStream {
  readonly response: Response
  write(text: string): void
  /** Writes one server frame as an event's data. */
  frame(frame: RealtimeServerFrame | Record<string, unknown>): void
  hello(session?: string, protocol?: number): void
  end(): void
  readonly cancelled: boolean
}

export function fakeStream(init: ResponseInit = {}): FakeStream {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let cancelled = false
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => void (cancelled = true),
  })
  const encoder = new TextEncoder()
  const write = (text: string) => controller.enqueue(encoder.encode(text))
  return {
    response: new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' }, ...init }),
    write,
    frame: (frame) => write(`data: ${JSON.stringify(frame)}\n\n`),
    hello: (session = 's1', protocol = 1) => write(`data: ${JSON.stringify({ type: 'hello', session, protocol })}\n\n`),
    end: () => controller.close(),
    get cancelled() {
      return cancelled
    },
  }
}

/** One fetch call, waiting for the test's answer. */
export interface FakeRequest {
  readonly url: string
  readonly method: string
  readonly headers: Headers
  readonly body: string | undefined
  readonly credentials: RequestCredentials | undefined
  readonly signal: AbortSignal
  /** The manual clock when the request was made. */
  readonly at: number
  respond(response: Response): void
  /** Answers with a fresh event stream and returns it. */
  stream(): FakeStream
  reject(error: unknown): void
}

/** A fetch whose calls wait until the test answers; an abort rejects like a real one. */
export function fakeFetch(clock: () => number) {
  const requests: FakeRequest[] = []
  const fetch = (input: string | URL | Request, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init.signal!
      signal.addEventListener('abort', () => reject(new DOMException('The operation was aborted.', 'AbortError')))
      requests.push({
        url: String(input),
        method: init.method ?? 'GET',
        headers: new Headers(init.headers),
        body: init.body as string | undefined,
        credentials: init.credentials,
        signal,
        at: clock(),
        respond: resolve,
        stream() {
          const s = fakeStream()
          resolve(s.response)
          return s
        },
        reject,
      })
    })
  return {
    fetch: fetch as typeof globalThis.fetch,
    requests,
    get streams() {
      return requests.filter((r) => r.method === 'GET')
    },
    get posts() {
      return requests.filter((r) => r.method === 'POST')
    },
    /** The frames of every POST so far, one array per POST. */
    postedFrames: () => requests.filter((r) => r.method === 'POST').map((r) => (JSON.parse(r.body!) as { frames: unknown[] }).frames),
  }
}

/** A session storage in memory. */
export function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial))
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  }
}

/** A settled event loop turn: promise chains and stream reads run (no time passes). */
export const settle = async (turns = 3) => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve))
}

/**
 * The real engine over the realtime transport, with manual timers, a fake WebSocket class, a
 * fake fetch, a memory storage and a recording host. `random` is 0.5 for both, so the
 * engine's first retry waits 500 ms (initialDelay 1000) and the first probe 2500 ms.
 */
export function setupRealtime(
  options: RealtimeTransportOptions = {},
  url: string | (() => string | Promise<string>) = 'https://rt.test/live?token=secret',
  engine: Partial<EngineOptions> = {},
) {
  const timers = manualTimers()
  const ws = fakeWebSockets()
  const net = fakeFetch(() => timers.now)
  const storage = memoryStorage()
  const log: string[] = []
  const links: FrameLink[] = []
  const host: RealtimeTransportHost = {
    opened(link, kind) {
      log.push(`opened:${kind}`)
      links.push(link)
    },
    closed: () => void log.push('closed'),
    receive(frame) {
      log.push(`receive:${frame.type}`)
      return frame.type === 'event' ? ({ data: frame.data, event: frame.channel, id: frame.id } satisfies WireMessage) : undefined
    },
  }
  const transport = realtimeTransport(url, { WebSocket: ws.WebSocket, fetch: net.fetch, storage, timers, random: () => 0.5, ...options }, host)
  const connection = createConnection<unknown>({
    transport,
    timers,
    now: () => timers.now,
    environment: fakeEnvironment(),
    scheduleFrame: manualFrames().schedule,
    random: () => 0.5,
    idleTimeout: 0,
    ...engine,
  })
  let status = connection.getSnapshot().status
  connection.subscribe(() => {
    const next = connection.getSnapshot().status
    if (next !== status) log.push(`status:${(status = next)}`)
  })
  const errors: { kind: string; message: string; status: number | undefined; cause: unknown }[] = []
  connection.onError((e) => {
    log.push(`error:${e.kind}`)
    errors.push({ kind: e.kind, message: e.message, status: e.status, cause: (e as { cause?: unknown }).cause })
  })
  const messages: WireMessage[] = []
  connection.onWire((m) => {
    log.push(`message:${m.id}`)
    messages.push(m)
  })
  /** Moves the manual clock on, letting promise chains run after. */
  const advance = async (ms: number) => {
    timers.advance(ms)
    await settle()
  }
  return { connection, transport, timers, ws, net, storage, log, links, errors, messages, advance, snap: () => connection.getSnapshot() }
}
