/**
 * A tiny round-robin reverse proxy for the scaled-out demo (loopback only): each HTTP request
 * and each WebSocket upgrade goes to the next live instance, so a client's every reconnect
 * may land on another one, as behind a load balancer without sticky sessions. A refused
 * connection (an instance that just died) is retried on the next instance; a connection cut
 * by its instance is cut for the client too, so the client reconnects.
 */
import { type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { Duplex } from 'node:stream'
import { json } from './http.ts'

export interface RoundRobinProxy {
  /** Forwards an HTTP request to the next live instance. */
  forward(request: IncomingMessage, response: ServerResponse): Promise<void>
  /** Forwards a WebSocket upgrade to the next live instance, then pipes the two sockets. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
}

/** Largest request body the proxy holds (it is kept to retry on another instance). */
const MAX_BODY = 1 << 20

/** @param ports - the ports of the live instances on 127.0.0.1, now */
export function createRoundRobinProxy(ports: () => readonly number[]): RoundRobinProxy {
  let turn = 0
  /** The live instances, starting with the one whose turn it is. */
  const order = () => {
    const live = ports()
    const start = turn++ % Math.max(1, live.length)
    return [...live.slice(start), ...live.slice(0, start)]
  }

  return {
    async forward(request, response) {
      let body: Buffer
      try {
        body = await collect(request)
      } catch {
        return json(response, 413, { error: 'request body too large' })
      }
      const attempt = (targets: readonly number[]) => {
        const [port, ...rest] = targets
        if (port === undefined) return json(response, 502, { error: 'no instance is up' })
        const upstream = httpRequest({ host: '127.0.0.1', port, method: request.method, path: request.url, headers: request.headers, agent: false })
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          // Nothing reached the instance: another one may answer.
          if (error.code === 'ECONNREFUSED') return attempt(rest)
          if (!response.headersSent) json(response, 502, { error: `instance on port ${port}: ${error.code ?? error.message}` })
          else response.destroy()
        })
        upstream.on('response', (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(response)
          answer.on('error', () => response.destroy())
          // An instance that died mid-response (an SSE stream): the client must see the cut.
          answer.on('close', () => void (answer.complete || response.destroy()))
        })
        response.on('close', () => upstream.destroy())
        upstream.end(body)
      }
      attempt(order())
    },

    upgrade(request, socket, head) {
      socket.on('error', () => {})
      const attempt = (targets: readonly number[]) => {
        const [port, ...rest] = targets
        if (port === undefined || socket.destroyed) {
          return void socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        }
        const upstream = connect(port, '127.0.0.1')
        let connected = false
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          if (!connected && error.code === 'ECONNREFUSED') return attempt(rest)
          socket.destroy()
        })
        upstream.on('connect', () => {
          connected = true
          const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`]
          for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`)
          upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
          if (head.length) upstream.write(head)
          upstream.pipe(socket)
          socket.pipe(upstream)
        })
        // Either side gone: the other goes too (a killed instance cuts its clients).
        upstream.on('close', () => socket.destroy())
        socket.on('close', () => upstream.destroy())
      }
      attempt(order())
    },
  }
}

function collect(request: IncomingMessage): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = []
    let size = 0
    request.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) {
        request.destroy()
        return fail(new Error('too large'))
      }
      chunks.push(chunk)
    })
    request.on('end', () => done(Buffer.concat(chunks)))
    request.on('error', fail)
  })
}
