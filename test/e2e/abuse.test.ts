import { type ChildProcess, spawn } from 'node:child_process'
import { connect as tcpConnect } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Demo } from '../../demo/server.ts'
import { appUrl, chatCounts, expectExactlyOnceInOrder, idCount, launchChromium, openApp, recording, startTestDemo } from './helpers.ts'
import { type Client, connectChat, frame, joinRoom, rawUpgrade, said } from './ws-client.ts'

const MAX_PAYLOAD = 16_384 // the demo's chat limit

/** Frames that are well-formed WebSockets but bad messages: each must get an `error` frame. */
const BAD_MESSAGES: (string | Buffer)[] = [
  'not json',
  '{',
  '{"type":',
  '',
  'null',
  '42',
  '"a string"',
  '[]',
  '{}',
  '{"type":"subscribe"}',
  '{"type":"subscribe","channel":{}}',
  '{"type":"subscribe","channel":"nope"}',
  '{"type":"subscribe","channel":"__proto__"}',
  '{"type":"subscribe","channel":"room","since":{}}',
  '{"type":"publish","channel":"nope","data":1}',
  '{"type":"publish","channel":"toString","data":1}',
  '{"type":"publish","channel":"constructor","data":1}',
  '{"type":"hack","channel":"room"}',
  `${'['.repeat(4000)}${']'.repeat(4000)}`,
  Buffer.from([0x00, 0xff, 0x13, 0x37, 0x7b]),
]

/** Publishes that are valid protocol but hostile content for the pages that show them. */
const HOSTILE_POSTS: unknown[] = [
  null,
  '<img src=x onerror="window.__xss=1">',
  { from: { toString: 1 }, text: ['not', 'text'] },
  { from: '<script>window.__xss=1</script>', text: '<img src=x onerror="window.__xss=1">', cid: 'hostile' },
  { text: 'x'.repeat(3000) },
]

describe('the server under abuse (in process, with a page watching)', () => {
  let demo: Demo
  let browser: Browser
  beforeAll(async () => {
    ;[demo, browser] = await Promise.all([startTestDemo(), launchChromium()])
  })
  afterAll(async () => {
    await browser?.close()
    await demo?.close()
  })

  it('survives a burst of malformed messages and bad handshakes, and its other clients go on receiving', async () => {
    const context = await browser.newContext()
    // What this test watches is the server; the page's idle timeout (1 s in the other e2e
    // tests, which time it) is a budget a page starved by a loaded machine can miss.
    const { page, errors } = await openApp(context, appUrl(demo, { name: 'watcher', idle: 5000 }))
    const origin = demo.url.slice(0, -1)
    const before = (await recording(page)).ids.quotes.length

    // 10 clients at once, every bad message from each, then the hostile posts.
    const abusers = await Promise.all(Array.from({ length: 10 }, () => connectChat(origin)))
    for (const abuser of abusers) for (const message of BAD_MESSAGES) abuser.socket.send(message)
    for (const data of HOSTILE_POSTS) abusers[0]!.socket.send(JSON.stringify({ type: 'publish', channel: 'room', data }))
    // Bad handshakes and plain garbage on the HTTP port.
    const refused = await Promise.all([
      connectChat(origin, { origin: 'http://evil.example' }).then(() => 'accepted', (e: Error) => e.message),
      // No Sec-WebSocket-Key.
      rawHttp(origin, `GET /api/chat HTTP/1.1\r\nHost: x\r\nOrigin: ${origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`),
      rawHttp(origin, 'GET /api/nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
      rawHttp(origin, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n'),
    ])
    expect(refused[0]).toBe('upgrade answered 403')
    expect(refused.slice(1).map((r) => r.split('\r\n')[0])).toEqual(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 404 Not Found', 'HTTP/1.1 400 Bad Request'])

    // Every bad message was answered with an error frame, on a socket that stayed open.
    const errorFrames = (c: Client) => c.frames.filter((f) => (f as { type?: unknown }).type === 'error').length
    await expect.poll(() => abusers.map(errorFrames)).toEqual(abusers.map(() => BAD_MESSAGES.length))
    expect(abusers.every((a) => a.socket.readyState === a.socket.OPEN)).toBe(true)

    // The server still serves, and the page still receives: quotes flow, a polite client's message arrives.
    expect((await fetch(`${origin}/api/admin/stats`)).status).toBe(200)
    const polite = await connectChat(origin)
    polite.socket.send(JSON.stringify({ type: 'publish', channel: 'room', data: { from: 'polite', text: 'still here', cid: 'p1' } }))
    await expect.poll(async () => chatCounts(await recording(page), ['still here'])).toEqual([1])
    await expect.poll(() => idCount(page, 'quotes')).toBeGreaterThan(before + 10)
    const rec = await recording(page)
    expectExactlyOnceInOrder(rec.ids.quotes, 'quotes')
    expectExactlyOnceInOrder(rec.ids.chat, 'chat')
    expect(rec.errors).toEqual([])
    // Hostile posts were shown as text, nothing ran, and the page did not break.
    const chat = page.getByTestId('chat')
    await expect.poll(() => chat.innerText()).toContain('<script>window.__xss=1</script>: <img src=x onerror="window.__xss=1">')
    expect(await chat.locator('img, script').count()).toBe(0)
    expect(await page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined()
    expect(errors).toEqual([])
    for (const client of [...abusers, polite]) client.socket.close()
    await context.close()
  })
})

describe('the server under abuse (demo/server.ts in a child process, as `npm start` runs it)', () => {
  let child: ChildProcess
  let origin: string
  let output = ''
  let listener: Client
  beforeAll(async () => {
    child = spawn(process.execPath, [fileURLToPath(new URL('../../demo/server.ts', import.meta.url)), '--port', '0', '--dist', inject('demoDist')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    origin = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk
        const url = /tabwire demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1]
        if (url) resolve(url)
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('exit', (code) => reject(new Error(`the server exited (${code}):\n${output}`)))
    })
    listener = await connectChat(origin)
    await joinRoom(listener)
  })
  afterAll(() => {
    listener?.socket.terminate()
    if (child.exitCode === null) child.kill()
  })

  it('serves the app when started from the command line', async () => {
    const page = await fetch(`${origin}/`)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())![1]!
    expect((await fetch(origin + script)).headers.get('content-type')).toBe('text/javascript; charset=utf-8')
  })

  // `ws` reports a bad frame by closing the socket with the right code, then emitting
  // 'error': the server must hear it, or one oversized message would end the process.
  it('survives oversized payloads and protocol-breaking frames, and its other clients go on receiving', async () => {
    const big = 'x'.repeat(MAX_PAYLOAD + 1)
    // Frames that break RFC 6455, written by hand on raw sockets.
    const broken = [
      frame(0x1, Buffer.from([0xc3, 0x28])), // invalid UTF-8 in a text frame
      frame(0x1, Buffer.from('unmasked'), { mask: false }), // clients must mask
      frame(0x3, Buffer.from('reserved opcode')),
      frame(0x1, Buffer.from('rsv1 without an extension'), { rsv: 4 }),
      frame(0x9, Buffer.from('fragmented ping'), { fin: false }),
      frame(0x8, Buffer.from([0x03, 0xe7])), // close code 999
    ]
    // Every abuser connects first, then all send at once.
    const [oversized, raws] = await Promise.all([Promise.all([0, 1, 2].map(() => connectChat(origin))), Promise.all(broken.map(() => rawUpgrade(origin)))])
    const rawClosed = raws.map((socket) => new Promise((resolve) => socket.once('close', resolve)))
    oversized[0]!.socket.send(big) // over the limit as text
    oversized[1]!.socket.send(Buffer.alloc(MAX_PAYLOAD * 4)) // as binary
    oversized[2]!.socket.send(JSON.stringify({ type: 'publish', channel: 'room', data: { text: big } })) // as a chat message
    raws.forEach((socket, i) => socket.write(broken[i]!))
    const codes = await Promise.all(oversized.map((c) => c.closed))
    await Promise.all(rawClosed)

    // The others go on: a polite message still reaches the listener, the HTTP side answers.
    const served = async () => {
      const polite = await connectChat(origin)
      polite.socket.send(JSON.stringify({ type: 'publish', channel: 'room', data: { from: 'polite', text: 'after the burst', cid: 'p2' } }))
      await listener.waitFor(said('after the burst'))
      polite.socket.close()
      return (await fetch(`${origin}/api/admin/stats`)).status
    }
    const status = await served().catch((error: Error) => `${error.message}; exit code ${child.exitCode}; server output:\n${output}`)
    expect(status).toBe(200)
    // Each over-limit sender was told why (1009 Message Too Big).
    expect(codes).toEqual([1009, 1009, 1009])
  })
})

/** Writes raw bytes to the HTTP port and resolves with whatever comes back before it closes. */
function rawHttp(origin: string, request: string): Promise<string> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve) => {
    const socket = tcpConnect(Number(port), hostname, () => socket.write(Buffer.from(request, 'latin1')))
    let answer = ''
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')))
    socket.on('error', () => resolve(answer))
    socket.on('close', () => resolve(answer))
    socket.setTimeout(3000, () => socket.destroy())
  })
}
