/**
 * One realtime client shape over both transports (a WebSocket, or an SSE stream + POSTs to
 * the same url), on the globals a browser has.
 */
import { expect } from 'vitest'
import { atLeast, eventually, ofType, openSse, openWs } from './clients'

export type Transport = 'websocket' | 'sse'
export const transports: Transport[] = ['websocket', 'sse']

export interface RealtimeReader {
  /** Server frames so far, parsed (SSE: without `hello`). */
  frames(): Record<string, unknown>[]
  /** Sends frames: one message each (WebSocket), or one POST (SSE; answers its status). */
  send(...frames: unknown[]): Promise<number | undefined>
  /** Sends a raw message (WebSocket) or a raw POST body (SSE; answers the status and body). */
  sendRaw(text: string, contentType?: string): Promise<{ status: number; body: string } | undefined>
  of(type: string, channel?: string): Record<string, unknown>[]
  /** The SSE session id. */
  session: string | undefined
}

export async function connectRealtime(url: string, transport: Transport): Promise<RealtimeReader> {
  if (transport === 'websocket') {
    const ws = await openWs(url.replace(/^http/, 'ws'))
    const frames = () => ws.frames as Record<string, unknown>[]
    return {
      frames,
      session: undefined,
      send: async (...list) => (list.forEach((f) => ws.send(f)), undefined),
      sendRaw: async (text) => (ws.send(text), undefined),
      of: (type, channel) => ofType(frames(), type, channel),
    }
  }
  const sse = await openSse(url)
  expect(sse.response.status).toBe(200)
  const [first] = await atLeast(() => sse.events, 1)
  const hello = JSON.parse(first!.data) as { type: string; session: string; protocol: number }
  expect(hello).toMatchObject({ type: 'hello', protocol: 1 })
  const frames = () => sse.events.slice(1).map((e) => JSON.parse(e.data) as Record<string, unknown>)
  const post = async (body: string, contentType = 'application/json') => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body })
    return { status: response.status, body: await response.text() }
  }
  return {
    frames,
    session: hello.session,
    send: async (...list) => (await post(JSON.stringify({ session: hello.session, frames: list }))).status,
    sendRaw: post,
    of: (type, channel) => ofType(frames(), type, channel),
  }
}

/** Subscribes and waits for its `subscribed`. */
export async function subscribe(client: RealtimeReader, channel: string, since?: string) {
  const before = client.of('subscribed', channel).length
  await client.send(since === undefined ? { type: 'subscribe', channel } : { type: 'subscribe', channel, since })
  await eventually(() => expect(client.of('subscribed', channel).length).toBe(before + 1))
}

/** Waits until every frame sent before was handled: a publish to a channel nobody has answers in its turn. */
export async function settle(client: RealtimeReader) {
  const marker = `barrier-${Math.random()}`
  await client.send({ type: 'publish', channel: marker, data: 1 })
  await eventually(() => expect(client.of('error', marker)).toHaveLength(1))
}
