/**
 * A loopback WebSocket server that sends bursts on request, for the render-count tests
 * (test/browser/render-counts.test.tsx): the WebSocket fixture sends one message per
 * control request, too slow to make a burst. (SSE bursts use the SSE fixture's `emit`.)
 *
 *   ws://127.0.0.1:<port>/<room>           a connection in `room`; it sends nothing until a burst
 *   POST /burst?room=<room>&count=N        sends N messages `{"seq":n}` on every open connection
 *                                          of the room, n counting on from the room's last burst
 *                                          (1 for the first): { connections, from, to }
 *   GET  /rooms/<room>                     { accepted, open } connections of the room
 *
 * CORS-enabled like the other fixtures (the page calls it cross-origin, no preflight).
 * Binds 127.0.0.1 only. Started by test/browser/global-setup.ts, which provides its base
 * URL to the tests as `burstBase`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { TestProject } from 'vitest/node'
import { type WebSocket, WebSocketServer } from 'ws'

declare module 'vitest' {
  interface ProvidedContext {
    /** Base URL of the burst server, e.g. `http://127.0.0.1:41236` (its WebSocket URLs are ws://…). */
    burstBase: string
  }
}

interface Room {
  accepted: number
  open: Set<WebSocket>
  /** The last seq sent. */
  seq: number
}

/** Starts the server and provides its URL to the project's tests as `burstBase`. */
export async function startBurstServer(project: TestProject): Promise<{ close(): Promise<void> }> {
  const rooms = new Map<string, Room>()
  const room = (name: string) => {
    let r = rooms.get(name)
    if (!r) rooms.set(name, (r = { accepted: 0, open: new Set(), seq: 0 }))
    return r
  }
  const sockets = new Set<Socket>()

  const json = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'access-control-allow-origin': req.headers.origin ?? '*', vary: 'origin', 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify(body))
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    if (req.method === 'POST' && parts[0] === 'burst') {
      const name = url.searchParams.get('room')
      const count = Number(url.searchParams.get('count'))
      if (!name || !Number.isInteger(count) || count < 1 || count > 100_000) return json(req, res, 400, { error: 'needs room and count (1–100000)' })
      const r = room(name)
      const from = r.seq + 1
      for (let seq = from; seq < from + count; seq++) for (const ws of r.open) ws.send(`{"seq":${seq}}`)
      r.seq += count
      return json(req, res, 200, { connections: r.open.size, from, to: r.seq })
    }
    if (req.method === 'GET' && parts[0] === 'rooms' && parts[1]) {
      const r = room(parts[1])
      return json(req, res, 200, { accepted: r.accepted, open: r.open.size })
    }
    json(req, res, 404, { error: 'not found' })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname.slice(1))
    wss.handleUpgrade(req, socket as Socket, head, (ws) => {
      const r = room(name)
      r.accepted++
      r.open.add(ws)
      ws.on('error', () => {})
      ws.on('close', () => r.open.delete(ws))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  project.provide('burstBase', `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate()
        wss.close()
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
