/**
 * What the two channel mocks share: channels found by name (logs made on demand when none
 * are given), a fresh epoch on `reset()`, `publish` and `flood` from the test, the queues of
 * what clients sent, and the MSW `ws.link` side.
 */
import { ws, type WebSocketHandler } from 'msw'
import { createMemoryLog, type LogEntry, type ReplayLog } from '../server/log.ts'
import { utf8Length } from '../server/channel-protocol.ts'
import { type Connection, happenings, type MockConnectionInfo, type MockControls, type MockCore } from './mock-core.ts'
import { type FloodOptions, floodLog } from './mock-flood.ts'
import { createMockSession, type MockChannel, type PublishSeen, type SessionContext, type SubscribeSeen } from './mock-session.ts'

export type { PublishSeen, SubscribeSeen }

/**
 * A channel of a mock: a log (read-only), or a log with what clients may do with it (as
 * `RealtimeChannel` of the server: `writable` defaults to false, `snapshot` to none).
 * @example { room: { log: createMemoryLog(), writable: true, snapshot: () => members } }
 */
export type MockChannelInput = ReplayLog | { log: ReplayLog; writable?: boolean; snapshot?: () => unknown }

/**
 * The controls of a channel mock (both dialects), besides those every mock has.
 * @example
 * await realtime.nextSubscribe('prices')
 * realtime.publish('prices', { ACME: 42 })
 */
export interface MockChannelControls extends MockControls {
  /**
   * Appends `data` (as JSON) to a channel's log: its subscribers get it as an `event` frame.
   * Throws for a channel the mock does not have. Answers the entry (its `id` is what clients resume from).
   * @example const { id } = realtime.publish('prices', { ACME: 42 })
   */
  publish(channel: string, data: unknown, event?: string): LogEntry
  /**
   * The log of a channel now (undefined: no such channel); a new one after `reset()`.
   * @example expect(realtime.log('room')?.head).toBe(ackedId)
   */
  log(channel: string): ReplayLog | undefined
  /**
   * Publishes `n` events to `options.channel` (default: the first channel given), `perSecond`
   * per second on the mock's timers (all at once without); resolves when done.
   * @example await realtime.flood(5000, 1000, { channel: 'prices', data: (i) => ({ ACME: 100 + i }) })
   */
  flood(n: number, perSecond?: number, options?: FloodOptions & { channel?: string }): Promise<void>
  /**
   * A restart: every channel gets a new log (new epoch) and every connection is closed
   * (1012); clients that resume get `reset`.
   * @example act(() => realtime.reset()) // the hook's onReset runs after it resubscribes
   */
  reset(): void
  /**
   * The next subscribe a client sent (to `channel`, when given); one sent before the call and
   * not taken yet counts, so a subscribe made just before the `await` is not missed.
   * @example expect(await realtime.nextSubscribe('prices')).toEqual({ channel: 'prices', since: undefined })
   */
  nextSubscribe(channel?: string): Promise<SubscribeSeen>
  /**
   * The next unsubscribe a client sent (to `channel`, when given).
   * @example unmount(); await realtime.nextUnsubscribe('prices')
   */
  nextUnsubscribe(channel?: string): Promise<{ readonly channel: string }>
  /**
   * The next publish a client sent (to `channel`, when given), also one the mock refused.
   * @example expect((await chat.nextPublish('room')).data).toEqual({ text: 'hi' })
   */
  nextPublish(channel?: string): Promise<PublishSeen>
  /**
   * Every frame clients sent, in order: parsed JSON, or the text itself (`'ping'`).
   * @example expect(realtime.received).toContainEqual({ type: 'unsubscribe', channel: 'prices' })
   */
  readonly received: readonly unknown[]
}

export interface ChannelMockSetup {
  dialect: SessionContext['dialect']
  core: MockCore
  /** A record of channels, a resolver by name, or undefined: logs made on demand, all writable. */
  channels: Record<string, MockChannelInput> | ((name: string) => MockChannelInput | undefined) | undefined
  /** Which channels of a record of plain logs are writable (`createWebSocketHandler`'s option). */
  writable?: readonly string[] | undefined
  capacity: number
  maxSubscriptions: number
  maxPayload: number
  /** The largest WebSocket frame (bytes) read; a bigger one closes the socket with 1009, as `ws` does on the server. */
  maxFrame: number
}

/** Links per url: MSW 3 adds a process-wide listener per `ws.link()` and never removes it. */
const links = new Map<string, ReturnType<typeof ws.link>>()

export function createChannelMock(setup: ChannelMockSetup) {
  const { core, channels, capacity } = setup
  const writable = new Set(setup.writable ?? [])
  /** The log each name resolved to, replaced on reset. */
  const current = new Map<string, ReplayLog>()
  const pids = new WeakMap<ReplayLog, Map<string, string>>()
  const resolve = (name: string): MockChannelInput | undefined => {
    if (channels === undefined) return current.get(name) ?? createMemoryLog({ capacity })
    if (typeof channels === 'function') return channels(name)
    return Object.hasOwn(channels, name) ? channels[name] : undefined
  }
  const find = (name: string): MockChannel | undefined => {
    const input = resolve(name)
    if (!input) return undefined
    const plain = typeof (input as ReplayLog).append === 'function'
    const given = plain ? (input as ReplayLog) : (input as { log: ReplayLog }).log
    if (!current.has(name)) current.set(name, given)
    const log = current.get(name)!
    if (plain) return { log, writable: channels === undefined || writable.has(name) }
    const { writable: canWrite = false, snapshot } = input as { writable?: boolean; snapshot?: () => unknown }
    return { log, writable: canWrite, snapshot }
  }
  const context: SessionContext = {
    dialect: setup.dialect,
    find,
    pids(log) {
      let map = pids.get(log)
      if (!map) pids.set(log, (map = new Map()))
      return map
    },
    maxSubscriptions: setup.maxSubscriptions,
    maxPayload: setup.maxPayload,
    subscribes: happenings<SubscribeSeen>(),
    unsubscribes: happenings<{ readonly channel: string }>(),
    publishes: happenings<PublishSeen>(),
    received: [],
  }
  const byChannel = (channel: string | undefined) => (seen: { channel: string }) => channel === undefined || seen.channel === channel
  const logOf = (channel: string) => {
    const found = find(channel)
    if (!found) throw new Error(`[tabwire/testing] the mock has no channel ${JSON.stringify(channel)}`)
    return found.log
  }

  const controls: Omit<MockChannelControls, keyof MockControls> = {
    publish: (channel, data, event) => logOf(channel).append(JSON.stringify(data ?? null), event),
    log: (channel) => find(channel)?.log,
    flood(n, perSecond, options = {}) {
      const channel = options.channel ?? (typeof channels === 'object' ? Object.keys(channels)[0] : undefined)
      if (channel === undefined) throw new Error('[tabwire/testing] flood: name the channel ({ channel })')
      logOf(channel)
      return floodLog(core.timers, () => logOf(channel), n, perSecond, { data: (i) => ({ n: i }), ...options })
    },
    reset() {
      const names = new Set([...current.keys(), ...(typeof channels === 'object' ? Object.keys(channels) : [])])
      for (const name of names) current.set(name, createMemoryLog({ capacity }))
      core.close(1012)
    },
    nextSubscribe: (channel) => context.subscribes.next(byChannel(channel)),
    nextUnsubscribe: (channel) => context.unsubscribes.next(byChannel(channel)),
    nextPublish: (channel) => context.publishes.next(byChannel(channel)),
    get received() {
      return context.received
    },
  }

  /** The MSW handler of the WebSocket side at `url` (ws: or wss:). */
  const webSocketHandler = (url: string): WebSocketHandler => {
    let link = links.get(url)
    if (!link) links.set(url, (link = ws.link(url)))
    return link.addEventListener('connection', ({ client }) => {
      if (core.admit().refused) return client.close(1006)
      const info: Omit<MockConnectionInfo, 'transport'> = { url: client.url.href, lastEventId: null }
      const connection = core.add({
        transport: 'websocket',
        ...info,
        write: (text) => client.send(text),
        drop: () => client.close(1006),
        close: (code) => client.close(code),
      })
      const session = createMockSession(connection, context)
      client.addEventListener('message', (event) => {
        const text = typeof event.data === 'string' ? event.data : ''
        const bytes = typeof event.data === 'string' ? utf8Length(text) : ((event.data as Blob).size ?? (event.data as ArrayBuffer).byteLength ?? 0)
        if (bytes > setup.maxFrame) return connection.close(1009)
        session.take({ text })
      })
      client.addEventListener('close', () => {
        connection.end()
        session.end()
      })
    })
  }

  return {
    controls,
    webSocketHandler,
    /** A session of this mock on `connection` (the SSE side makes its own). */
    createSession: (connection: Connection, encode?: (text: string) => string) => createMockSession(connection, context, encode),
  }
}
