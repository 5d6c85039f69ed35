/**
 * The WebSocket transport (src/core/web-socket.ts) with Chromium's native WebSocket against
 * real `ws` servers on loopback (test/fixtures/ws-server.ts): restarts mid-conversation
 * (1012, FIN, RST), a server that goes silent without closing (heartbeat timeout), 1,000
 * messages queued through an outage, `onReopen` resume, a hung handshake (connectTimeout),
 * real offline mode, the window while the server is closing, throwing user callbacks, the
 * close-code policy, and `useWebSocket` in StrictMode. Every test has a server of its own
 * (its own port), so outages never cross tests.
 */
import { createElement, StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createRegistry } from '../../src/core/registry'
import { createWebSocket, type SendResult, type WebSocketOptions } from '../../src/core/web-socket'
import { useWebSocket } from '../../src/react/use-web-socket'
import { whileOffline } from './helpers'
import { during, recordWs, uniqueRoom, wsServer } from './ws-helpers'

/** What the tests send and get back: the server echoes `echo` messages as they are. */
interface Msg {
  type: 'echo' | 'resume'
  n?: number
  after?: number | null
  text?: string
}

/** Small backoff so retries happen within tens of ms. */
const FAST = { initialDelay: 20, maxDelay: 100 } as const

const echo = (n: number): Msg => ({ type: 'echo', n })
/** The wire text of a message, as the server records it. */
const wire = (message: Msg): string => JSON.stringify(message)
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

function open(url: string, options: WebSocketOptions<Msg, Msg> = {}) {
  const ws = createWebSocket<Msg, Msg>(url, { json: true, ...FAST, ...options })
  const rec = recordWs(ws)
  const status = () => ws.getSnapshot().status
  return { ws, rec, status }
}

describe.each([
  { mode: 'close', code: 1012, label: 'closes every socket with 1012' },
  { mode: 'abrupt', code: 1006, label: 'drops every socket without a close frame (FIN)' },
  { mode: 'reset', code: 1006, label: 'resets every socket (RST)' },
] as const)('the server restarts on the same port and $label', ({ mode, code }) => {
  it('goes open → reconnecting → open; messages sent in the outage arrive after it, once, in order; echoes flow again', async () => {
    const server = await wsServer()
    const room = uniqueRoom(`restart-${mode}`)
    const { ws, rec, status } = open(server.url(room))
    ws.connect()
    await expect.poll(status).toBe('open')
    expect([1, 2].map((n) => ws.send(echo(n)))).toEqual(['sent', 'sent'])
    await expect.poll(() => rec.messages.length).toBe(2)

    // Down until up(): the engine keeps trying and is refused while messages pile up.
    expect((await server.restart({ mode })).closed).toBe(1)
    await expect.poll(status).toBe('reconnecting')
    expect([3, 4, 5].map((n) => ws.send(echo(n)))).toEqual(['queued', 'queued', 'queued'])
    await expect.poll(() => ws.getSnapshot().attempt).toBeGreaterThanOrEqual(2)
    expect(status()).toBe('reconnecting')
    await server.up()

    await expect.poll(status).toBe('open')
    await expect.poll(() => rec.messages.length).toBe(5)
    expect(ws.send(echo(6))).toBe('sent')
    await expect.poll(() => rec.messages.length).toBe(6)
    expect(rec.messages).toEqual(range(1, 6).map(echo))

    const connections = await server.connections(room)
    expect(connections.map((c) => c.received)).toEqual([
      [1, 2].map((n) => wire(echo(n))),
      [3, 4, 5, 6].map((n) => wire(echo(n))),
    ])
    expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', 'reconnecting:network', 'open:-'])
    // The first error carries the server's close code; then connections were refused (1006).
    expect(rec.errors[0]).toEqual({ kind: 'network', status: code })
    expect(rec.errors.length).toBeGreaterThanOrEqual(2)
    expect(rec.errors.slice(1)).toEqual(rec.errors.slice(1).map(() => ({ kind: 'network', status: 1006 })))
    expect(ws.getSnapshot().error).toBeNull()
  })
})

it('closes a socket that went silent without closing (heartbeat timeout) and reconnects; pongs never reach onMessage', async () => {
  const server = await wsServer()
  const room = uniqueRoom('stall')
  const { ws, rec, status } = open(server.url(room), { heartbeat: { interval: 100, timeout: 300 } })
  ws.connect()
  await expect.poll(status).toBe('open')
  expect(ws.send(echo(1))).toBe('sent')

  // Pongs alone keep a quiet socket alive for more than twice the timeout.
  await during(700, () => rec.errors.length > 0)
  expect(rec.errors).toEqual([])
  expect(status()).toBe('open')
  const before = await server.connections(room)
  expect(before).toHaveLength(1)
  expect(before[0]!.pings).toBeGreaterThanOrEqual(5)

  const stalledAt = performance.now()
  expect((await server.stall()).stalled).toEqual([before[0]!.id])
  await expect.poll(() => rec.errors.length).toBeGreaterThanOrEqual(1)
  const detectedAfter = performance.now() - stalledAt
  expect(rec.errors[0]).toEqual({ kind: 'timeout', status: undefined })
  await expect.poll(status).toBe('open')
  expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', 'reconnecting:timeout', 'open:-'])
  // Found within the timeout (plus up to one ping interval and timer slack), not later.
  expect(detectedAfter).toBeLessThan(1000)

  // The conversation goes on over the new socket, which the pongs keep alive too.
  expect(ws.send(echo(2))).toBe('sent')
  await expect.poll(() => rec.messages.length).toBe(2)
  await during(400, () => rec.errors.length > 1)
  expect(rec.errors).toHaveLength(1)
  expect(status()).toBe('open')

  const after = await server.connections(room)
  expect(after).toHaveLength(2)
  const [dead, fresh] = after as [(typeof after)[0], (typeof after)[0]]
  expect(dead.stalled).toBe(true)
  // The server never closed the dead socket: it was still open when the new one came.
  expect(dead.closedAt ?? Infinity).toBeGreaterThanOrEqual(fresh.openedAt)
  expect(dead.received).toEqual([wire(echo(1))])
  expect(fresh.received).toEqual([wire(echo(2))])
  expect(fresh.pings).toBeGreaterThanOrEqual(3)
  // Only the echoes were messages: no pong ever reached onMessage (or the data).
  expect(rec.messages).toEqual([echo(1), echo(2)])
  expect(ws.getSnapshot().data).toEqual(echo(2))
})

it('delivers 1,000 messages queued while the server is down exactly once, in order, after it returns', async () => {
  const server = await wsServer()
  const room = uniqueRoom('queue')
  const { ws, rec, status } = open(server.url(room), { maxQueued: 1000 })
  ws.connect()
  await expect.poll(status).toBe('open')
  expect(ws.send(echo(0))).toBe('sent')
  await expect.poll(() => rec.messages.length).toBe(1)

  await server.restart({ mode: 'abrupt' })
  await expect.poll(status).toBe('reconnecting')
  const batch = range(1, 1000).map(echo)
  const results = batch.map((message) => ws.send(message))
  expect(results.filter((r) => r === 'queued')).toHaveLength(1000)
  // The bound holds: the next one is refused out loud, not dropped or queued.
  expect(ws.send(echo(1001))).toBe('rejected')
  expect(rec.errors.at(-1)?.kind).toBe('overflow')
  await server.up()

  await expect.poll(async () => (await server.received(room)).length).toBe(1001)
  await expect.poll(() => rec.messages.length).toBe(1001)
  const connections = await server.connections(room)
  expect(connections).toHaveLength(2)
  expect(connections[1]!.received).toEqual(batch.map(wire))
  expect(await server.received(room)).toEqual([echo(0), ...batch].map(wire))
  // The echoes came back, once each, in order.
  expect(rec.messages).toEqual([echo(0), ...batch])
  // Sends after the flush go straight out, after the queued ones.
  expect(ws.send(echo(1002))).toBe('sent')
  await expect.poll(async () => (await server.received(room)).at(-1)).toBe(wire(echo(1002)))
})

it('close() while down hands back the queued messages and sends none of them', async () => {
  const server = await wsServer()
  const room = uniqueRoom('close-queue')
  const { ws, status } = open(server.url(room))
  ws.connect()
  await expect.poll(status).toBe('open')
  await server.restart({ mode: 'close' })
  await expect.poll(status).toBe('reconnecting')
  expect([1, 2, 3].map((n) => ws.send(echo(n)))).toEqual(['queued', 'queued', 'queued'])
  expect(ws.close()).toEqual([1, 2, 3].map(echo))
  expect(status()).toBe('closed')
  await server.up()
  // No retry would come later than maxDelay (100 ms) after up: there is none.
  await during(150)
  expect(await server.connections(room)).toHaveLength(1)
  expect(await server.received(room)).toEqual([])
})

it('onReopen: the first message on the new socket is the resume built from lastMessage, before the queued ones', async () => {
  const server = await wsServer()
  const room = uniqueRoom('resume')
  const calls: { lastMessage: Msg | undefined; attempt: number }[] = []
  const { ws, rec, status } = open(server.url(room), {
    onReopen: (info) => {
      calls.push(info)
      return [{ type: 'resume', after: info.lastMessage?.n ?? null }]
    },
  })
  ws.connect()
  await expect.poll(status).toBe('open')
  expect([1, 2, 3].map((n) => ws.send(echo(n)))).toEqual(['sent', 'sent', 'sent'])
  await expect.poll(() => rec.messages.length).toBe(3)

  await server.restart({ mode: 'close' })
  await expect.poll(status).toBe('reconnecting')
  expect([4, 5].map((n) => ws.send(echo(n)))).toEqual(['queued', 'queued'])
  await server.up()
  await expect.poll(status).toBe('open')
  expect(ws.send(echo(6))).toBe('sent')
  await expect.poll(() => rec.messages.length).toBe(6)

  const connections = await server.connections(room)
  // Not on the first socket; once on the new one, first, with the last message seen.
  expect(connections.map((c) => c.received)).toEqual([
    [1, 2, 3].map((n) => wire(echo(n))),
    [wire({ type: 'resume', after: 3 }), ...[4, 5, 6].map((n) => wire(echo(n)))],
  ])
  expect(calls).toHaveLength(1)
  expect(calls[0]!.lastMessage).toEqual(echo(3))
  expect(calls[0]!.attempt).toBeGreaterThanOrEqual(1)
  expect(rec.messages).toEqual(range(1, 6).map(echo))
})

it('abandons a handshake the server never answers after connectTimeout, then connects', async () => {
  const server = await wsServer()
  const room = uniqueRoom('hang')
  await server.hang(1)
  const { ws, rec, status } = open(server.url(room), { connectTimeout: 250 })
  expect(ws.send(echo(1))).toBe('queued')
  const startedAt = performance.now()
  ws.connect()
  await expect.poll(() => rec.errors.length).toBe(1)
  const failedAfter = performance.now() - startedAt
  expect(rec.errors[0]).toEqual({ kind: 'timeout', status: undefined })
  expect(failedAfter).toBeGreaterThanOrEqual(240)
  expect(failedAfter).toBeLessThan(1000)
  await expect.poll(status).toBe('open')
  await expect.poll(() => rec.messages).toEqual([echo(1)])
  expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'reconnecting:timeout', 'open:-'])
  const stats = await server.stats()
  expect(stats.hung).toBe(1)
  expect(stats.connections.map((c) => c.received)).toEqual([[wire(echo(1))]])
})

it('pauses while the browser is offline (closing the socket), queues sends, and flushes them once online', async () => {
  const server = await wsServer()
  const room = uniqueRoom('offline')
  const { ws, rec, status } = open(server.url(room))
  ws.connect()
  await expect.poll(status).toBe('open')
  expect(ws.send(echo(1))).toBe('sent')
  await expect.poll(() => rec.messages.length).toBe(1)

  const results: SendResult[] = []
  const { onAt } = await whileOffline(500, async () => {
    // Nothing in here may await the fixture server or a command: the page is offline.
    await expect.poll(status, { timeout: 400, interval: 5 }).toBe('paused')
    results.push(...[2, 3, 4].map((n) => ws.send(echo(n))))
  })
  expect(results).toEqual(['queued', 'queued', 'queued'])
  await expect.poll(status).toBe('open')
  await expect.poll(() => rec.messages.length).toBe(4)
  expect(rec.messages).toEqual(range(1, 4).map(echo))
  // Back online is not a failure: straight to connecting, no error, no backoff.
  expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', 'paused:-', 'connecting:-', 'open:-'])
  expect(rec.errors).toEqual([])

  // The engine closed the old socket itself (1000; the frame may wait for the network).
  await expect.poll(async () => (await server.connections(room))[0]?.closeCode).toBe(1000)
  const connections = await server.connections(room)
  expect(connections.map((c) => c.received)).toEqual([[wire(echo(1))], [2, 3, 4].map((n) => wire(echo(n)))])
  expect(connections[1]!.openedAt).toBeGreaterThanOrEqual(onAt)
})

describe('while the server is closing the socket', () => {
  it('a send after the page saw the close frame (readyState CLOSING, status still open) is queued and arrives on the next socket', async () => {
    const server = await wsServer()
    const room = uniqueRoom('closing')
    const sockets: WebSocket[] = []
    class Tracked extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols)
        sockets.push(this)
      }
    }
    const { ws, rec, status } = open(server.url(room), { WebSocket: Tracked })
    ws.connect()
    await expect.poll(status).toBe('open')
    expect(ws.send(echo(1))).toBe('sent')
    await expect.poll(() => rec.messages.length).toBe(1)

    // The server says goodbye but never finishes the handshake: Chromium keeps the socket
    // CLOSING (for about 2 s) and fires no event the engine could act on.
    await server.closeAll(4000, 'going', { hold: true })
    await expect.poll(() => sockets[0]!.readyState).toBe(WebSocket.CLOSING)
    expect(status()).toBe('open')
    expect([2, 3].map((n) => ws.send(echo(n)))).toEqual(['queued', 'queued'])
    // Then the server process goes for good (FIN), and comes back.
    await server.restart({ mode: 'abrupt', after: 0 })

    await expect.poll(() => rec.messages.length).toBe(3)
    expect(rec.messages).toEqual(range(1, 3).map(echo))
    expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', 'reconnecting:network', 'open:-'])
    expect((await server.connections(room)).map((c) => c.received)).toEqual([[wire(echo(1))], [2, 3].map((n) => wire(echo(n)))])
  })

  // Chromium keeps readyState OPEN for a moment after the server's close frame arrived and
  // discards what the page sends meanwhile, so 'sent' means "handed to the open socket", not
  // "delivered" (documented on send()). No socket API can close that window; acknowledgements
  // can: keep what was sent until the server answers, and send the rest again from onReopen.
  it("a send racing the server's close can be lost; acknowledgements re-sent from onReopen deliver it", async () => {
    const server = await wsServer()
    const room = uniqueRoom('acked')
    const unacked = new Map<number, Msg>()
    const { ws, rec, status } = open(server.url(room), { onReopen: () => [...unacked.values()] })
    ws.onMessage((m) => void unacked.delete(m.data.n!))
    ws.connect()
    await expect.poll(status).toBe('open')

    await server.closeAll(1012, 'restart', { delay: 10 })
    // Keep the page's main thread busy while the close frame arrives.
    const until = performance.now() + 250
    while (performance.now() < until);
    expect(status()).toBe('open')
    for (const n of [1, 2, 3]) {
      unacked.set(n, echo(n))
      expect(ws.send(echo(n))).toBe('sent')
    }
    await expect.poll(() => rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', 'reconnecting:network', 'open:-'])
    await expect.poll(() => unacked.size).toBe(0)
    const received = await server.received(room)
    expect(new Set(received)).toEqual(new Set([1, 2, 3].map((n) => wire(echo(n)))))
  })
})

describe('a throwing user callback (design rule 9: it never breaks delivery)', () => {
  /**
   * Collects uncaught errors from the page. With a listener of its own, Vitest logs them
   * (console.error) instead of failing the run; the test asserts what was caught.
   */
  function catchUncaught(): unknown[] {
    const caught: unknown[] = []
    const listener = (event: ErrorEvent) => void caught.push(event.error)
    window.addEventListener('error', listener)
    onTestFinished(() => window.removeEventListener('error', listener))
    return caught
  }

  // A throwing onReopen is reported (reportError) and skipped; it must not hold the stream.
  it('onReopen throws: the new socket still opens and the queue is still sent', async () => {
    const caught = catchUncaught()
    const server = await wsServer()
    const room = uniqueRoom('reopen-throws')
    const { ws, status } = open(server.url(room), {
      onReopen: () => {
        throw new Error('onReopen failed')
      },
    })
    ws.connect()
    await expect.poll(status).toBe('open')
    await server.restart({ mode: 'close' })
    await expect.poll(status).toBe('reconnecting')
    expect(ws.send(echo(1))).toBe('queued')
    await server.up()
    await expect.poll(async () => (await server.connections(room)).length).toBe(2)
    await expect.poll(() => caught.map(String)).toEqual(['Error: onReopen failed'])
    await expect.poll(status, { timeout: 300 }).toBe('open')
    await expect.poll(() => server.received(room)).toEqual([wire(echo(1))])
  })

  // A throwing shouldReconnect is reported and the close-code table decides.
  it('shouldReconnect throws: the close is still seen, and the close-code table decides', async () => {
    const caught = catchUncaught()
    const server = await wsServer()
    const room = uniqueRoom('should-reconnect-throws')
    const { ws, rec, status } = open(server.url(room), {
      shouldReconnect: () => {
        throw new Error('shouldReconnect failed')
      },
    })
    ws.connect()
    await expect.poll(status).toBe('open')
    await server.restart({ mode: 'close', after: 0 })
    await expect.poll(() => caught.map(String)).toEqual(['Error: shouldReconnect failed'])
    await expect.poll(async () => (await server.connections(room))[0]?.closedAt ?? null).not.toBeNull()
    await expect.poll(() => rec.steps, { timeout: 300 }).toEqual(['idle:-', 'connecting:-', 'open:-', 'reconnecting:network', 'open:-'])
  })
})

describe('close codes from a real server', () => {
  it.each([1000, 1001, 1011, 1012, 1013, 4000, 4408, 4429])('%i: reconnects', async (code) => {
    const server = await wsServer()
    const room = uniqueRoom(`code-${code}`)
    const { ws, rec, status } = open(server.url(room))
    ws.connect()
    await expect.poll(status).toBe('open')
    await server.closeAll(code, 'bye')
    await expect.poll(async () => (await server.connections(room)).length).toBe(2)
    await expect.poll(status).toBe('open')
    expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', 'reconnecting:network', 'open:-'])
    expect(rec.errors).toEqual([{ kind: 'network', status: code }])
  })

  it.each([
    [1008, 'protocol'],
    [1003, 'protocol'],
    [4400, 'protocol'],
    [4401, 'auth'],
    [4403, 'auth'],
  ] as const)('%i: stops with a final %s error and does not reconnect', async (code, kind) => {
    const server = await wsServer()
    const room = uniqueRoom(`code-${code}`)
    const { ws, rec, status } = open(server.url(room))
    ws.connect()
    await expect.poll(status).toBe('open')
    await server.closeAll(code, 'no')
    await expect.poll(status).toBe('closed')
    expect(ws.getSnapshot().error).toMatchObject({ kind, status: code })
    expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', `closed:${kind}`])
    // A retry would come within initialDelay (20 ms): there is none.
    await during(100)
    expect(await server.connections(room)).toHaveLength(1)
  })
})

describe('useWebSocket in StrictMode (react-dom/client)', () => {
  // No linger, so unmounting closes the socket at once (the default lingers 1 s).
  const registry = createRegistry({ linger: 0 })

  function Chat({ url, onSend }: { url: string; onSend: (result: SendResult) => void }) {
    // Inline options on purpose: a new object on every render.
    const chat = useWebSocket<Msg, Msg>(url, { json: true, ...FAST, registry })
    return createElement(
      'div',
      null,
      createElement('output', { 'data-state': chat.status }, chat.data?.text ? `echo: ${chat.data.text}` : 'waiting'),
      createElement('button', { onClick: () => onSend(chat.send({ type: 'echo', text: 'hello' })) }, 'send'),
    )
  }

  it('opens one socket, renders the echo, keeps the socket across re-renders and closes it on unmount', async () => {
    const server = await wsServer()
    const room = uniqueRoom('hook')
    const url = server.url(room)
    const results: SendResult[] = []
    const container = document.createElement('div')
    document.body.append(container)
    const root = createRoot(container)
    onTestFinished(() => {
      root.unmount()
      container.remove()
    })
    const render = () => root.render(createElement(StrictMode, null, createElement(Chat, { url, onSend: (r: SendResult) => results.push(r) })))
    render()
    const output = () => container.querySelector('output')
    await expect.poll(() => output()?.dataset.state).toBe('open')

    container.querySelector('button')!.click()
    await expect.poll(() => output()?.textContent).toBe('echo: hello')
    expect(results).toEqual(['sent'])
    render()
    render()
    await during(100)

    const connections = await server.connections(room)
    expect(connections).toHaveLength(1)
    expect(connections[0]!.closedAt).toBeNull()
    expect(connections[0]!.received).toEqual([wire({ type: 'echo', text: 'hello' })])

    root.unmount()
    await expect.poll(async () => (await server.connections(room))[0]!.closeCode).toBe(1000)
    expect(await server.connections(room)).toHaveLength(1)
  })
})
