/**
 * The Redis log's connections against a real redis-server: a log closed before its
 * connections exist makes none (one made after close would keep the process alive).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createRedisLog, createRedisLogs, type RedisLogError } from '../../src/server/redis-log'
import { ServerOptionsError } from '../../src/server/errors'
import { onCleanup, runCleanups } from './helpers'
import { startRedis } from './redis-server'

afterEach(runCleanups)

/** The connections Redis has, besides the one that asks. */
const others = async (run: (...args: string[]) => Promise<unknown>) => String(await run('CLIENT', 'LIST')).trim().split('\n').length - 1

describe('the Redis link', () => {
  it('options are checked before any connection is made', () => {
    const url = 'redis://127.0.0.1:1'
    expect(() => createRedisLogs({} as never)).toThrow(ServerOptionsError)
    expect(() => createRedisLogs({ url, block: 0 })).toThrow(/block/)
    for (const resumes of [0, 1.5, Number.NaN]) expect(() => createRedisLogs({ url, resumes })).toThrow(/resumes/)
    expect(() => createRedisLog({ url, key: '' })).toThrow(/key/)
    expect(() => createRedisLog({ url, key: 'k', capacity: 0 })).toThrow(/capacity/)
  })

  it('close() right after createRedisLog({ url }): ready rejects as closed, and no connection is made', async () => {
    const redis = await startRedis()
    onCleanup(() => redis.stop())
    const log = createRedisLog({ url: redis.url, key: 'closed-early', onError: () => {} })
    log.close()
    await expect(log.ready).rejects.toMatchObject({ kind: 'unavailable' })
    expect(await others(redis.run)).toBe(0)
    // An append or a listener after close makes none either.
    await expect(log.append('x')).rejects.toThrow(/closed/)
    log.subscribe(() => {})()
    expect(await others(redis.run)).toBe(0)
  })

  it('logs closed just after a listener starts their reader leave no connection either', async () => {
    const redis = await startRedis()
    onCleanup(() => redis.stop())
    const errors: RedisLogError[] = []
    const logs = createRedisLogs({ url: redis.url, onError: (error) => errors.push(error) })
    const log = logs.log('reading')
    await log.ready
    const off = log.subscribe(() => {}) // starts the reader's connection
    logs.close()
    off()
    await expect.poll(() => others(redis.run)).toBe(0)
    expect(errors).toEqual([])
  })
})
