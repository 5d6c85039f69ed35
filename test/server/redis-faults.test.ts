/**
 * The Redis log behind the handlers, against a real redis-server: trimming, a flushed Redis,
 * and Redis stopped for 3 s then restarted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createChannelLogs } from '../../src/server/channel-logs'
import { createRealtimeHandler } from '../../src/server/realtime'
import { createRedisLogs, type RedisLogError, type RedisLogs } from '../../src/server/redis-log'
import { createSseHandler } from '../../src/server/sse'
import { eventually, onCleanup, openSse, openWs, runCleanups, sleep, startServer } from './helpers'
import { freePort, type RedisServer, startRedis } from './redis-server'

let redis: RedisServer
let logs: RedisLogs
let errors: RedisLogError[]

beforeEach(async () => {
  redis = await startRedis()
  errors = []
  logs = createRedisLogs({ url: redis.url, block: 100, retry: { min: 20, max: 200 }, onError: (error) => errors.push(error) })
  onCleanup(() => redis.stop())
  onCleanup(() => logs.close())
})

afterEach(runCleanups)

async function sseOver(key: string, capacity = 1000) {
  const log = logs.log(key, { capacity })
  await log.ready
  const sse = createSseHandler({ log, heartbeat: 0, batchWindow: 0 })
  const server = await startServer({ request: sse })
  return { log, sse, url: server.url('/') }
}

const ids = (events: { type: string; id: string }[]) => events.filter((e) => e.type === 'message').map((e) => e.id)

describe('createRedisLog behind the handlers', () => {
  it('trimming: a client resuming from before the resume window gets a gap reset naming the head', async () => {
    const { log, url } = await sseOver('trim', 10)
    const first = await log.append('a1')
    for (let i = 2; i <= 40; i++) await log.append(`a${i}`)
    // Redis itself keeps a little more (MAXLEN ~), the window is exactly the capacity.
    expect(Number(await redis.run('XLEN', 'trim:stream'))).toBeGreaterThanOrEqual(10)
    const late = await openSse(url, { headers: { 'last-event-id': first.id } })
    await eventually(() => expect(late.events.map((e) => e.type)).toContain('reset'))
    const reset = late.events.find((e) => e.type === 'reset')!
    expect(JSON.parse(reset.data)).toEqual({ epoch: log.epoch, reason: 'gap' })
    expect(reset.id).toBe(`${log.epoch}.40`)
    const inWindow = await openSse(url, { headers: { 'last-event-id': `${log.epoch}.30` } })
    await eventually(() => expect(ids(inWindow.events)).toEqual(Array.from({ length: 10 }, (_, i) => `${log.epoch}.${31 + i}`)))
  })

  it('FLUSHALL: connected clients are cut and resume to a reset with a new epoch, then get what comes next', async () => {
    const { log, url } = await sseOver('flushed')
    const client = await openSse(url)
    await eventually(() => expect(client.retries).toHaveLength(1))
    const before = await log.append('before')
    await eventually(() => expect(ids(client.events)).toEqual([before.id]))
    const epoch = log.epoch
    await redis.run('FLUSHALL')
    // Noticed without an append, within a blocking read's time.
    await eventually(() => expect(client.ended).toBe(true))
    expect(errors.map((e) => e.kind)).toContain('history-lost')
    const again = await openSse(url, { headers: { 'last-event-id': before.id } })
    await eventually(() => expect(again.events.map((e) => e.type)).toEqual(['reset']))
    expect(log.epoch).not.toBe(epoch)
    expect(JSON.parse(again.events[0]!.data)).toEqual({ epoch: log.epoch, reason: 'epoch' })
    const after = await log.append('after')
    expect(after.id).toBe(`${log.epoch}.1`)
    await eventually(() => expect(ids(again.events)).toEqual([after.id]))
  })

  it('Redis stopped for 3 s and restarted: clients keep their connections, publishes are refused meanwhile, and everything appended after arrives', async () => {
    const rooms = createChannelLogs({ create: (name) => logs.log(`room:${name}`), writable: true })
    const realtime = createRealtimeHandler({ channels: rooms, origins: '*', heartbeat: 0, batchWindow: 0 })
    onCleanup(() => realtime.close())
    const server = await startServer({ request: (req, res) => realtime.handleRequest(req, res), upgrade: (req, socket, head) => realtime.handleUpgrade(req, socket, head) })
    const ws = await openWs(`ws://127.0.0.1:${server.port}/`)
    const { log, url } = await sseOver('outage')
    const sse = await openSse(url)
    ws.send({ type: 'subscribe', channel: 'lobby' })
    await eventually(() => expect(ws.frames).toContainEqual(expect.objectContaining({ type: 'subscribed', channel: 'lobby' })))
    ws.send({ type: 'publish', channel: 'lobby', data: { n: 1 }, pid: 'p1' })
    await eventually(() => expect(ws.frames).toContainEqual(expect.objectContaining({ type: 'ack', pid: 'p1' })))
    const kept = [await log.append('kept-1'), await log.append('kept-2')]
    await eventually(() => expect(ids(sse.events)).toEqual(kept.map((e) => e.id)))

    await redis.shutdownSave()
    await expect(log.append('while down')).rejects.toMatchObject({ name: 'RedisLogError', kind: 'append' })
    ws.send({ type: 'publish', channel: 'lobby', data: { n: 2 }, pid: 'p2' })
    await eventually(() => expect(ws.frames).toContainEqual(expect.objectContaining({ type: 'error', code: 'server-error', pid: 'p2' })))
    // The outage itself is what is tested: real time, with a real Redis gone.
    await sleep(3000)
    expect(logs.status).toBe('retrying')
    expect(errors.map((e) => e.kind)).toEqual(expect.arrayContaining(['unavailable', 'append']))
    await redis.restart()

    const after = await eventually(() => log.append('after'), 5000)
    ws.send({ type: 'publish', channel: 'lobby', data: { n: 3 }, pid: 'p3' })
    await eventually(() => expect(ids(sse.events)).toEqual([...kept.map((e) => e.id), after.id]), 5000)
    await eventually(() => expect(ws.frames).toContainEqual(expect.objectContaining({ type: 'ack', pid: 'p3' })), 5000)
    await eventually(() => expect(ws.frames.filter((f) => (f as { type: string }).type === 'event')).toHaveLength(2))
    expect(ws.isClosed()).toBe(false)
    expect(ws.frames.filter((f) => (f as { type: string }).type === 'event').map((f) => (f as { data: { n: number } }).data.n)).toEqual([1, 3])
    expect(sse.ended).toBe(false)
    expect(logs.status).toBe('open')
    expect(errors.map((e) => e.kind)).not.toContain('history-lost')
  }, 15_000)

  it('Redis down at start: ready, append and since reject at once, as during an outage', async () => {
    const down = createRedisLogs({ url: `redis://127.0.0.1:${await freePort()}`, block: 100, retry: { min: 20, max: 200 }, onError: () => {} })
    onCleanup(() => down.close())
    const log = down.log('down')
    log.subscribe(() => {})
    const started = performance.now()
    await expect(log.ready).rejects.toMatchObject({ name: 'RedisLogError', kind: 'unavailable' })
    await expect(log.append('x')).rejects.toMatchObject({ name: 'RedisLogError', kind: 'append', cause: { kind: 'unavailable' } })
    await expect(log.since('a.1')).rejects.toMatchObject({ name: 'RedisLogError' })
    expect(performance.now() - started).toBeLessThan(1000)
  })
})
