/**
 * `mockWebSocketHandler`: an MSW `ws.link` handler that speaks what `createWebSocketHandler`
 * speaks.
 */
import type { WebSocketHandler } from 'msw'
import type { ReplayLog } from '../server/log.ts'
import { createChannelMock, type MockChannelControls } from './mock-channels.ts'
import { controlsOf, createMockCore, type MockOptions } from './mock-core.ts'

/** Options of {@link mockWebSocketHandler}. */
export interface MockWebSocketOptions extends MockOptions {
  /**
   * The channels and their logs, as `createWebSocketHandler` takes them.
   * @defaultValue a memory log made for each name on first use, every one writable
   * @example mockWebSocketHandler(url, { channels: { quotes: createMemoryLog(), room: createMemoryLog() }, writable: ['room'] })
   */
  channels?: Record<string, ReplayLog>
  /**
   * Channels clients may publish to (with `channels` given).
   * @defaultValue none
   * @example mockWebSocketHandler(url, { channels: { room: createMemoryLog() }, writable: ['room'] })
   */
  writable?: readonly string[]
  /**
   * Entries kept by the logs the mock makes (on demand, and on `reset()`).
   * @defaultValue 1000
   * @example mockWebSocketHandler(url, { capacity: 10 })
   */
  capacity?: number
  /**
   * The largest frame (bytes) a client may send; a bigger one closes the socket with 1009,
   * as `createWebSocketHandler`'s `maxPayload` does.
   * @defaultValue 65536
   * @example mockWebSocketHandler(url, { maxPayload: 16 * 1024 })
   */
  maxPayload?: number
}

/** The mock of a `createWebSocketHandler` endpoint: its MSW handler and its controls. */
export interface MockWebSocket extends MockChannelControls {
  /**
   * Give these to MSW: `setupServer(...mock.handlers)` or `server.use(...mock.handlers)`.
   * @example server.use(...chat.handlers)
   */
  readonly handlers: WebSocketHandler[]
}

/**
 * Serves the channel protocol of `createWebSocketHandler` at `url` (ws: or wss:) with MSW's
 * `ws.link`: `{ type: 'subscribe', channel, since? }` answered `subscribed` (and `reset`
 * when `since` cannot be resumed) then exactly the missed events, `unsubscribe`, `publish`
 * to writable channels, the text `ping` answered `pong`, and the same typed `error` frames
 * for bad input. The decisions are the server's own functions (src/server/channel-protocol.ts).
 *
 * @example
 * const chat = mockWebSocketHandler('ws://localhost/chat', { channels: { room: createMemoryLog() }, writable: ['room'] })
 * const server = setupServer(...chat.handlers)
 * // render a component that subscribes to 'room', then:
 * await chat.nextSubscribe('room')
 * chat.publish('room', { text: 'hello' })
 */
export function mockWebSocketHandler(url: string, options: MockWebSocketOptions = {}): MockWebSocket {
  const core = createMockCore(options)
  const mock = createChannelMock({
    dialect: 'channels',
    core,
    channels: options.channels,
    writable: options.writable,
    capacity: options.capacity ?? 1000,
    maxSubscriptions: Number.POSITIVE_INFINITY,
    maxPayload: Number.POSITIVE_INFINITY,
    maxFrame: options.maxPayload ?? 65_536,
  })
  const handler = mock.webSocketHandler(url)
  return Object.defineProperties({ ...controlsOf(core), handlers: [handler] }, {
    ...Object.getOwnPropertyDescriptors(mock.controls),
    connections: { get: () => core.connections, enumerable: true },
  }) as MockWebSocket
}
