import { describe, expect, it } from 'vitest'
import { sequence } from '../fakes'
import { memoryStorage, settle, setupRealtime } from './transport-fakes'

// Back from SSE to WebSocket ('auto'): background probes with backoff, the move that loses
// and repeats nothing (the stream stops before the host adopts the socket), and close().

const KEY = 'tabwire:rt:https://rt.test/live'
const OPEN_ON_SSE = ['status:connecting', 'opened:sse', 'status:open']

/** 'auto' with SSE remembered: the first attempt opens SSE at t=0. */
async function onSse(options: Parameters<typeof setupRealtime>[0] = {}, url?: Parameters<typeof setupRealtime>[1]) {
  const storage = memoryStorage({ [KEY]: 'sse' })
  const rt = setupRealtime({ storage, ...options }, url)
  rt.connection.connect()
  await settle()
  const request = rt.net.streams[0]!
  request.signal.addEventListener('abort', () => rt.log.push('sse aborted'))
  const stream = request.stream()
  stream.hello('s1')
  await settle()
  expect(rt.log).toEqual(OPEN_ON_SSE)
  return { ...rt, storage, stream }
}

describe('realtimeTransport: probing back to WebSocket', () => {
  it('moves to a probe socket that opens: SSE aborted, host closed, then opened on the socket; status stays open', async () => {
    let n = 0
    const rt = await onSse({}, () => `https://rt.test/live?t=${++n}`)
    await rt.advance(2499) // the first probe: half (random 0.5) of 5000
    expect(rt.ws.sockets).toEqual([])
    await rt.advance(1)
    expect(rt.ws.sockets.map((s) => s.url)).toEqual(['wss://rt.test/live?t=2'])
    // Until the socket opens, the stream carries on.
    rt.stream.frame({ type: 'event', channel: 'a', id: '1', data: 1 })
    await settle()
    rt.ws.last.open()
    expect(rt.log).toEqual([...OPEN_ON_SSE, 'receive:event', 'message:1', 'sse aborted', 'closed', 'opened:websocket'])
    expect(rt.stream.cancelled).toBe(true)
    expect(rt.transport.kind).toBe('websocket')
    expect(rt.storage.items.size).toBe(0)
    expect(rt.snap().status).toBe('open')
    // The socket is the link now: frames out, frames in, heartbeat.
    rt.links[1]!.send([{ type: 'subscribe', channel: 'a', since: '1' }])
    rt.ws.last.receive('{"type":"event","channel":"a","id":"2","data":2}')
    await rt.advance(25_000)
    expect(rt.ws.last.sent).toEqual(['{"type":"subscribe","channel":"a","since":"1"}', 'ping'])
    expect(rt.log.slice(-2)).toEqual(['receive:event', 'message:2'])
    expect(rt.net.posts).toEqual([])
  })

  it('after a move, the count starts again: a broken socket reconnects on WebSocket first', async () => {
    const rt = await onSse()
    await rt.advance(2500)
    rt.ws.last.open()
    rt.ws.last.serverClose(1006)
    await rt.advance(500)
    expect(rt.ws.sockets).toHaveLength(2)
    expect(rt.net.streams).toHaveLength(1)
    rt.ws.last.open()
    expect(rt.log).toEqual([...OPEN_ON_SSE, 'sse aborted', 'closed', 'opened:websocket', 'closed', 'status:reconnecting', 'error:network', 'opened:websocket', 'status:open'])
  })

  it('a failed probe backs off: full jitter over a range that doubles up to maxProbe; the engine hears nothing', async () => {
    class Blocked {
      constructor() {
        throw new Error('blocked')
      }
    }
    const fake = await onSse({ fallback: { probe: 1000, maxProbe: 4000 }, random: sequence(0.25, 0.5, 0.75, 0.9, 0.5) })
    const times: number[] = []
    const probeAt = async (delay: number, fail: () => void) => {
      const before = fake.ws.sockets.length
      await fake.advance(delay - 1)
      expect(fake.ws.sockets).toHaveLength(before)
      await fake.advance(1)
      expect(fake.ws.sockets).toHaveLength(before + 1)
      times.push(fake.timers.now)
      fail()
      await settle()
    }
    await probeAt(250, () => fake.ws.last.serverClose(1006)) // 0.25 · 1000
    await probeAt(1000, () => fake.ws.last.onerror?.({ type: 'error' } as Event)) // 0.5 · 2000
    await probeAt(3000, () => {}) // 0.75 · 4000, and it never opens
    await fake.advance(2499)
    expect(fake.ws.last.closeCalls).toEqual([])
    await probeAt(1 + 3600, () => fake.ws.last.serverClose(1006)) // connectTimeout, then 0.9 · 4000 (the cap)
    await probeAt(2000, () => {}) // 0.5 · 4000
    expect(times).toEqual([250, 1250, 4250, 10_350, 12_350])
    expect(fake.log).toEqual([...OPEN_ON_SSE])
    expect(fake.transport.kind).toBe('sse')

    // A probe whose constructor throws is a failed probe too.
    const blocked = await onSse({ WebSocket: Blocked as unknown as typeof WebSocket })
    await blocked.advance(2500)
    await blocked.advance(5000)
    await blocked.advance(10_000)
    expect(blocked.log).toEqual([...OPEN_ON_SSE])
    expect(blocked.timers.count).toBeGreaterThan(0)
  })

  it('the fallback from scratch remembers SSE, and the move back forgets it', async () => {
    const rt = setupRealtime()
    rt.connection.connect()
    await settle()
    rt.ws.last.serverClose(1006)
    await rt.advance(500)
    rt.ws.last.serverClose(1006)
    await settle()
    rt.net.streams[0]!.signal.addEventListener('abort', () => rt.log.push('sse aborted'))
    rt.net.streams[0]!.stream().hello()
    await settle()
    expect(rt.storage.items).toEqual(new Map([[KEY, 'sse']]))
    await rt.advance(2500)
    expect(rt.ws.sockets).toHaveLength(3)
    rt.ws.last.open()
    expect(rt.storage.items.size).toBe(0)
    expect(rt.log).toEqual(['status:connecting', 'status:reconnecting', 'error:network', 'opened:sse', 'status:open', 'sse aborted', 'closed', 'opened:websocket'])
  })

  it('a broken SSE stream tries one WebSocket again before SSE (neither is given up for good), and forgets SSE until it works again', async () => {
    const rt = setupRealtime()
    rt.connection.connect()
    await settle()
    rt.ws.last.serverClose(1006)
    await rt.advance(500)
    rt.ws.last.serverClose(1006)
    await settle()
    const stream = rt.net.streams[0]!.stream()
    stream.hello()
    await settle()
    expect(rt.storage.items).toEqual(new Map([[KEY, 'sse']]))
    stream.end()
    await settle()
    expect(rt.storage.items.size).toBe(0)
    await rt.advance(1000) // the engine's second retry: half of 2000
    // A WebSocket first: back at once if the outage is over.
    expect([rt.ws.sockets.length, rt.net.streams.length]).toEqual([3, 1])
    rt.ws.last.serverClose(1006)
    await settle()
    // Still refused: SSE in the same attempt, no backoff.
    expect([rt.ws.sockets.length, rt.net.streams.length]).toEqual([3, 2])
    rt.net.streams[1]!.stream().hello()
    await settle()
    expect(rt.log).toEqual(['status:connecting', 'status:reconnecting', 'error:network', 'opened:sse', 'status:open', 'closed', 'status:reconnecting', 'error:network', 'opened:sse', 'status:open'])
  })

  it('a WebSocket outage of a few seconds on an open page: back on WebSocket once it ends, even when SSE fails too', async () => {
    const rt = setupRealtime()
    rt.connection.connect()
    await settle()
    rt.ws.last.open()
    await settle()
    rt.ws.last.serverClose(1006)
    // Refused twice: SSE, which fails as well (the whole server is down).
    for (let i = 0; i < 2; i++) {
      await rt.advance(2000)
      rt.ws.last.serverClose(1006)
      await settle()
    }
    expect(rt.net.streams).toHaveLength(1)
    rt.net.streams[0]!.respond(new Response('down', { status: 503 }))
    await settle()
    await rt.advance(10_000)
    // The outage is over: the next attempt's WebSocket opens.
    rt.ws.last.open()
    await settle()
    expect(rt.transport.kind).toBe('websocket')
    expect(rt.log.at(-1)).toBe('status:open')
  })

  it("forced 'sse' never probes and never touches storage", async () => {
    const rt = setupRealtime({ transport: 'sse' })
    rt.connection.connect()
    await settle()
    rt.net.streams[0]!.stream().hello()
    await settle()
    await rt.advance(600_000)
    expect(rt.ws.sockets).toEqual([])
    expect(rt.storage.items.size).toBe(0)
    expect(rt.log).toEqual(OPEN_ON_SSE)
  })

  it('a broken stream while a probe is connecting drops the probe too', async () => {
    const rt = await onSse()
    await rt.advance(2500)
    const probe = rt.ws.last
    rt.stream.end()
    await settle()
    expect(probe.closeCalls).toEqual([[1000, undefined]])
    expect(rt.log).toEqual([...OPEN_ON_SSE, 'sse aborted', 'closed', 'status:reconnecting', 'error:network'])
    expect(probe.onopen).toBeNull()
  })

  it('close() stops the probe timer, the probe socket, the stream and the POST in flight; nothing is heard after', async () => {
    const pending = await onSse()
    pending.connection.close()
    expect(pending.timers.count).toBe(0)

    const rt = await onSse()
    rt.links[0]!.send([{ type: 'subscribe', channel: 'a' }])
    await rt.advance(2500)
    const probe = rt.ws.last
    rt.connection.close()
    expect([rt.net.streams[0]!.signal.aborted, rt.net.posts[0]!.signal.aborted, rt.stream.cancelled]).toEqual([true, true, true])
    expect(probe.closeCalls).toEqual([[1000, undefined]])
    expect(rt.timers.count).toBe(0)
    expect(rt.transport.kind).toBeUndefined()
    expect(rt.log).toEqual([...OPEN_ON_SSE, 'sse aborted', 'closed', 'status:closed'])
  })
})
