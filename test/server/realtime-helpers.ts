/**
 * Shared pieces of the realtime handler tests: a loopback server around a handler, and one
 * client shape over both transports (a `ws` WebSocket, or `fetch` SSE + POST), so each
 * behaviour is tested the same way on each.
 */
import { expect } from 'vitest'
import type { RealtimeClientFrame, RealtimeServerFrame } from '../../src/core/realtime/protocol'
import { createRealtimeHandler, type RealtimeHandler, type RealtimeHandlerOptions } from '../../src/server/realtime'
import { eventually, onCleanup, openSse, openWs, startServer, type TestServer } from './helpers'

export type Transport = 'websocket' | 'sse'
export const transports: Transport[] = ['websocket', 'sse']

export interface RealtimeServer extends TestServer {
  handler: ReturnType<typeof createRealtimeHandler>
}

export async function startRealtime(options: RealtimeHandlerOptions): Promise<RealtimeServer> {
  const handler = createRealtimeHandler({ heartbeat: 0, batchWindow: 0, ...options })
  onCleanup(() => handler.close())
  const server = await startServer({
    request: (request, response) => handler.handleRequest(request, response),
    upgrade: (request, socket, head) => handler.handleUpgrade(request, socket, head),
  })
  return { ...server, handler }
}

export interface Client {
  transport: Transport
  /** Server frames received so far, parsed (SSE: without `hello`). */
  frames(): RealtimeServerFrame[]
  /** The SSE session id. */
  session: string | undefined
  /** Sends frames (WebSocket: one message each; SSE: one POST, whose status is answered). */
  send(...frames: unknown[]): Promise<number | undefined>
  /** Sends raw text (WebSocket) or a raw POST body (SSE). */
  sendRaw(text: string): Promise<number | undefined>
  /** The frames of `type` (and `channel`). */
  of<T extends RealtimeServerFrame['type']>(type: T, channel?: string): Extract<RealtimeServerFrame, { type: T }>[]
  isClosed(): boolean
  close(): void
}

export async function connect(server: TestServer, transport: Transport, init: { origin?: string; path?: string } = {}): Promise<Client> {
  const path = init.path ?? '/rt'
  const headers: Record<string, string> = init.origin ? { origin: init.origin } : {}
  const of = (frames: RealtimeServerFrame[]) => (type: string, channel?: string) =>
    frames.filter((f) => f.type === type && (channel === undefined || ('channel' in f && f.channel === channel))) as never
  if (transport === 'websocket') {
    const ws = await openWs(server.url(path).replace('http', 'ws'), init.origin ? { origin: init.origin } : {})
    const frames = () => ws.frames as RealtimeServerFrame[]
    return {
      transport,
      frames,
      session: undefined,
      send: async (...list) => (list.forEach((f) => ws.send(JSON.stringify(f))), undefined),
      sendRaw: async (text) => (ws.send(text), undefined),
      of: (type, channel) => of(frames())(type, channel),
      isClosed: ws.isClosed,
      close: () => ws.socket.close(),
    }
  }
  const sse = await openSse(server.url(path), { headers })
  expect(sse.response.status).toBe(200)
  await eventually(() => expect(sse.events.length).toBeGreaterThan(0))
  const hello = JSON.parse(sse.events[0]!.data) as Extract<RealtimeServerFrame, { type: 'hello' }>
  expect(hello).toMatchObject({ type: 'hello', protocol: 1 })
  const frames = () => sse.events.slice(1).map((e) => JSON.parse(e.data) as RealtimeServerFrame)
  const post = async (body: string) => {
    const response = await fetch(server.url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
    await response.arrayBuffer()
    return response.status
  }
  return {
    transport,
    frames,
    session: hello.session,
    send: (...list) => post(JSON.stringify({ session: hello.session, frames: list })),
    sendRaw: post,
    of: (type, channel) => of(frames())(type, channel),
    isClosed: () => sse.ended,
    close: sse.close,
  }
}

/** Waits until `client` has a frame matching `match`; answers it. */
export async function waitFor(client: Client, match: Partial<RealtimeServerFrame> | ((f: RealtimeServerFrame) => boolean), timeout = 5000) {
  const test = typeof match === 'function' ? match : (f: RealtimeServerFrame) => Object.entries(match).every(([k, v]) => JSON.stringify((f as Record<string, unknown>)[k]) === JSON.stringify(v))
  return eventually(() => {
    const found = client.frames().find(test)
    expect(found, `no frame like ${String(typeof match === 'function' ? match : JSON.stringify(match))} in ${JSON.stringify(client.frames())}`).toBeDefined()
    return found!
  }, timeout)
}

/** Subscribes and waits for `subscribed`. */
export async function subscribe(client: Client, channel: string, since?: string) {
  const frame: RealtimeClientFrame = since === undefined ? { type: 'subscribe', channel } : { type: 'subscribe', channel, since }
  const before = client.of('subscribed', channel).length
  await client.send(frame)
  await eventually(() => expect(client.of('subscribed', channel).length).toBe(before + 1))
}

export type { RealtimeHandler }
