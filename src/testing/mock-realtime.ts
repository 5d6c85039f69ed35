/**
 * `mockRealtimeHandler`: MSW handlers that speak what `createRealtimeHandler` speaks, over
 * both of its transports: a WebSocket (`ws.link`), and SSE with POST (`http.get` streaming
 * the session, `http.post` taking its frames) at the same url.
 */
import { http, HttpResponse, type HttpHandler, type WebSocketHandler } from 'msw'
import { REALTIME_PROTOCOL } from '../core/realtime/protocol.ts'
import { readRealtimePost, utf8Length } from '../server/channel-protocol.ts'
import { formatEvent } from '../server/format.ts'
import { createChannelMock, type MockChannelControls, type MockChannelInput } from './mock-channels.ts'
import { controlsOf, createMockCore, type MockOptions } from './mock-core.ts'
import type { MockSession } from './mock-session.ts'
import { openStream } from './mock-stream.ts'

/** Options of {@link mockRealtimeHandler}. */
export interface MockRealtimeOptions extends MockOptions {
  /**
   * The channels, as `createRealtimeHandler` takes them: logs (read-only) or
   * `{ log, writable?, snapshot? }`, by name, or a function that finds one by name.
   * @defaultValue a memory log made for each name on first use, every one writable
   * @example mockRealtimeHandler(url, { channels: { quotes: createMemoryLog(), room: { log: createMemoryLog(), writable: true } } })
   */
  channels?: Record<string, MockChannelInput> | ((name: string) => MockChannelInput | undefined)
  /**
   * Entries kept by the logs the mock makes (on demand, and on `reset()`).
   * @defaultValue 1000
   * @example mockRealtimeHandler(url, { capacity: 10 })
   */
  capacity?: number
  /**
   * Largest publish `data` in bytes (as JSON), as the server's option.
   * @defaultValue 65536
   * @example mockRealtimeHandler(url, { maxPayload: 1024 })
   */
  maxPayload?: number
  /**
   * Subscriptions one connection may hold, as the server's option.
   * @defaultValue 1000
   * @example mockRealtimeHandler(url, { maxSubscriptions: 5 })
   */
  maxSubscriptions?: number
}

/** The mock of a `createRealtimeHandler` endpoint: its MSW handlers and its controls. */
export interface MockRealtime extends MockChannelControls {
  /**
   * Give these to MSW: the WebSocket link, the SSE `GET` and the `POST`.
   * @example server.use(...realtime.handlers)
   */
  readonly handlers: (HttpHandler | WebSocketHandler)[]
}

const json = (status: number, error: string) => HttpResponse.json({ error }, { status })

/** A session id: random, unguessable enough for a test (no `randomUUID` outside secure contexts). */
const sessionId = () => globalThis.crypto?.randomUUID?.() ?? `${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`

/**
 * Serves the realtime protocol (src/core/realtime/protocol.ts) at `url` for `useRealtime`
 * and `createRealtime`, on both transports: subscribe with `since` (exactly the missed
 * events, or `reset`, then the `snapshot` when not resumed), unsubscribe, publish with `ack`
 * and de-duplication by `pid`, `ping`/`pong`, and the same typed `error` frames as the
 * server. `url` may be given as http(s) or ws(s): both schemes are served.
 *
 * @example
 * const realtime = mockRealtimeHandler('http://localhost/rt', { channels: { prices: createMemoryLog() } })
 * const server = setupServer(...realtime.handlers)
 * const client = createRealtime({ url: 'http://localhost/rt' })
 * // render <RealtimeProvider client={client}> with a component calling useRealtime('prices'), then:
 * await realtime.nextSubscribe('prices')
 * realtime.publish('prices', { ACME: 42 })
 */
export function mockRealtimeHandler(url: string, options: MockRealtimeOptions = {}): MockRealtime {
  const core = createMockCore(options)
  const maxPayload = options.maxPayload ?? 65_536
  const mock = createChannelMock({
    dialect: 'realtime',
    core,
    channels: options.channels,
    capacity: options.capacity ?? 1000,
    maxSubscriptions: options.maxSubscriptions ?? 1000,
    maxPayload,
    // As the server: a publish over maxPayload is refused with `too-large`; only a frame far
    // beyond it closes the socket.
    maxFrame: Math.max(16 * maxPayload, 1_048_576),
  })
  const sessions = new Map<string, MockSession>()
  const httpUrl = url.replace(/^ws(s?):/, 'http$1:')

  const stream = http.get(httpUrl, ({ request }) => {
    if (!/\btext\/event-stream\b/i.test(request.headers.get('accept') ?? '')) return json(406, 'not-acceptable')
    const id = sessionId()
    return openStream(core, request, {
      lastEventId: null,
      open(connection) {
        // JSON text may hold line breaks as whitespace: formatEvent splits them into data lines, as the server does.
        const session = mock.createSession(connection, (text) => formatEvent({ data: text }))
        sessions.set(id, session)
        connection.send(formatEvent({ data: JSON.stringify({ type: 'hello', session: id, protocol: REALTIME_PROTOCOL }) }))
      },
      ended() {
        sessions.get(id)?.end()
        sessions.delete(id)
      },
    })
  })

  const post = http.post(httpUrl, async ({ request }) => {
    const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/json') return json(415, 'unsupported-media-type')
    const text = await request.text()
    if (utf8Length(text) > 16 * maxPayload) return json(413, 'too-large')
    const read = readRealtimePost(text)
    if ('error' in read) return json(read.status, read.error)
    const session = sessions.get(read.session)
    if (!session) return json(404, 'unknown-session')
    for (const frame of read.frames) session.take({ frame })
    return new HttpResponse(null, { status: 204 })
  })

  const handlers = [mock.webSocketHandler(url.replace(/^http(s?):/, 'ws$1:')), stream, post]
  return Object.defineProperties({ ...controlsOf(core), handlers }, {
    ...Object.getOwnPropertyDescriptors(mock.controls),
    connections: { get: () => core.connections, enumerable: true },
  }) as MockRealtime
}
