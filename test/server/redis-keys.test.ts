/**
 * The keys of the Redis logs against a real redis-server: no log key reaches another log's
 * keys, and keys another program wrote fail their own log only, deleting nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LogEntry } from '../../src/server/log'
import { createRedisLogs, type RedisLogError, type RedisLogs } from '../../src/server/redis-log'
import { eventually, onCleanup, runCleanups, sleep } from './helpers'
import { type RedisServer, startRedis } from './redis-server'

let redis: RedisServer
let logs: RedisLogs
let errors: RedisLogError[]

beforeEach(async () => {
  redis = await startRedis()
  onCleanup(() => redis.stop())
  errors = []
  logs = createRedisLogs({ url: redis.url, block: 100, retry: { min: 20, max: 200 }, onError: (error) => errors.push(error) })
  onCleanup(() => logs.close())
})

afterEach(runCleanups)

async function follow(key: string) {
  const log = logs.log(key)
  const heard: LogEntry[] = []
  log.subscribe((entry) => heard.push(entry))
  await log.ready
  return { log, heard }
}

/** Appends on `log` and waits until its listeners heard it. */
async function flows(log: Awaited<ReturnType<typeof follow>>) {
  const entry = await log.log.append('again')
  await eventually(() => expect(log.heard.at(-1)?.id).toBe(entry.id))
}

describe('the keys of the Redis logs', () => {
  it('a channel named "lobby:meta" leaves lobby\'s history and reads alone', async () => {
    const lobby = await follow('chat:lobby')
    const first = await lobby.log.append('m1')
    await lobby.log.append('m2')
    const evil = await follow('chat:lobby:meta')
    expect(await evil.log.since(null)).toEqual({ entries: [] })
    await sleep(300)
    expect(await lobby.log.since(first.id)).toMatchObject({ entries: [{ data: 'm2' }] })
    await flows(lobby)
    await flows(evil)
    expect(errors).toEqual([])
  })

  it('a stream key of another type: its log fails (typed), the key stays, the other logs keep flowing', async () => {
    const good = await follow('good')
    const bad = await follow('bad')
    await bad.log.append('b1')
    await redis.run('DEL', 'bad:stream')
    await redis.run('SET', 'bad:stream', 'not a stream')
    await flows(good)
    await expect(bad.log.append('b2')).rejects.toMatchObject({ name: 'RedisLogError', kind: 'corrupt' })
    await expect(bad.log.since(`${bad.log.epoch}.1`)).rejects.toThrow()
    expect(await redis.run('GET', 'bad:stream')).toBe('not a stream')
    await flows(good)
    expect(logs.status).toBe('open')
    expect(errors.map((e) => e.kind)).toContain('corrupt')
    expect(errors.map((e) => e.kind)).not.toContain('unavailable')
  })

  it('a seq that is not a number, set before the log is read: the other logs keep flowing', async () => {
    await redis.run('HSET', 'nan:meta', 'epoch', 'e1', 'seq', 'abc')
    const good = await follow('good')
    logs.log('nan').subscribe(() => {})
    await sleep(300)
    await flows(good)
    await expect(logs.log('nan').append('x')).rejects.toMatchObject({ kind: 'corrupt' })
    expect(await redis.run('HGET', 'nan:meta', 'seq')).toBe('abc')
    expect(logs.status).toBe('open')
  })
})
