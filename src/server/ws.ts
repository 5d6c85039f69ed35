import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import type { LogEntry, ReplayLog } from './log.ts'

export interface WebSocketHandlerOptions {
  /** The channels clients may subscribe to, each with its replay log. */
  channels: Record<string, ReplayLog>
  /**
   * Channels clients may publish to (`{ type: 'publish', channel, data }` appends
   * `JSON.stringify(data)` to the channel's log).
   * @defaultValue none
   */
  writable?: readonly string[]
  /**
   * Origins allowed at the upgrade; others get 403. Set it for any endpoint with `writable`
   * channels, or any page on the web can publish through a visitor's browser.
   * @defaultValue any origin
   */
  origins?: readonly string[]
  /**
   * Largest incoming frame in bytes; a bigger one closes the socket with 1009.
   * @defaultValue 65536
   */
  maxPayload?: number
  /**
   * Protocol-level ping interval in ms; a client that has not answered the previous ping is
   * terminated. `0` is off. (Clients' own app-level `'ping'` text gets `'pong'` always.)
   * @defaultValue 30000
   */
  heartbeat?: number
  /**
   * Bytes a socket may have waiting to be sent. A client that stops reading is terminated
   * past it (it resumes later with `since`), so it cannot grow the server's memory.
   * @defaultValue 1048576
   */
  maxBuffered?: number
}

/** Upgrade handler and controls for a WebSocket endpoint. */
export interface WebSocketHandler {
  /** Call from the HTTP server's `upgrade` event for the endpoint's path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Sockets open now. */
  readonly clients: number
  /** Closes every socket (1012 "service restart" by default); clients reconnect and resume. */
  dropAll(code?: number): void
  /** Stops sending and answering on the sockets open now, without closing them. */
  stall(): void
  /** Closes every socket and the server. */
  close(): void
}

/** A frame the server sends. */
export type ServerFrame =
  | { type: 'event'; channel: string; id: string; event?: string; data: unknown }
  /** `head`: what the subscription started after (see `ReplayLog.head`; null when the log does not say): resume from it. */
  | { type: 'subscribed'; channel: string; head: string | null }
  | { type: 'reset'; channel: string; epoch: string; reason: string; head: string }
  | { type: 'error'; code: 'bad-json' | 'bad-message' | 'unknown-channel' | 'read-only'; message: string }

/**
 * A WebSocket endpoint on the `ws` package that serves replay logs as channels.
 *
 * Client frames (JSON text): `{ type: 'subscribe', channel, since? }` (resume after the id
 * `since`: exactly the missed events, or a `reset` frame), `{ type: 'unsubscribe', channel }`,
 * `{ type: 'publish', channel, data }`, and the text `ping` (answered `pong`). Bad input
 * gets an `error` frame; the socket and every other client go on.
 *
 * @example
 * const chat = createWebSocketHandler({ channels: { room: createMemoryLog() }, writable: ['room'] })
 * server.on('upgrade', (req, socket, head) => req.url === '/chat' ? chat.handleUpgrade(req, socket, head) : socket.destroy())
 */
export function createWebSocketHandler(options: WebSocketHandlerOptions): WebSocketHandler {
  const { channels, heartbeat = 30_000 } = options
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 65_536 })
  const stalled = new WeakSet<WebSocket>()
  const alive = new WeakSet<WebSocket>()
  const frames = new Map<string, WeakMap<LogEntry, string>>()

  /** The event frame for an entry on a channel, built once: data is the entry's JSON, or its text. */
  const frame = (channel: string, entry: LogEntry) => {
    let cache = frames.get(channel)
    if (!cache) frames.set(channel, (cache = new WeakMap()))
    let text = cache.get(entry)
    if (text === undefined) {
      let data: unknown = entry.data
      try {
        data = JSON.parse(entry.data)
      } catch {}
      text = JSON.stringify({ type: 'event', channel, id: entry.id, event: entry.event, data })
      cache.set(entry, text)
    }
    return text
  }

  wss.on('connection', (socket) => {
    const subscriptions = new Map<string, () => void>()
    const send = (text: string) => {
      if (stalled.has(socket) || socket.readyState !== 1) return
      if (socket.bufferedAmount > (options.maxBuffered ?? 1_048_576)) return socket.terminate()
      socket.send(text)
    }
    const reply = (message: ServerFrame) => send(JSON.stringify(message))
    alive.add(socket)
    // An oversized or malformed frame makes `ws` close the socket (1009, 1002…) and then emit
    // 'error'; unheard, that error would crash the whole process.
    socket.on('error', () => {})
    socket.on('pong', () => alive.add(socket))
    socket.on('close', () => subscriptions.forEach((off) => off()))

    const subscribe = async (channel: string, since: unknown) => {
      const log = Object.hasOwn(channels, channel) ? channels[channel] : undefined
      if (!log) return reply({ type: 'error', code: 'unknown-channel', message: `no channel '${channel}'` })
      if (since !== undefined && typeof since !== 'string') return reply({ type: 'error', code: 'bad-message', message: '`since` must be an id string' })
      subscriptions.get(channel)?.()
      // Read before subscribing: every entry after it reaches this socket.
      const head = log.head ?? null
      let lastSeq = 0
      let live = false
      const pending: LogEntry[] = []
      const deliver = (entry: LogEntry) => {
        if (entry.seq <= lastSeq) return
        lastSeq = entry.seq
        send(frame(channel, entry))
      }
      const off = log.subscribe((entry) => (live ? deliver(entry) : pending.push(entry)))
      subscriptions.set(channel, off)
      const replay = await log.since(since)
      if (subscriptions.get(channel) !== off) return
      reply({ type: 'subscribed', channel, head })
      if ('reset' in replay) {
        lastSeq = Number(replay.head.slice(replay.head.lastIndexOf('.') + 1))
        reply({ type: 'reset', channel, epoch: log.epoch, reason: replay.reset, head: replay.head })
      } else replay.entries.forEach(deliver)
      live = true
      pending.forEach(deliver)
    }

    socket.on('message', (raw, isBinary) => {
      if (stalled.has(socket)) return
      const text = isBinary ? '' : raw.toString()
      if (text === 'ping') return send('pong')
      let message: { type?: unknown; channel?: unknown; since?: unknown; data?: unknown }
      try {
        message = JSON.parse(text)
      } catch {
        return reply({ type: 'error', code: 'bad-json', message: 'frames must be JSON text' })
      }
      const channel = message?.channel
      if (typeof channel !== 'string') return reply({ type: 'error', code: 'bad-message', message: 'expected { type, channel }' })
      if (message.type === 'subscribe') return void subscribe(channel, message.since).catch(() => socket.terminate())
      if (message.type === 'unsubscribe') {
        subscriptions.get(channel)?.()
        return void subscriptions.delete(channel)
      }
      if (message.type === 'publish') {
        if (!Object.hasOwn(channels, channel)) return reply({ type: 'error', code: 'unknown-channel', message: `no channel '${channel}'` })
        if (!options.writable?.includes(channel)) return reply({ type: 'error', code: 'read-only', message: `cannot publish to '${channel}'` })
        return void channels[channel]!.append(JSON.stringify(message.data ?? null))
      }
      reply({ type: 'error', code: 'bad-message', message: 'type must be subscribe, unsubscribe or publish' })
    })
  })

  const timer =
    heartbeat > 0
      ? setInterval(() => {
          for (const socket of wss.clients) {
            if (stalled.has(socket)) continue
            if (!alive.has(socket)) {
              socket.terminate()
              continue
            }
            alive.delete(socket)
            socket.ping()
          }
        }, heartbeat)
      : undefined
  timer?.unref?.()

  return {
    handleUpgrade(request, socket, head) {
      const origin = request.headers.origin
      if (options.origins && !(origin && options.origins.includes(origin))) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        return
      }
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))
    },
    get clients() {
      return wss.clients.size
    },
    dropAll(code = 1012) {
      for (const socket of wss.clients) socket.close(code)
    },
    stall() {
      for (const socket of wss.clients) stalled.add(socket)
    },
    close() {
      clearInterval(timer)
      for (const socket of wss.clients) socket.terminate()
      wss.close()
    },
  }
}
