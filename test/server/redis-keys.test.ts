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

  it('a seq at the largest id, or near 2^53: append rejects (corrupt) and stores nothing', async () => {
    for (const [key, seq] of [
      ['max', '999999999999999'],
      ['near', '9007199254740990'],
    ]) {
      await redis.run('HSET', `${key}:meta`, 'epoch', 'e1', 'seq', seq!)
      const log = logs.log(key!)
      for (let i = 0; i < 2; i++) await expect(log.append('x')).rejects.toMatchObject({ name: 'RedisLogError', kind: 'corrupt' })
      expect(Number(await redis.run('XLEN', `${key}:stream`))).toBe(0)
      expect(await redis.run('HGET', `${key}:meta`, 'seq')).toBe(seq)
    }
    // One below the largest: the last append there is.
    await redis.run('HSET', 'last:meta', 'epoch', 'e1', 'seq', '999999999999998')
    expect((await logs.log('last').append('x')).id).toBe('e1.999999999999999')
    expect(errors.map((e) => e.kind)).toEqual(['corrupt', 'corrupt'])
  })

  it('a seq written as "1e3" is no seq: appends and resumes reject (corrupt), nothing is changed', async () => {
    await redis.run('HSET', 'float:meta', 'epoch', 'e1', 'seq', '1e3')
    const log = logs.log('float')
    await expect(log.append('x')).rejects.toMatchObject({ name: 'RedisLogError', kind: 'corrupt' })
    await expect(log.since('e1.1')).rejects.toMatchObject({ name: 'RedisLogError', kind: 'corrupt' })
    expect(await redis.run('HGETALL', 'float:meta')).toEqual({ epoch: 'e1', seq: '1e3' })
    expect(Number(await redis.run('EXISTS', 'float:stream'))).toBe(0)
  })

  it('an entry another client added after the next id: appends fail (corrupt) with no seq burned and no false gap, the entry stays', async () => {
    const foreign = await follow('foreign')
    for (let i = 1; i <= 4; i++) await foreign.log.append(`m${i}`)
    await eventually(() => expect(foreign.heard).toHaveLength(4))
    await redis.run('XADD', 'foreign:stream', '5-1', 'd', 'not ours')
    for (let i = 0; i < 2; i++) await expect(foreign.log.append('refused')).rejects.toMatchObject({ name: 'RedisLogError', kind: 'corrupt' })
    expect(await redis.run('HGET', 'foreign:meta', 'seq')).toBe('4')
    expect(await redis.run('XRANGE', 'foreign:stream', '5-1', '5-1')).toHaveLength(1)
    // Once the operator removes it, appends go on at 5: nothing skipped, nobody cut.
    await redis.run('XDEL', 'foreign:stream', '5-1')
    await redis.run('XSETID', 'foreign:stream', '4-0')
    await flows(foreign)
    expect(foreign.heard.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
    expect(errors.map((e) => e.kind)).toEqual(['corrupt'])
  })
})
