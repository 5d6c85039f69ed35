/**
 * The head a subscription starts from, over the Redis log against a real redis-server: the
 * first subscriber of an instance (its reader not started yet) still gets the head in
 * `subscribed`, so a client with no id of its own that leaves and comes back gets what was
 * appended meanwhile, as with the memory log. Before, it got `head: null` and lost it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRealtimeHandler } from '../../src/server/realtime'
import { createRedisLogs, type RedisLogs } from '../../src/server/redis-log'
import { createWebSocketHandler } from '../../src/server/ws'
import { eventually, onCleanup, openWs, runCleanups, startServer } from './helpers'
import { type RedisServer, startRedis } from './redis-server'

let redis: RedisServer
let logs: RedisLogs

beforeEach(async () => {
  redis = await startRedis()
  onCleanup(() => redis.stop())
  logs = createRedisLogs({ url: redis.url, block: 100, onError: () => {} })
  onCleanup(() => logs.close())
})
afterEach(runCleanups)

type Frame = { type: string; head?: string | null; id?: string; data?: string }

describe.each(['websocket channels', 'realtime'] as const)('the Redis log behind the %s handler', (kind) => {
  it("the instance's first subscriber gets the head; back with it, it gets what was appended while away", async () => {
    const log = logs.log(`head-${kind}`)
    await log.ready
    for (const n of [1, 2, 3]) await log.append(`old${n}`)
    const handler = kind === 'realtime' ? createRealtimeHandler({ channels: { room: log }, origins: '*', heartbeat: 0 }) : createWebSocketHandler({ channels: { room: log }, heartbeat: 0 })
    onCleanup(() => handler.close())
    const server = await startServer({ upgrade: handler.handleUpgrade })
    const url = `ws://127.0.0.1:${server.port}/`

    const first = await openWs(url)
    first.send({ type: 'subscribe', channel: 'room' })
    await eventually(() => expect((first.frames as Frame[]).find((f) => f.type === 'subscribed')).toBeDefined())
    const { head } = (first.frames as Frame[]).find((f) => f.type === 'subscribed')!
    expect(head).toBe(`${log.epoch}.3`)
    first.socket.terminate()
    await first.closed

    for (const n of [4, 5, 6]) await log.append(`missed${n}`)
    const back = await openWs(url)
    back.send({ type: 'subscribe', channel: 'room', since: head })
    await eventually(() => expect((back.frames as Frame[]).filter((f) => f.type === 'event').map((f) => f.data)).toEqual(['missed4', 'missed5', 'missed6']))
  })
})
