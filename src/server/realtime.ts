/**
 * `createRealtimeHandler`: realtime channels (see `src/core/realtime/protocol.ts`) over a
 * WebSocket and over SSE with POST, at one url, over the same logs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { type WebSocket, WebSocketServer } from 'ws'
import { originAllowed } from './channel-event.ts'
import { drainWaiter } from './drain.ts'
import { describeError, warn } from './errors.ts'
import type { Sink } from './feed.ts'
import { createChannels } from './realtime-channels.ts'
import { type RealtimeHandlerOptions, resolveOptions } from './realtime-options.ts'
import { readRealtimeText } from './channel-protocol.ts'
import { createSession } from './realtime-session.ts'
import { answer, createSseSessions } from './realtime-sse.ts'
import { createTicker } from './ticker.ts'
import { asIs, webSocketTextFrame } from './wire.ts'

export type { ChannelResolver, RealtimeChannel, RealtimeHandlerOptions } from './realtime-options.ts'

/** The handler of a realtime endpoint, plus controls. */
export interface RealtimeHandler {
  /** Call from the HTTP server's `upgrade` event for the endpoint's path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Call for the endpoint's HTTP requests: `GET` opens an SSE stream, `POST` hands a stream's session frames. */
  handleRequest(request: IncomingMessage, response: ServerResponse): void
  /** Connections open now, per transport. */
  readonly clients: { readonly websocket: number; readonly sse: number }
  /** Closes every connection (WebSockets with `code`, 1012 "service restart" by default; SSE streams are cut); clients reconnect and resume. */
  dropAll(code?: number): void
  /** Stops sending and answering on the connections open now, without closing them. */
  stall(): void
  /** Closes every connection; later upgrades and requests are refused (503). */
  close(): void
}

/** Test and metrics view of a handler's memory. */
export const handlerStats = Symbol('tabwire.realtime.stats')

/**
 * A realtime endpoint: clients subscribe to channels (resuming with `since`: exactly what
 * they missed, or a `reset`), publish with an acknowledgement and de-duplication by `pid`,
 * over a WebSocket or, where WebSockets are blocked, over SSE with POST at the same url.
 * Bad input gets an `error` frame (`bad-json`, `bad-message`, `unknown-channel`,
 * `unauthorized`, `read-only`, `too-large`, `too-many`, `server-error`) on that channel
 * only: the connection and every other client go on, and nothing a client sends makes it
 * throw. Events are framed once per channel and transport and batched per socket.
 *
 * Memory stays bounded: per connection at most `maxSubscriptions` subscriptions; per
 * channel the newest 10,000 publish ids; channels nobody follows are dropped after a minute
 * (at most 256 are kept).
 *
 * @example
 * const realtime = createRealtimeHandler({ channels: createChannelLogs({ writable: true }), origins: ['https://app.example.com'] })
 * const server = createServer((req, res) => req.url?.startsWith('/realtime') ? realtime.handleRequest(req, res) : res.writeHead(404).end())
 * server.on('upgrade', (req, socket, head) => req.url?.startsWith('/realtime') ? realtime.handleUpgrade(req, socket, head) : socket.destroy())
 */
export function createRealtimeHandler(options: RealtimeHandlerOptions): RealtimeHandler & { readonly [handlerStats]: () => { channels: number } } {
  const resolved = resolveOptions(options)
  const { origins, heartbeat, maxPayload } = resolved
  const channels = createChannels(resolved)
  const sse = createSseSessions(resolved, channels)
  // `ws` closes with 1009 only past this: a publish over maxPayload gets `too-large` instead.
  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(16 * maxPayload, 1_048_576) })
  const stalled = new WeakSet<WebSocket>()
  const alive = new WeakSet<WebSocket>()
  let closed = false

  const allowed = (request: IncomingMessage, required: boolean) => {
    if (origins === undefined || origins === '*') return true
    const origin = request.headers.origin
    // A same-origin GET carries no Origin (fetch and EventSource send none): the stream is
    // readable only by its own page, and what it could change goes through POST, checked.
    if (origin === undefined && !required) return true
    return originAllowed(origins, origin)
  }

  const connect = (ws: WebSocket, socket: Duplex, request: IncomingMessage) => {
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
    const session = createSession(
      {
        kind: 'websocket',
        request,
        sink,
        payload: (text) => webSocketTextFrame(Buffer.from(text)),
        cut: (reason) => (reason === 'slow' ? ws.terminate() : reason === 'flood' ? ws.close(1008, 'too many frames waiting') : ws.close(1011, 'the channel log failed')),
      },
      resolved,
      channels,
    )
    alive.add(ws)
    // An oversized or malformed frame makes `ws` close the socket (1009, 1002…) and then emit
    // 'error'; unheard, that error would crash the whole process.
    ws.on('error', () => {})
    ws.on('pong', () => alive.add(ws))
    void gone.then(() => session.end()).catch((error: unknown) => warn(`a closed WebSocket's subscriptions could not be ended: ${describeError(error)}`))
    ws.on('message', (raw, isBinary) => {
      if (stalled.has(ws)) return
      try {
        const input = isBinary ? '' : raw.toString()
        const size = Buffer.isBuffer(raw) ? raw.length : input.length
        // Not JSON: answered `bad-json`, in its turn.
        session.take([readRealtimeText(input)], size)
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
        if (closed) return void socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        if (!allowed(request, true)) return void socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        wss.handleUpgrade(request, socket, head, (ws) => connect(ws, socket, request))
      } catch (error) {
        warn(`a WebSocket upgrade failed: ${describeError(error)}`)
        socket.destroy()
      }
    },
    handleRequest(request, response) {
      try {
        if (closed) return answer(response, 503, { error: 'closed' })
        if (!allowed(request, request.method !== 'GET')) return answer(response, 403, { error: 'forbidden-origin' })
        sse.handle(request, response)
      } catch (error) {
        warn(`a realtime request could not be handled: ${describeError(error)}`)
        response.destroy()
      }
    },
    get clients() {
      return { websocket: wss.clients.size, sse: sse.clients }
    },
    dropAll(code = 1012) {
      for (const ws of wss.clients) {
        // A code `ws` refuses (outside 1000–4999, or reserved) still drops the socket.
        try {
          ws.close(code)
        } catch {
          ws.terminate()
        }
      }
      sse.dropAll()
    },
    stall() {
      for (const ws of wss.clients) stalled.add(ws)
      sse.stall()
    },
    close() {
      closed = true
      ticker.stop()
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      sse.close()
    },
    [handlerStats]: () => ({ channels: channels.size }),
  }
}
