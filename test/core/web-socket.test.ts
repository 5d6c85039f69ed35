import { describe, expect, it, vi } from 'vitest'
import type { StandardSchema } from '../../src/core/decode'
import { RealtimeError } from '../../src/core/errors'
import { createWebSocket, webSocketKey } from '../../src/core/web-socket'
import { advance, fakeWebSockets, setupWebSocket, useFakeSocketClock } from './fake-web-socket'
import { flushMicrotasks } from './fakes'

// The engine keeps a wake-detection timer ticking every 10 s while started: never
// vi.runAllTimers() here, only advanceTimersByTime.
useFakeSocketClock()

/** connect(), and wait until the first socket exists. */
async function connected<T extends { connection: { connect(): void } }>(setup: T): Promise<T> {
  setup.connection.connect()
  await flushMicrotasks()
  return setup
}

describe('send queue', () => {
  it("returns 'sent' and writes at once while open", async () => {
    const { connection, fake } = await connected(setupWebSocket())
    fake.last.open()
    expect(connection.send('a')).toBe('sent')
    expect(fake.last.sent).toEqual(['a'])
    expect(connection.send({ b: 2 })).toBe('sent')
    expect(fake.last.sent).toEqual(['a', '{"b":2}'])
  })

  it('queues while connecting (before and after the socket exists) and flushes in order on open, before any new send', async () => {
    const { connection, fake, snap } = setupWebSocket()
    connection.connect()
    expect(connection.send('a')).toBe('queued') // the url is still being resolved
    await flushMicrotasks()
    expect(fake.sockets).toHaveLength(1)
    expect(connection.send({ n: 2 })).toBe('queued') // the socket is CONNECTING
    expect(connection.send('c')).toBe('queued')
    expect(fake.last.sent).toEqual([])
    // A send from a status listener at the moment of opening, and from the first message.
    const fromListener: string[] = []
    connection.subscribe(() => {
      if (snap().status === 'open' && fromListener.length === 0) fromListener.push(connection.send('from a status listener'))
    })
    connection.onMessage((m) => void connection.send(`re: ${String(m.data)}`))
    fake.last.open()
    expect(fromListener).toEqual(['sent'])
    expect(connection.send('d')).toBe('sent')
    fake.last.receive('hello')
    expect(fake.last.sent).toEqual(['a', '{"n":2}', 'c', 'from a status listener', 'd', 're: hello'])
  })

  it('queues while reconnecting and flushes on the next socket, exactly once', async () => {
    const { connection, fake, statuses } = await connected(setupWebSocket())
    const first = fake.last
    first.open()
    expect(connection.send('x')).toBe('sent')
    first.serverClose(1006)
    expect(connection.send('y')).toBe('queued')
    await advance(50)
    const second = fake.last
    expect(second).not.toBe(first)
    expect(connection.send('z')).toBe('queued')
    second.open()
    expect(first.sent).toEqual(['x'])
    expect(second.sent).toEqual(['y', 'z'])
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    second.serverClose(1006)
    await advance(100)
    fake.last.open()
    expect(fake.last.sent).toEqual([]) // nothing is sent twice
  })

  it('queues while paused (offline) and flushes once back online', async () => {
    const { connection, fake, env, statuses } = await connected(setupWebSocket())
    const first = fake.last
    first.open()
    env.emit('offline')
    expect(first.closeCalls).toEqual([[1000, undefined]])
    expect(connection.send('while offline')).toBe('queued')
    expect(first.sent).toEqual([])
    env.emit('online')
    await flushMicrotasks()
    expect(fake.sockets).toHaveLength(2)
    fake.last.open()
    expect(fake.last.sent).toEqual(['while offline'])
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'connecting', 'open'])
  })

  it('queues (does not hand to a CLOSING socket, which would discard it) and sends on the next socket', async () => {
    const { connection, fake } = await connected(setupWebSocket())
    const first = fake.last
    first.open()
    first.startClosing() // the server started the closing handshake
    expect(connection.send('during the handshake')).toBe('queued')
    first.serverClose(1001, 'going away')
    await advance(50)
    fake.last.open()
    expect(first.sent).toEqual([])
    expect(fake.last.sent).toEqual(['during the handshake'])
  })

  it("is bounded by maxQueued: one more is 'rejected' with an overflow error, never dropped silently", async () => {
    const { connection, fake, errors, frames, snap } = await connected(setupWebSocket({ maxQueued: 2 }))
    expect(connection.send('a')).toBe('queued')
    expect(connection.send('b')).toBe('queued')
    expect(errors).toEqual([])
    expect(connection.send('c')).toBe('rejected')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(RealtimeError)
    expect(errors[0]).toMatchObject({ kind: 'overflow', message: 'the send queue is full (2); the message was not queued' })
    frames.flush()
    expect(snap()).toMatchObject({ status: 'connecting', error: errors[0] })
    expect(connection.send('d')).toBe('rejected')
    expect(errors).toHaveLength(2)
    fake.last.open()
    expect(fake.last.sent).toEqual(['a', 'b'])
    expect(snap().error).toBeNull() // a fresh socket starts clean
    expect(connection.send('e')).toBe('sent') // the bound is on the queue, not on sends
  })

  it('holds 1000 messages by default', async () => {
    const { connection, errors } = await connected(setupWebSocket())
    const results = Array.from({ length: 1001 }, (_, i) => connection.send(i))
    expect(results.filter((r) => r === 'queued')).toHaveLength(1000)
    expect(results[1000]).toBe('rejected')
    expect(errors.map((e) => e.message)).toEqual(['the send queue is full (1000); the message was not queued'])
  })

  it('maxQueued 0 refuses every send that cannot go out at once', async () => {
    const { connection, fake } = await connected(setupWebSocket({ maxQueued: 0 }))
    expect(connection.send('early')).toBe('rejected')
    fake.last.open()
    expect(connection.send('now')).toBe('sent')
    expect(fake.last.sent).toEqual(['now'])
  })

  it('close() returns exactly the still-queued messages (as given, not serialized), which are never sent', async () => {
    const { connection, fake } = await connected(setupWebSocket())
    const object = { type: 'say', text: 'hi' }
    const bytes = new Uint8Array([1, 2, 3])
    connection.send(object)
    connection.send('text')
    connection.send(bytes)
    const left = connection.close()
    expect(left).toEqual([object, 'text', bytes])
    expect(left[0]).toBe(object)
    expect(left[2]).toBe(bytes)
    expect(fake.last.closeCalls).toEqual([[1000, undefined]])
    expect(connection.close()).toEqual([])
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    expect(fake.allSent()).toEqual([])
  })

  it('close() on an open socket with nothing queued returns []', async () => {
    const { connection, fake } = await connected(setupWebSocket())
    fake.last.open()
    connection.send('sent already')
    expect(connection.close()).toEqual([])
  })
})

describe('onReopen', () => {
  interface Seq {
    seq: number
  }

  it('runs only when a socket after the first opens, with the last decoded message and the attempt; its messages go before the queue', async () => {
    const onReopen = vi.fn(({ lastMessage }: { lastMessage: Seq | undefined; attempt: number }) => [{ type: 'resume', after: lastMessage?.seq }])
    const { connection, fake, messages, snap } = await connected(setupWebSocket<Seq>({ json: true, onReopen }))
    connection.send({ type: 'hello' })
    fake.last.open()
    expect(onReopen).not.toHaveBeenCalled()
    expect(fake.last.sent).toEqual(['{"type":"hello"}'])
    fake.last.receive('{"seq":1}')
    fake.last.receive('{"seq":2}')
    fake.last.receive('not json') // not a message: lastMessage stays seq 2
    fake.last.serverClose(1006)
    connection.send({ type: 'say', text: 'queued' })
    await advance(50)
    const order: string[] = []
    connection.subscribe(() => {
      if (snap().status === 'open' && order.length === 0) order.push(connection.send({ type: 'after open' }))
    })
    fake.last.open()
    expect(onReopen).toHaveBeenCalledTimes(1)
    expect(onReopen.mock.calls[0]![0]).toEqual({ lastMessage: { seq: 2 }, attempt: 1 })
    expect(onReopen.mock.calls[0]![0].lastMessage).toBe(messages[1]!.data) // the decoded data itself
    expect(fake.last.sent).toEqual(['{"type":"resume","after":2}', '{"type":"say","text":"queued"}', '{"type":"after open"}'])
    // A second drop before minUptime: attempt 2.
    fake.last.receive('{"seq":3}')
    fake.last.serverClose(1012)
    await advance(100)
    fake.last.open()
    expect(onReopen).toHaveBeenCalledTimes(2)
    expect(onReopen.mock.calls[1]![0]).toEqual({ lastMessage: { seq: 3 }, attempt: 2 })
    expect(fake.last.sent).toEqual(['{"type":"resume","after":3}'])
  })

  it('resume: a socket that picks up a stream another socket was on runs onReopen on its first open, with that lastMessage', async () => {
    const onReopen = vi.fn(({ lastMessage }: { lastMessage: Seq | undefined; attempt: number }) => [{ type: 'resume', after: lastMessage?.seq }])
    const { connection, fake } = await connected(setupWebSocket<Seq>({ json: true, onReopen, resume: { lastMessage: { seq: 41 } } }))
    connection.send({ type: 'queued' })
    fake.last.open()
    expect(onReopen.mock.calls).toEqual([[{ lastMessage: { seq: 41 }, attempt: 0 }]])
    expect(fake.last.sent).toEqual(['{"type":"resume","after":41}', '{"type":"queued"}'])
    // Later sockets resume from what this one received.
    fake.last.receive('{"seq":42}')
    fake.last.serverClose(1006)
    await advance(50)
    fake.last.open()
    expect(onReopen.mock.calls[1]![0]).toEqual({ lastMessage: { seq: 42 }, attempt: 1 })
  })

  it('resume is not part of the stream key: a tab that takes over joins the same stream', () => {
    expect(webSocketKey('wss://x', { resume: { lastMessage: 1 } })).toBe(webSocketKey('wss://x'))
  })

  it('gets lastMessage undefined when nothing arrived, and may return nothing', async () => {
    const onReopen = vi.fn(() => undefined)
    const { connection, fake } = await connected(setupWebSocket({ onReopen }))
    fake.last.open()
    fake.last.serverClose(1006)
    connection.send('queued')
    await advance(50)
    fake.last.open()
    expect(onReopen.mock.calls).toEqual([[{ lastMessage: undefined, attempt: 1 }]])
    expect(fake.last.sent).toEqual(['queued'])
  })

  it('runs on a reopen after a pause (attempt 0) and after close() + connect()', async () => {
    const onReopen = vi.fn(() => ['resume'])
    const { connection, fake, env } = await connected(setupWebSocket({ onReopen }))
    fake.last.open()
    fake.last.receive('m1')
    env.emit('offline')
    env.emit('online')
    await flushMicrotasks()
    fake.last.open()
    connection.close()
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    expect(onReopen.mock.calls).toEqual([[{ lastMessage: 'm1', attempt: 0 }], [{ lastMessage: 'm1', attempt: 0 }]])
    expect(fake.sockets.map((s) => s.sent)).toEqual([[], ['resume'], ['resume']])
  })
})

describe('heartbeat', () => {
  it('pings every interval, only while a socket is open', async () => {
    const { connection, fake } = await connected(setupWebSocket({ heartbeat: { interval: 1000, timeout: 5000 } }))
    // The fake throws on a send while CONNECTING (as a browser does): a ping now would fail the test.
    await advance(3000)
    const first = fake.last
    first.open()
    await advance(999)
    expect(first.sent).toEqual([])
    await advance(1)
    expect(first.sent).toEqual(['ping'])
    first.receive('pong')
    await advance(1000)
    expect(first.sent).toEqual(['ping', 'ping'])
    first.serverClose(1006)
    await advance(50)
    const second = fake.last
    await advance(3000) // connecting: no ping anywhere
    expect(first.sent).toEqual(['ping', 'ping'])
    second.open()
    await advance(1000)
    expect(second.sent).toEqual(['ping'])
    connection.close()
    await advance(10_000)
    expect(first.sent).toHaveLength(2)
    expect(second.sent).toHaveLength(1)
  })

  it("defaults to 'ping' every 25 s", async () => {
    const { fake } = await connected(setupWebSocket({ heartbeat: {} }))
    fake.last.open()
    await advance(24_999)
    expect(fake.last.sent).toEqual([])
    await advance(1)
    expect(fake.last.sent).toEqual(['ping'])
  })

  it('sends the message as a value (serialized like any send) or builds each one with a function', async () => {
    let n = 0
    const built = await connected(setupWebSocket({ heartbeat: { interval: 100, timeout: 10_000, message: () => ({ type: 'ping', n: ++n }) } }))
    const valued = await connected(setupWebSocket({ heartbeat: { interval: 100, timeout: 10_000, message: { type: 'ping' } } }))
    built.fake.last.open()
    valued.fake.last.open()
    await advance(300)
    expect(built.fake.last.sent).toEqual(['{"type":"ping","n":1}', '{"type":"ping","n":2}', '{"type":"ping","n":3}'])
    expect(valued.fake.last.sent).toEqual(['{"type":"ping"}', '{"type":"ping"}', '{"type":"ping"}'])
  })

  it('keeps the socket alive on pongs, which never reach onMessage, data or snapshot listeners', async () => {
    const { fake, frames, statuses, messages, errors, snap } = await connected(setupWebSocket({ json: true, heartbeat: { interval: 1000, timeout: 1500 } }))
    fake.last.open()
    const notified = statuses.length
    for (let i = 0; i < 20; i++) {
      await advance(1000)
      fake.last.receive('pong')
    }
    expect(fake.sockets).toHaveLength(1)
    expect(fake.last.sent).toHaveLength(20)
    expect(messages).toEqual([])
    expect(errors).toEqual([]) // 'pong' is not JSON: it was never decoded
    expect(frames.scheduled).toBe(0)
    expect(statuses).toHaveLength(notified)
    expect(snap()).toMatchObject({ status: 'open', data: undefined, error: null })
  })

  it('takes a custom isPong (and then the default no longer applies)', async () => {
    const isPong = vi.fn((data: unknown) => data === '{"type":"pong"}')
    const { fake, messages } = await connected(setupWebSocket({ heartbeat: { interval: 1000, timeout: 1500, isPong } }))
    fake.last.open()
    for (let i = 0; i < 5; i++) {
      await advance(1000)
      fake.last.receive('{"type":"pong"}')
    }
    fake.last.receive('pong')
    expect(fake.sockets).toHaveLength(1)
    expect(messages.map((m) => m.data)).toEqual(['pong'])
    expect(isPong).toHaveBeenCalledTimes(6)
  })

  it('counts any message as liveness', async () => {
    const { fake, messages } = await connected(setupWebSocket({ heartbeat: { interval: 1000, timeout: 1500 } }))
    fake.last.open()
    for (let i = 0; i < 5; i++) {
      await advance(1000)
      fake.last.receive(`update ${i}`)
    }
    expect(fake.sockets).toHaveLength(1)
    expect(messages).toHaveLength(5)
  })

  it('closes and replaces a socket that sent nothing at all for `timeout`, with a timeout error', async () => {
    const { fake, statuses, errors, snap } = await connected(setupWebSocket({ heartbeat: { interval: 1000, timeout: 2500 } }))
    const first = fake.last
    first.open()
    await advance(2499)
    expect(first.sent).toEqual(['ping', 'ping'])
    expect(snap().status).toBe('open')
    await advance(1)
    expect(first.closeCalls).toEqual([[1000, undefined]])
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting'])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ kind: 'timeout', message: 'no data for 2500 ms' })
    first.receive('late') // still in its closing handshake: ignored
    await advance(50)
    expect(fake.sockets).toHaveLength(2)
    fake.last.open()
    await advance(1000)
    expect(first.sent).toHaveLength(2)
    expect(fake.last.sent).toEqual(['ping'])
    expect(snap()).toMatchObject({ status: 'open', error: null, data: undefined })
  })

  it('measures the timeout from the open, so a slow handshake does not eat into it', async () => {
    const { fake, snap } = await connected(setupWebSocket({ heartbeat: { interval: 1000, timeout: 5000 } }))
    await advance(4000)
    fake.last.open()
    await advance(4999)
    expect(snap().status).toBe('open')
    await advance(1)
    expect(snap()).toMatchObject({ status: 'reconnecting', error: { kind: 'timeout' } })
  })

  it('defaults the timeout to 2 × interval', async () => {
    const { fake, snap } = await connected(setupWebSocket({ heartbeat: { interval: 1000 } }))
    fake.last.open()
    await advance(1999)
    expect(snap().status).toBe('open')
    await advance(1)
    expect(snap()).toMatchObject({ status: 'reconnecting', error: { kind: 'timeout', message: 'no data for 2000 ms' } })
  })

  it('is off without the option: a silent socket stays open', async () => {
    const { fake, snap } = await connected(setupWebSocket())
    fake.last.open()
    await advance(60 * 60_000)
    expect(fake.last.sent).toEqual([])
    expect(fake.sockets).toHaveLength(1)
    expect(snap().status).toBe('open')
  })
})

describe('connect timeout', () => {
  it('abandons a socket that has not opened after 10 s by default, and retries', async () => {
    const { fake, statuses, errors, snap } = await connected(setupWebSocket())
    const first = fake.last
    await advance(9999)
    expect(first.closeCalls).toEqual([])
    expect(snap().status).toBe('connecting')
    await advance(1)
    expect(first.closeCalls).toHaveLength(1)
    expect(first.readyState).toBe(WebSocket.CLOSING)
    expect(errors).toEqual([expect.objectContaining({ kind: 'timeout', message: 'the socket did not open in time' })])
    expect(statuses).toEqual(['connecting', 'reconnecting'])
    await advance(50)
    expect(fake.sockets).toHaveLength(2)
    fake.last.open()
    expect(statuses).toEqual(['connecting', 'reconnecting', 'open'])
  })

  it('honours connectTimeout, and stops counting once open', async () => {
    const { fake, snap } = await connected(setupWebSocket({ connectTimeout: 300 }))
    await advance(299)
    fake.last.open()
    await advance(10_000)
    expect(fake.last.closeCalls).toEqual([])
    expect(fake.sockets).toHaveLength(1)
    expect(snap().status).toBe('open')
  })

  it('keeps retrying sockets that never open, each after connectTimeout + backoff', async () => {
    const { fake, snap } = await connected(setupWebSocket({ connectTimeout: 300 }))
    await advance(300 + 50)
    expect(fake.sockets).toHaveLength(2)
    await advance(300 + 100)
    expect(fake.sockets).toHaveLength(3)
    expect(snap()).toMatchObject({ status: 'reconnecting', attempt: 2 })
    expect(fake.sockets.map((s) => s.closeCalls.length)).toEqual([1, 1, 0])
  })
})

describe('review fixes', () => {
  it('abandons a url function that never settles after connectTimeout, and tries again', async () => {
    let calls = 0
    const url = () => (++calls === 1 ? new Promise<string>(() => {}) : 'ws://test.local/socket')
    const { connection, fake, errors, statuses } = setupWebSocket({ connectTimeout: 300 }, url)
    connection.connect()
    await advance(299)
    expect(fake.sockets).toHaveLength(0)
    await advance(1)
    expect(errors.map((e) => e.kind)).toEqual(['timeout'])
    await advance(50)
    expect(fake.sockets).toHaveLength(1)
    fake.last.open()
    expect(statuses).toEqual(['connecting', 'reconnecting', 'open'])
  })

  it('idleTimeout: undefined keeps the WebSocket default (no idle timeout without a heartbeat)', async () => {
    const { fake, snap } = await connected(setupWebSocket({ idleTimeout: undefined }))
    fake.last.open()
    await advance(10 * 60_000)
    expect(fake.sockets).toHaveLength(1)
    expect(snap()).toMatchObject({ status: 'open', error: null })
  })
})

describe('url as a function', () => {
  it('is called on every connect', async () => {
    let n = 0
    const url = vi.fn(() => `ws://test.local/socket?token=${++n}`)
    const { connection, fake } = await connected(setupWebSocket({}, url))
    fake.last.open()
    fake.last.serverClose(1006)
    await advance(50)
    connection.reconnect()
    await flushMicrotasks()
    expect(url).toHaveBeenCalledTimes(3)
    expect(fake.sockets.map((s) => s.url)).toEqual([1, 2, 3].map((i) => `ws://test.local/socket?token=${i}`))
  })

  it('may be async', async () => {
    let n = 0
    const url = vi.fn(async () => {
      await Promise.resolve()
      return `ws://test.local/socket?token=${++n}`
    })
    const { fake } = await connected(setupWebSocket({}, url))
    fake.last.open()
    fake.last.serverClose(1011)
    await advance(50)
    expect(url).toHaveBeenCalledTimes(2)
    expect(fake.sockets.map((s) => s.url)).toEqual(['ws://test.local/socket?token=1', 'ws://test.local/socket?token=2'])
  })

  it('a rejection is a network error, retried', async () => {
    const thrown = new Error('no token yet')
    const url = vi.fn<() => Promise<string>>().mockRejectedValueOnce(thrown).mockResolvedValue('ws://test.local/socket')
    const { fake, statuses, snap } = await connected(setupWebSocket({}, url))
    expect(fake.sockets).toHaveLength(0)
    expect(snap()).toMatchObject({ status: 'reconnecting', error: { kind: 'network', message: 'the socket could not be opened', cause: thrown } })
    await advance(50)
    fake.last.open()
    expect(statuses).toEqual(['connecting', 'reconnecting', 'open'])
  })

  it('a url that resolves after close() opens no socket', async () => {
    let resolve!: (href: string) => void
    const promise = new Promise<string>((r) => (resolve = r))
    const { connection, fake } = setupWebSocket({}, () => promise)
    connection.connect()
    connection.close()
    resolve('ws://test.local/late')
    await flushMicrotasks()
    expect(fake.sockets).toHaveLength(0)
  })
})

describe('outgoing: serialize', () => {
  it('sends strings, ArrayBuffers, typed arrays, DataViews and Blobs as they are, and JSON for anything else', async () => {
    const { connection, fake } = await connected(setupWebSocket())
    fake.last.open()
    const buffer = new ArrayBuffer(4)
    const bytes = new Uint8Array([1, 2])
    const floats = new Float32Array([1.5])
    const view = new DataView(buffer)
    const blob = new Blob(['blob'])
    const values: unknown[] = ['text', '', buffer, bytes, floats, view, blob, { a: [1, { b: null }] }, [1, 'two'], 42, true, null]
    for (const value of values) expect(connection.send(value)).toBe('sent')
    const sent = fake.last.sent
    expect(sent.slice(0, 7)).toEqual(['text', '', buffer, bytes, floats, view, blob])
    for (const i of [2, 3, 4, 5, 6]) expect(sent[i]).toBe(values[i]) // the same object, not a copy
    expect(sent.slice(7)).toEqual(['{"a":[1,{"b":null}]}', '[1,"two"]', '42', 'true', 'null'])
  })

  it('serializes a queued message at send time, with the same rules', async () => {
    const { connection, fake } = await connected(setupWebSocket())
    const bytes = new Uint8Array([9])
    connection.send({ n: 1 })
    connection.send(bytes)
    fake.last.open()
    expect(fake.last.sent).toEqual(['{"n":1}', bytes])
    expect(fake.last.sent[1]).toBe(bytes)
  })

  it('uses a custom serialize for every outgoing message: direct, queued, onReopen and heartbeat', async () => {
    const serialize = vi.fn((message: unknown) => `<${JSON.stringify(message)}>`)
    const { connection, fake } = await connected(
      setupWebSocket<unknown, unknown>({ serialize, onReopen: () => ['resume'], heartbeat: { interval: 1000, timeout: 10_000, message: 'hb' } }),
    )
    connection.send('queued')
    fake.last.open()
    connection.send({ direct: true })
    fake.last.serverClose(1006)
    await advance(50)
    fake.last.open()
    await advance(1000)
    expect(fake.sockets.map((s) => s.sent)).toEqual([
      ['<"queued">', '<{"direct":true}>'],
      ['<"resume">', '<"hb">'],
    ])
  })
})

describe('incoming: json, parse, schema', () => {
  interface Quote {
    symbol: string
    price: number
  }
  const quoteSchema: StandardSchema<Quote> = {
    '~standard': {
      version: 1,
      vendor: 'tabwire-test',
      validate(value) {
        const v = value as Partial<Quote> | null
        if (typeof v?.symbol !== 'string') return { issues: [{ message: 'symbol: expected a string' }] }
        if (typeof v.price !== 'number') return { issues: [{ message: 'price: expected a number' }] }
        return { value: { symbol: v.symbol, price: Math.round(v.price * 100) / 100 } }
      },
    },
  }

  it('passes text and binary data through as they are by default', async () => {
    const { fake, messages, frames, snap } = await connected(setupWebSocket())
    fake.last.open()
    const buffer = new ArrayBuffer(2)
    fake.last.receive('{"not":"parsed"}')
    fake.last.receive(buffer)
    expect(messages).toEqual([
      { data: '{"not":"parsed"}', event: 'message', id: undefined, raw: '{"not":"parsed"}' },
      { data: buffer, event: 'message', id: undefined, raw: buffer },
    ])
    expect(messages[1]!.data).toBe(buffer)
    frames.flush()
    expect(snap().data).toBe(buffer)
  })

  it('json: decodes each message; data is published once per frame', async () => {
    const { fake, messages, frames, statuses, snap } = await connected(setupWebSocket<{ n: number }>({ json: true }))
    fake.last.open()
    fake.last.receive('{"n":1}')
    fake.last.receive('{"n":2}')
    expect(messages.map((m) => [m.data, m.raw])).toEqual([
      [{ n: 1 }, '{"n":1}'],
      [{ n: 2 }, '{"n":2}'],
    ])
    expect(snap().data).toBeUndefined()
    frames.flush()
    expect(snap().data).toEqual({ n: 2 })
    expect(statuses).toEqual(['connecting', 'open', 'open'])
  })

  it('parse and schema run after json', async () => {
    const parse = vi.fn((data: unknown) => ({ ...(data as Quote), price: Number((data as { price: string }).price) }))
    const { fake, messages, errors } = await connected(setupWebSocket<Quote>({ json: true, parse, schema: quoteSchema }))
    fake.last.open()
    fake.last.receive('{"symbol":"ACME","price":"12.345"}')
    fake.last.receive('{"price":"1"}')
    expect(messages.map((m) => m.data)).toEqual([{ symbol: 'ACME', price: 12.35 }])
    expect(parse.mock.calls.map(([data]) => data)).toEqual([{ symbol: 'ACME', price: '12.345' }, { price: '1' }])
    expect(errors).toEqual([expect.objectContaining({ kind: 'parse', raw: '{"price":"1"}' })])
    expect(errors[0]!.message).toContain('symbol: expected a string')
  })

  it('parse alone turns text into data', async () => {
    const { fake, messages } = await connected(setupWebSocket<number>({ parse: (data) => Number(data) * 2 }))
    fake.last.open()
    fake.last.receive('21')
    expect(messages.map((m) => m.data)).toEqual([42])
  })

  it('invalid JSON is a parse error that keeps the raw text; the socket stays open; the next good message clears it', async () => {
    const { fake, messages, errors, frames, statuses, snap } = await connected(setupWebSocket<{ n: number }>({ json: true }))
    fake.last.open()
    fake.last.receive('{"n":1}')
    frames.flush()
    fake.last.receive('{oops')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ name: 'RealtimeError', kind: 'parse', raw: '{oops' })
    expect(errors[0]!.message).toMatch(/^bad 'message' message: SyntaxError/)
    expect(errors[0]!.cause).toBeInstanceOf(SyntaxError)
    frames.flush()
    expect(snap()).toMatchObject({ status: 'open', error: errors[0], data: { n: 1 } })
    expect(fake.last.closeCalls).toEqual([])
    expect(fake.sockets).toHaveLength(1)
    fake.last.receive('{"n":2}')
    frames.flush()
    expect(snap()).toMatchObject({ status: 'open', error: null, data: { n: 2 } })
    expect(messages.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }])
    expect(statuses).toEqual(['connecting', 'open', 'open', 'open', 'open'])
  })
})

describe('what reaches the WebSocket constructor', () => {
  it('passes the url and protocols (string or list)', async () => {
    const one = await connected(setupWebSocket({ protocols: 'chat.v2' }, 'ws://test.local/a'))
    const many = await connected(setupWebSocket({ protocols: ['chat.v2', 'chat.v1'] }, 'wss://test.local/b?x=1'))
    const none = await connected(setupWebSocket({}, 'ws://test.local/c'))
    expect([one, many, none].map((s) => [s.fake.last.url, s.fake.last.protocols])).toEqual([
      ['ws://test.local/a', 'chat.v2'],
      ['wss://test.local/b?x=1', ['chat.v2', 'chat.v1']],
      ['ws://test.local/c', undefined],
    ])
  })

  it('sets binaryType before the socket opens, on every socket; leaves the platform default otherwise', async () => {
    const buffers = await connected(setupWebSocket({ binaryType: 'arraybuffer' }))
    const plain = await connected(setupWebSocket())
    expect(buffers.fake.last.readyState).toBe(WebSocket.CONNECTING)
    expect(buffers.fake.last.binaryType).toBe('arraybuffer')
    expect(plain.fake.last.binaryType).toBe('blob')
    buffers.fake.last.open()
    buffers.fake.last.serverClose(1006)
    await advance(50)
    expect(buffers.fake.sockets.map((s) => s.binaryType)).toEqual(['arraybuffer', 'arraybuffer'])
  })

  it('uses the global WebSocket when none is injected', async () => {
    const fake = fakeWebSockets()
    vi.stubGlobal('WebSocket', fake.WebSocket)
    try {
      const connection = createWebSocket('ws://test.local/global', { environment: { current: () => [], subscribe: () => () => {} } })
      connection.connect()
      await flushMicrotasks()
      expect(fake.sockets.map((s) => s.url)).toEqual(['ws://test.local/global'])
      connection.close()
    } finally {
      vi.unstubAllGlobals()
    }
  })
})

describe('misuse and identity', () => {
  it('throws at once without a url, naming the API', () => {
    expect(() => createWebSocket('')).toThrow(new TypeError('[tabwire] createWebSocket: expected a url or a function that returns one'))
  })

  it('webSocketKey: wire options count, their order and callbacks do not', () => {
    const a = webSocketKey('ws://x/s', { protocols: ['a'], json: true, heartbeat: { interval: 5, message: 'p' }, onReopen: () => [] })
    const b = webSocketKey('ws://x/s', { heartbeat: { message: 'p', interval: 5 }, json: true, protocols: ['a'], serialize: String })
    expect(a).toBe(b)
    expect(webSocketKey('ws://x/s', { protocols: ['b'] })).not.toBe(webSocketKey('ws://x/s', { protocols: ['a'] }))
    expect(webSocketKey('ws://x/s')).not.toBe(webSocketKey('ws://x/t'))
    expect(webSocketKey('ws://x/s', { key: 'one' })).not.toBe(webSocketKey('ws://x/s', { key: 'two' }))
  })
})

describe('throwing user callbacks', () => {
  it('a throwing onReopen is reported, and the socket still opens and flushes the queue', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const boom = new Error('resume failed')
      const { connection, fake, snap } = await connected(
        setupWebSocket({
          onReopen: () => {
            throw boom
          },
        }),
      )
      fake.last.open()
      fake.last.serverClose(1006)
      connection.send('queued')
      await advance(50)
      fake.last.open()
      expect(fake.handlerErrors.splice(0)).toEqual([])
      expect(snap().status).toBe('open')
      expect(fake.last.sent).toEqual(['queued'])
      expect(consoleError.mock.calls).toEqual([[boom]])
    } finally {
      consoleError.mockRestore()
    }
  })

  it('a throwing shouldReconnect is reported and does not leave a dead socket "open"', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const boom = new Error('policy bug')
      const { fake, snap } = await connected(
        setupWebSocket({
          shouldReconnect: () => {
            throw boom
          },
        }),
      )
      fake.last.open()
      fake.last.serverClose(1006)
      expect(fake.handlerErrors.splice(0)).toEqual([])
      await advance(60_000)
      expect(snap().status).not.toBe('open')
      expect(consoleError.mock.calls).toEqual([[boom]])
    } finally {
      consoleError.mockRestore()
    }
  })
})
