/**
 * The fault controls of the mocks, driven from a test as an app's test would, with raw
 * clients (the globals `fetch` and `WebSocket`) and hand-cranked mock timers for latency
 * and flood pacing. Every wait is on a condition, never on a fixed time.
 */
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryLog } from '../../src/server/log'
import { type MockTimers, mockRealtimeHandler, mockSseHandler, mockWebSocketHandler } from '../../src/testing/mocks'
import { atLeast, eventually, openSse, openWs } from './conformance/clients'

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const SSE = 'http://localhost/faults/sse'
const WS = 'ws://localhost/faults/ws'
const RT = 'http://localhost/faults/rt'

/** Timers that fire only when the test runs them. */
function manualTimers() {
  const pending = new Map<number, () => void>()
  let next = 0
  const timers: MockTimers = {
    setTimeout: (callback) => (pending.set(++next, callback), next),
    clearTimeout: (handle) => void pending.delete(handle as number),
  }
  return {
    timers,
    get pending() {
      return pending.size
    },
    runAll() {
      const callbacks = [...pending.values()]
      pending.clear()
      callbacks.forEach((callback) => callback())
    },
  }
}

describe('SSE mock controls', () => {
  it('stall() leaves open streams silent but open; a new stream is served', async () => {
    const mock = mockSseHandler(SSE, { log: createMemoryLog({ epoch: 'e' }) })
    server.use(...mock.handlers)
    const stalled = await openSse(SSE)
    await atLeast(() => stalled.retries, 1)
    mock.stall()
    mock.append('x')
    const fresh = await openSse(SSE, { 'last-event-id': 'e.0' })
    await atLeast(() => fresh.events, 1)
    mock.append('y')
    await atLeast(() => fresh.events, 2)
    expect(stalled.events).toEqual([])
    expect(stalled.ended()).toBe(false)
    expect(mock.connections).toHaveLength(2)
  })

  it('setLatency(ms) holds the response and every event on the mock clock, in order', async () => {
    const clock = manualTimers()
    const mock = mockSseHandler(SSE, { timers: clock.timers, retry: 5 })
    server.use(...mock.handlers)
    mock.setLatency(100)
    const opening = openSse(SSE)
    await eventually(() => expect(clock.pending).toBe(1))
    clock.runAll()
    // The response starts, its first frame (the retry hint) waits: MSW sends the head with it.
    await eventually(() => expect(clock.pending).toBe(1))
    clock.runAll()
    const client = await opening
    await atLeast(() => client.retries, 1)
    mock.append('a')
    mock.append('b')
    expect(clock.pending).toBe(2)
    expect(client.events).toEqual([])
    clock.runAll()
    await atLeast(() => client.events, 2)
    expect(client.events.map((e) => e.data)).toEqual(['a', 'b'])
  })

  it('flood(n, perSecond) appends in steps on the mock clock and resolves when done; every event arrives once, in order', async () => {
    const clock = manualTimers()
    const mock = mockSseHandler(SSE, { timers: clock.timers, log: createMemoryLog({ epoch: 'f' }) })
    server.use(...mock.handlers)
    const client = await openSse(SSE)
    await atLeast(() => client.retries, 1)
    let done = false
    const flooding = mock.flood(50, 1000).then(() => void (done = true))
    expect(mock.log.head).toBe('f.10')
    for (let step = 2; step <= 5; step++) {
      clock.runAll()
      expect(mock.log.head).toBe(`f.${step * 10}`)
    }
    await flooding
    expect(done).toBe(true)
    await atLeast(() => client.events, 50)
    expect(client.events.map((e) => e.data)).toEqual(Array.from({ length: 50 }, (_, i) => String(i + 1)))
  })

  it('fail(status, times, retryAfter) refuses the next attempts, then serves; setOffline fails them as a network error and drops open streams', async () => {
    const mock = mockSseHandler(SSE)
    server.use(...mock.handlers)
    mock.fail(503, 2, 7)
    for (let i = 0; i < 2; i++) {
      const refused = await fetch(SSE, { headers: { accept: 'text/event-stream' } })
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '7'])
    }
    const open = await openSse(SSE)
    expect(open.response.status).toBe(200)
    mock.setOffline(true)
    await eventually(() => expect(open.ended()).toBe(true))
    await expect(fetch(SSE)).rejects.toThrow(TypeError)
    mock.setOffline(false)
    expect((await openSse(SSE)).response.status).toBe(200)
  })

  it('close() ends streams cleanly, drop() errors them; comment() sends a comment line; nextConnection takes connections in order, also earlier ones', async () => {
    const mock = mockSseHandler(SSE, { retry: 3 })
    server.use(...mock.handlers)
    const a = await openSse(SSE, { 'last-event-id': 'x.1' })
    const b = await openSse(SSE)
    expect(await mock.nextConnection()).toMatchObject({ transport: 'sse', lastEventId: 'x.1' })
    expect(await mock.nextConnection()).toMatchObject({ transport: 'sse', lastEventId: null })
    mock.comment('hello')
    await eventually(() => expect(b.raw()).toContain(': hello\n\n'))
    mock.close()
    await eventually(() => expect([a.ended(), b.ended()]).toEqual([true, true]))
    expect(mock.connections).toEqual([])
  })
})

describe('channel mock controls', () => {
  it('close(code) and drop() end sockets with that code and 1006; fail() and offline close attempts before they open', async () => {
    const mock = mockWebSocketHandler(WS)
    server.use(...mock.handlers)
    const first = await openWs(WS)
    expect(mock.connections).toHaveLength(1)
    mock.close(4000)
    expect(await first.closed).toBe(4000)
    const second = await openWs(WS)
    mock.drop()
    expect(await second.closed).toBe(1006)
    mock.fail(500)
    await expect(openWs(WS)).rejects.toThrow('closed before open (1006)')
    mock.setOffline(true)
    await expect(openWs(WS)).rejects.toThrow('closed before open (1006)')
    mock.setOffline(false)
    await openWs(WS)
  })

  it('stall() stops answering and sending on open sockets only', async () => {
    const mock = mockWebSocketHandler(WS)
    server.use(...mock.handlers)
    const stalled = await openWs(WS)
    mock.stall()
    stalled.send('ping')
    const fresh = await openWs(WS)
    fresh.send('ping')
    await atLeast(() => fresh.texts, 1)
    expect(stalled.texts).toEqual([])
  })

  it('flood() publishes to the first channel; nextPublish and received show what clients sent', async () => {
    const mock = mockWebSocketHandler(WS, { channels: { quotes: createMemoryLog({ epoch: 'q' }), room: createMemoryLog() }, writable: ['room'] })
    server.use(...mock.handlers)
    const client = await openWs(WS)
    client.send({ type: 'subscribe', channel: 'quotes' })
    await mock.nextSubscribe('quotes')
    await mock.flood(3, undefined, { data: (i) => ({ price: i }) })
    await atLeast(() => client.frames, 4)
    expect(client.frames.slice(1)).toEqual([1, 2, 3].map((price) => ({ type: 'event', channel: 'quotes', id: `q.${price}`, data: { price } })))
    client.send({ type: 'publish', channel: 'room', data: 'hi' })
    expect(await mock.nextPublish()).toEqual({ channel: 'room', data: 'hi', pid: undefined })
    expect(mock.received).toEqual([{ type: 'subscribe', channel: 'quotes' }, { type: 'publish', channel: 'room', data: 'hi' }])
    expect(() => mock.publish('nope', 1)).toThrow('no channel "nope"')
  })

  it('reset() gives every channel a new epoch and closes sockets with 1012: a client resuming from before gets reset', async () => {
    const mock = mockRealtimeHandler(RT, { channels: { prices: createMemoryLog({ epoch: 'old' }) } })
    server.use(...mock.handlers)
    const client = await openWs(RT.replace('http', 'ws'))
    const before = mock.publish('prices', 1)
    mock.reset()
    expect(await client.closed).toBe(1012)
    const again = await openWs(RT.replace('http', 'ws'))
    again.send({ type: 'subscribe', channel: 'prices', since: before.id })
    await atLeast(() => again.frames, 2)
    const epoch = mock.log('prices')!.epoch
    expect(epoch).not.toBe('old')
    expect(again.frames[1]).toEqual({ type: 'reset', channel: 'prices', epoch, reason: 'epoch', head: `${epoch}.0` })
  })
})

describe('fault controls, checked (review findings)', () => {
  it('fail(status, times): whole counts add up, Infinity refuses until fail(status, 0), anything else is a RangeError', async () => {
    const mock = mockSseHandler(SSE, { log: createMemoryLog({ epoch: 'e' }) })
    server.use(...mock.handlers)
    for (const times of [-1, 1.5, Number.NaN]) expect(() => mock.fail(503, times)).toThrow(RangeError)
    const status = async () => {
      const reader = await openSse(SSE)
      reader.close()
      return reader.response.status
    }
    mock.fail(503, Number.POSITIVE_INFINITY)
    expect([await status(), await status(), await status()]).toEqual([503, 503, 503])
    mock.fail(503, 0)
    mock.fail(500)
    mock.fail(502)
    expect([await status(), await status(), await status()]).toEqual([500, 502, 200])
  })

  it('close() ends a stream after the frames still held by setLatency, as a server’s written bytes arrive before its close', async () => {
    const clock = manualTimers()
    const mock = mockSseHandler(SSE, { log: createMemoryLog({ epoch: 'e' }), timers: clock.timers })
    server.use(...mock.handlers)
    const reader = await openSse(SSE)
    await atLeast(() => reader.retries, 1)
    mock.setLatency(50)
    mock.append('before-close')
    mock.close()
    expect(reader.ended()).toBe(false)
    while (clock.pending) clock.runAll()
    await eventually(() => expect(reader.ended()).toBe(true))
    expect(reader.events.map((e) => e.data)).toEqual(['before-close'])
  })

  it.each([
    [150, 150],
    [250, 250],
    [333, 333],
    [1000, 2000],
  ])('flood(%i, %i/s) keeps its rate: the last entry goes out within one step of n / perSecond', async (n, perSecond) => {
    // A virtual clock: each timer fires at its due time, in order.
    let now = 0
    const due: { at: number; run: () => void }[] = []
    const timers: MockTimers = { setTimeout: (run, ms) => due.push({ at: now + ms, run }), clearTimeout: () => {} }
    const log = createMemoryLog({ epoch: 'f', capacity: n })
    const at: number[] = []
    log.subscribe(() => void at.push(now))
    const mock = mockSseHandler(SSE, { log, timers })
    const done = mock.flood(n, perSecond)
    while (due.length) {
      due.sort((a, b) => a.at - b.at)
      const next = due.shift()!
      now = next.at
      next.run()
    }
    await done
    expect(at).toHaveLength(n)
    const ideal = ((n - 1) / perSecond) * 1000
    expect(Math.abs(at.at(-1)! - ideal), `last entry at ${at.at(-1)} ms, ideal ${ideal} ms`).toBeLessThanOrEqual(10)
  })
})
