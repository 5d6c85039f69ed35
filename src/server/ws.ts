import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import { channelEventJson, originAllowed, readHead } from './channel-event.ts'
import { checkSince, type ErrorFrame, publishFailed, publishJson, readChannelMessage, readOnly, subscribeFrames, unknownChannel, unstorable } from './channel-protocol.ts'
import { describeError, ServerOptionsError, warn } from './errors.ts'
import { drainWaiter, fits } from './drain.ts'
import { createFeed, type Feed, type Following, type Sink } from './feed.ts'
import type { LogEntry, AnyReplayLog } from './log.ts'
import { createTicker } from './ticker.ts'
import { asIs, webSocketTextFrame } from './wire.ts'

export interface WebSocketHandlerOptions {
  /**
   * The channels clients may subscribe to, each with its replay log.
   * @example createWebSocketHandler({ channels: { quotes: createMemoryLog() }, origins: ['https://app.example.com'] })
   */
  channels: Record<string, AnyReplayLog>
  /**
   * Channels clients may publish to (`{ type: 'publish', channel, data }` appends
   * `JSON.stringify(data)` to the channel's log). With any, `origins` is required.
   * @defaultValue none
   * @example createWebSocketHandler({ channels: { room }, writable: ['room'], origins: ['https://app.example.com'] })
   */
  writable?: readonly string[]
  /**
   * Origins allowed at the upgrade; others (and requests without one) get 403. Required
   * when channels are `writable`, or any page on the web could publish through a
   * visitor's browser: creating such a handler without it throws. `'*'` allows every
   * origin, on purpose.
   * @defaultValue any origin, when no channel is writable
   * @example createWebSocketHandler({ channels, writable: ['room'], origins: ['https://app.example.com', 'http://localhost:5173'] })
   */
  origins?: readonly string[] | '*'
  /**
   * Largest incoming frame in bytes; a bigger one closes the socket with 1009.
   * @defaultValue 65536
   * @example createWebSocketHandler({ channels, maxPayload: 16 * 1024 })
   */
  maxPayload?: number
  /**
   * Protocol-level ping interval in ms (one timer for every socket); a client that has not
   * answered the previous ping is terminated. `0` is off. (Clients' own app-level `'ping'`
   * text gets `'pong'` always.)
   * @defaultValue 30000
   * @example createWebSocketHandler({ channels, heartbeat: 10_000 })
   */
  heartbeat?: number
  /**
   * Bytes a socket may have waiting to be sent. A client that stops reading is terminated
   * past it (it resumes later with `since`), so it cannot grow the server's memory: live
   * events, and the `subscribed`, `reset`, `error` and `pong` frames (these with one replay
   * chunk of slack), count. A replay is paced by the socket (it writes only to a socket that
   * is not waiting for drain, and a replay superseded by a new subscribe stops) and never
   * counts; live events held for a subscription during its replay do.
   * @defaultValue 1048576
   * @example createWebSocketHandler({ channels, maxBuffered: 4 * 1024 * 1024 })
   */
  maxBuffered?: number
  /**
   * Under load, live events go out to each socket at most once per this many ms, batched
   * into one write (an event after a quiet spell goes out at once, and a burst goes out in
   * 64 KiB writes as it is appended). Each write is a system call per socket, the main cost
   * of fan-out: larger saves CPU per event, and about one display frame (16 ms) adds no
   * delay a page can show. `0` writes at the end of every turn of the event loop.
   * @defaultValue 16
   * @example createWebSocketHandler({ channels, batchWindow: 0 })
   */
  batchWindow?: number
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
  /**
   * `bad-json`: not JSON text; `bad-message`: not a frame of the protocol, or `data` that
   * cannot be stored as JSON (nested too deep); `unknown-channel`; `read-only`: publishing to
   * a channel that is not `writable`; `server-error`: the channel's log failed the append.
   */
  | { type: 'error'; code: 'bad-json' | 'bad-message' | 'unknown-channel' | 'read-only' | 'server-error'; message: string }

/** Replies (errors, pongs) may wait beyond `maxBuffered` by one replay chunk. */
const REPLY_SLACK = 65_536

/**
 * A WebSocket endpoint on the `ws` package that serves replay logs as channels.
 *
 * Client frames (JSON text): `{ type: 'subscribe', channel, since? }` (resume after the id
 * `since`: exactly the missed events, or a `reset` frame; a subscribe to a channel the socket
 * already follows replaces it, and what the socket already got is not sent again), `{ type: 'unsubscribe', channel }`,
 * `{ type: 'publish', channel, data }`, and the text `ping` (answered `pong`). Bad input
 * gets an `error` frame; the socket and every other client go on. An event is framed once
 * per channel and the same bytes go to every subscriber, batched per turn of the event
 * loop. A log that fails a subscription closes that socket with 1011 (the client retries).
 *
 * @example
 * const chat = createWebSocketHandler({ channels: { room: createMemoryLog() }, writable: ['room'], origins: ['https://app.example.com'] })
 * server.on('upgrade', (req, socket, head) => req.url === '/chat' ? chat.handleUpgrade(req, socket, head) : socket.destroy())
 */
export function createWebSocketHandler(options: WebSocketHandlerOptions): WebSocketHandler {
  const { channels, heartbeat = 30_000, maxBuffered = 1_048_576, batchWindow = 16 } = options
  const writable = new Set(options.writable ?? [])
  const origins = options.origins
  if (writable.size && origins === undefined) {
    throw new ServerOptionsError(
      'createWebSocketHandler',
      'origins',
      "channels are writable but `origins` is not set, so any web page could publish through its visitors' browsers. " +
        "List the pages' origins (origins: ['https://app.example.com']), or pass origins: '*' to allow every origin on purpose.",
    )
  }
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 65_536 })
  const stalled = new WeakSet<WebSocket>()
  const alive = new WeakSet<WebSocket>()
  const feeds = new Map<string, Feed>()

  const feedOf = (channel: string, log: AnyReplayLog) => {
    let feed = feeds.get(channel)
    if (!feed) {
      const json = channelEventJson(channel)
      const frame = (entry: LogEntry) => webSocketTextFrame(Buffer.from(json(entry)))
      feeds.set(channel, (feed = createFeed({ log, frame, name: `channel ${JSON.stringify(channel)}`, maxBuffered, batchWindow })))
    }
    return feed
  }

  const connect = (ws: WebSocket, socket: Duplex) => {
    const subscriptions = new Map<string, Following>()
    const gone = new Promise<void>((resolve) => ws.once('close', resolve))
    const sink: Sink = {
      encode: asIs,
      // Written on the socket `ws` writes to, as `ws` does: whole frames, synchronously.
      write: (bytes) => (stalled.has(ws) || !sink.open ? true : socket.write(bytes)),
      get buffered() {
        return stalled.has(ws) ? 0 : socket.writableLength
      },
      get open() {
        return ws.readyState === ws.OPEN && !socket.destroyed
      },
      get needsDrain() {
        return !stalled.has(ws) && socket.writableNeedDrain
      },
      drained: drainWaiter(socket, gone),
    }
    const text = (value: string) => webSocketTextFrame(Buffer.from(value))
    const reply = (message: ServerFrame | 'pong') => {
      const bytes = text(message === 'pong' ? message : JSON.stringify(message))
      // A client that sends without reading is cut once its replies pass the bound.
      if (!fits(sink, bytes.length, maxBuffered + REPLY_SLACK)) return ws.terminate()
      sink.write(bytes)
    }
    const fail = (frame: ErrorFrame) => reply(frame as ServerFrame)

    alive.add(ws)
    // An oversized or malformed frame makes `ws` close the socket (1009, 1002…) and then emit
    // 'error'; unheard, that error would crash the whole process.
    ws.on('error', () => {})
    ws.on('pong', () => alive.add(ws))
    void gone.then(() => {
      for (const following of subscriptions.values()) following.stop()
      subscriptions.clear()
    }).catch((error: unknown) => warn(`a closed WebSocket's subscriptions could not be ended: ${describeError(error)}`))

    const subscribe = (channel: string, since: unknown) => {
      const log = Object.hasOwn(channels, channel) ? channels[channel] : undefined
      if (!log) return fail(unknownChannel(channel, false))
      const bad = checkSince(since)
      if (bad) return fail(bad)
      // A subscription this one replaces: what it wrote reaches the client before this one's
      // frames (same socket, in order), so the replay from `since` does not write it again.
      const after = subscriptions.get(channel)?.stop()
      subscriptions.delete(channel)
      if (!sink.open) return
      // Read before following: every entry after it reaches this socket.
      const head = readHead(log)
      const following = feedOf(channel, log).follow({
        sink,
        since: since as string | undefined,
        after,
        // A head the store could not tell before following, read once `since` answered (see realtime-session).
        start: (replay) => Buffer.concat(subscribeFrames(channel, head ?? readHead(log), log, replay).map(text)),
        cut: (reason) => (reason === 'slow' ? ws.terminate() : ws.close(1011, 'the channel log failed')),
      })
      subscriptions.set(channel, following)
    }

    const publish = (channel: string, data: unknown) => {
      const log = Object.hasOwn(channels, channel) ? channels[channel] : undefined
      if (!log) return fail(unknownChannel(channel, false))
      if (!writable.has(channel)) return fail(readOnly(channel, false))
      const json = publishJson(data)
      if (json === undefined) return fail(unstorable())
      const failed = (error: unknown) => {
        warn(`channel ${JSON.stringify(channel)}: append failed: ${describeError(error)}`)
        fail(publishFailed(channel, false))
      }
      try {
        // A shared store answers later: a rejected append is answered too, never lost quietly.
        const appended = log.append(json)
        if (appended instanceof Promise) appended.then(undefined, failed)
      } catch (error) {
        failed(error)
      }
    }

    const handle = (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (stalled.has(ws)) return
      const command = readChannelMessage(isBinary ? '' : raw.toString())
      if (command.type === 'ping') return reply('pong')
      if (command.type === 'error') return fail(command)
      if (command.type === 'subscribe') return subscribe(command.channel, command.since)
      if (command.type === 'unsubscribe') {
        subscriptions.get(command.channel)?.stop()
        return void subscriptions.delete(command.channel)
      }
      publish(command.channel, command.message.data)
    }

    ws.on('message', (raw, isBinary) => {
      try {
        handle(raw, isBinary)
      } catch (error) {
        warn(`a WebSocket message could not be handled: ${describeError(error)}`)
        ws.close(1011)
      }
    })
  }

  const ticker = createTicker(heartbeat, () => {
    for (const ws of wss.clients) {
      if (stalled.has(ws)) continue
      if (!alive.has(ws)) {
        ws.terminate()
        continue
      }
      alive.delete(ws)
      ws.ping()
    }
  })
  ticker.start()

  return {
    handleUpgrade(request, socket, head) {
      // Node stops listening for the socket's errors once it is handed over for an upgrade.
      socket.on('error', () => {})
      try {
        if (origins !== '*' && origins && !originAllowed(origins, request.headers.origin)) {
          socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
          return
        }
        wss.handleUpgrade(request, socket, head, (ws) => connect(ws, socket))
      } catch (error) {
        warn(`a WebSocket upgrade failed: ${describeError(error)}`)
        socket.destroy()
      }
    },
    get clients() {
      return wss.clients.size
    },
    dropAll(code = 1012) {
      for (const ws of wss.clients) ws.close(code)
    },
    stall() {
      for (const ws of wss.clients) stalled.add(ws)
    },
    close() {
      ticker.stop()
      for (const ws of wss.clients) ws.terminate()
      wss.close()
    },
  }
}
