/** Node WebSocket clients for the abuse tests: a polite one (`ws`) and raw TCP for broken frames. */
import { connect as tcpConnect, type Socket } from 'node:net'
import { WebSocket } from 'ws'

export interface Client {
  socket: WebSocket
  /** Every text frame received, parsed when JSON. */
  frames: unknown[]
  /** Resolves with the close code. */
  closed: Promise<number>
  /** Resolves once a frame matching `test` has arrived (rejects after `ms`). */
  waitFor(test: (frame: unknown) => boolean, ms?: number): Promise<unknown>
}

/** Opens a `ws` client to the demo's chat at `base` (`http://127.0.0.1:port`), by default with the page's origin. */
export function connectChat(base: string, options: { origin?: string } = {}): Promise<Client> {
  const url = `${base.replace(/^http/, 'ws')}/api/chat`
  const socket = new WebSocket(url, { origin: options.origin ?? base })
  const frames: unknown[] = []
  const waiters = new Set<() => void>()
  socket.on('message', (raw, isBinary) => {
    const text = isBinary ? '' : raw.toString()
    let frame: unknown = text
    try {
      frame = JSON.parse(text)
    } catch {}
    frames.push(frame)
    for (const check of [...waiters]) check()
  })
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)))
  socket.on('error', () => {})
  const client: Client = {
    socket,
    frames,
    closed,
    waitFor: (test, ms = 3000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.find(test)
          if (found === undefined) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(found)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(frames).slice(0, 300)}`))
        }, ms)
        waiters.add(check)
        check()
      }),
  }
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client))
    socket.once('error', reject)
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade answered ${response.statusCode}`)))
  })
}

/** An event frame of the room with this text. */
export const said = (text: string) => (frame: unknown) =>
  typeof frame === 'object' && frame !== null && (frame as { type?: unknown }).type === 'event' && (frame as { data?: { text?: unknown } }).data?.text === text

/** Subscribes and waits until the server confirms. */
export async function joinRoom(client: Client): Promise<void> {
  client.socket.send(JSON.stringify({ type: 'subscribe', channel: 'room' }))
  await client.waitFor((f) => (f as { type?: unknown }).type === 'subscribed')
}

/** A raw TCP socket that completed the WebSocket handshake: write any bytes you like to it. */
export function rawUpgrade(origin: string): Promise<Socket> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname)
    socket.on('error', reject)
    socket.once('connect', () =>
      socket.write(
        'GET /api/chat HTTP/1.1\r\n' +
          `Host: ${hostname}:${port}\r\nOrigin: ${origin}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    )
    let head = ''
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      socket.off('data', onData)
      if (head.startsWith('HTTP/1.1 101')) resolve(socket)
      else reject(new Error(`handshake answered ${head.split('\r\n')[0]}`))
    }
    socket.on('data', onData)
  })
}

/** One WebSocket frame, by hand (RFC 6455 §5.2). Clients must mask; `mask: false` breaks that rule. */
export function frame(opcode: number, payload: Buffer, { fin = true, rsv = 0, mask = true } = {}): Buffer {
  const length = payload.length
  const header = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff]
  const maskBit = mask ? 0x80 : 0
  if (length < 126) header.push(maskBit | length)
  else if (length < 65_536) header.push(maskBit | 126, length >> 8, length & 0xff)
  else header.push(maskBit | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
  if (!mask) return Buffer.concat([Buffer.from(header), payload])
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78])
  const body = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!))
  return Buffer.concat([Buffer.from(header), key, body])
}
