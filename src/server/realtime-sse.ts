/**
 * The SSE transport of a realtime handler: a `GET` opens a stream (first `hello` with the
 * session id, then every server frame as one event's data), and `POST { session, frames }`
 * to the same url hands that session frames; their replies come on the stream.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { REALTIME_PROTOCOL } from '../core/realtime/protocol.ts'
import { readRealtimePost } from './channel-protocol.ts'
import { drainWaiter } from './drain.ts'
import { describeError, warn } from './errors.ts'
import type { Sink } from './feed.ts'
import { formatEvent } from './format.ts'
import type { Channels } from './realtime-channels.ts'
import type { ResolvedOptions } from './realtime-options.ts'
import { createSession, type Session } from './realtime-session.ts'
import { ignoreFurtherRequests } from './sse.ts'
import { SSE_HEADERS, SSE_HEARTBEAT } from './sse-protocol.ts'
import { createTicker } from './ticker.ts'
import { asIs, httpChunk } from './wire.ts'

const HEARTBEAT = Buffer.from(SSE_HEARTBEAT)

interface Stream {
  readonly session: Session
  readonly socket: Socket
  readonly sink: Sink
  stalled: boolean
}

/** The SSE streams of one handler, by session id. */
export interface SseSessions {
  /** Answers a request that passed the origin check. */
  handle(request: IncomingMessage, response: ServerResponse): void
  readonly clients: number
  dropAll(): void
  stall(): void
  close(): void
}

/** A JSON answer to a request that opens no stream. */
export function answer(response: ServerResponse, status: number, body?: { error: string }, headers: Record<string, string> = {}) {
  if (response.headersSent) return void response.end()
  if (!body) return void response.writeHead(status, headers).end()
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text)
}

/** The SSE side of a realtime handler: streams on `GET`, their frames by `POST`. */
export function createSseSessions(options: ResolvedOptions, channels: Channels): SseSessions {
  const sessions = new Map<string, Stream>()
  /** Sockets that carry a stream (it never ends: no request behind it is served). */
  const streaming = new WeakSet<Socket>()
  const bodyLimit = 16 * options.maxPayload
  const ticker = createTicker(options.heartbeat, () => {
    for (const stream of sessions.values()) if (stream.sink.buffered === 0) stream.sink.write(stream.sink.encode(HEARTBEAT))
  })

  const serve = (request: IncomingMessage, response: ServerResponse, socket: Socket) => {
    const http11 = request.httpVersionMajor === 1 && request.httpVersionMinor >= 1
    response.writeHead(200, {
      ...SSE_HEADERS,
      // A stream never ends, so the connection serves no other request.
      connection: 'close',
      ...(http11 ? { 'transfer-encoding': 'chunked' } : {}),
    })
    response.flushHeaders()
    streaming.add(socket)
    // Requests pipelined behind the stream are never parsed (see createSseHandler).
    request.once('end', () => ignoreFurtherRequests(socket))
    request.resume()
    let closed = false
    const gone = new Promise<void>((resolve) => response.once('close', resolve))
    const stream: Stream = {
      socket,
      stalled: false,
      sink: {
        encode: http11 ? httpChunk : asIs,
        write: (bytes) => (closed || stream.stalled || socket.destroyed ? true : socket.write(bytes)),
        get buffered() {
          return stream.stalled ? 0 : socket.writableLength
        },
        get open() {
          return !closed
        },
        get needsDrain() {
          return !stream.stalled && socket.writableNeedDrain
        },
        drained: drainWaiter(socket, gone),
      },
      session: undefined as unknown as Session,
    }
    const id = randomUUID()
    ;(stream as { session: Session }).session = createSession(
      {
        kind: 'sse',
        request,
        sink: stream.sink,
        // JSON text has no line break outside strings but may have them as whitespace: formatEvent splits them into data lines.
        payload: (text) => Buffer.from(formatEvent({ data: text })),
        cut: () => socket.destroy(),
      },
      options,
      channels,
    )
    sessions.set(id, stream)
    ticker.start()
    void gone.then(() => {
      closed = true
      sessions.delete(id)
      if (!sessions.size) ticker.stop()
      try {
        stream.session.end()
      } catch (error) {
        warn(`SSE: a closed session could not be ended: ${describeError(error)}`)
      }
    })
    stream.session.reply({ type: 'hello', session: id, protocol: REALTIME_PROTOCOL })
  }

  const take = (response: ServerResponse, body: Buffer) => {
    const post = readRealtimePost(body.toString('utf8'))
    if ('error' in post) return answer(response, post.status, { error: post.error })
    const stream = sessions.get(post.session)
    if (!stream) return answer(response, 404, { error: 'unknown-session' })
    answer(response, 204)
    if (!stream.stalled) stream.session.take(post.frames, body.length)
  }

  const post = (request: IncomingMessage, response: ServerResponse) => {
    const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/json') return answer(response, 415, { error: 'unsupported-media-type' })
    const tooLarge = () => answer(response, 413, { error: 'too-large' }, { connection: 'close' })
    if (Number(request.headers['content-length']) > bodyLimit) {
      request.resume()
      return tooLarge()
    }
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    request.on('data', (chunk: Buffer) => {
      if (over) return
      size += chunk.length
      if (size <= bodyLimit) return void chunks.push(chunk)
      // Read on and discarded, so the client gets the answer rather than a reset.
      over = true
      chunks.length = 0
      tooLarge()
    })
    request.on('error', () => {})
    request.on('end', () => {
      if (over) return
      try {
        take(response, Buffer.concat(chunks, size))
      } catch (error) {
        warn(`a realtime POST could not be handled: ${describeError(error)}`)
        answer(response, 500)
      }
    })
  }

  const open = (request: IncomingMessage, response: ServerResponse) => {
    if (!/\btext\/event-stream\b/i.test(String(request.headers.accept ?? ''))) return answer(response, 406, { error: 'not-acceptable' })
    const start = (socket: Socket) => {
      try {
        serve(request, response, socket)
      } catch (error) {
        warn(`a realtime SSE stream could not start: ${describeError(error)}`)
        response.destroy()
      }
    }
    // A request pipelined behind another gets its socket when the one before is done.
    if (response.socket) start(response.socket)
    else response.once('socket', start)
  }

  return {
    handle(request, response) {
      // A request pipelined behind a stream on the same connection: it could only wait for a
      // socket that never frees; left unanswered.
      if (!response.socket && streaming.has(request.socket)) return
      if (request.method === 'GET') return open(request, response)
      if (request.method === 'POST') return post(request, response)
      answer(response, 405, { error: 'method-not-allowed' }, { allow: 'GET, POST' })
    },
    get clients() {
      return sessions.size
    },
    dropAll: () => sessions.forEach((stream) => stream.socket.destroy()),
    stall: () => sessions.forEach((stream) => (stream.stalled = true)),
    close() {
      ticker.stop()
      sessions.forEach((stream) => stream.socket.destroy())
    },
  }
}
