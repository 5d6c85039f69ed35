/** Per-test Redis for the Redis log's tests (kept apart from redis-server.ts, which the benchmarks import outside vitest). */
import { beforeEach } from 'vitest'
import { createRedisLogs, type RedisLogError, type RedisLogs } from '../../src/server/redis-log'
import { onCleanup } from './helpers'
import { type RedisServer, startRedis } from './redis-server'

/**
 * A redis-server for each test (stopped after it), and `open(block)`: the logs of one more
 * server instance on it, closed after the test, whose errors go to `errors` (emptied per test).
 */
export function redisPerTest(defaultBlock: number) {
  const t = {
    redis: undefined as unknown as RedisServer,
    errors: [] as RedisLogError[],
    open(block = defaultBlock): RedisLogs {
      const logs = createRedisLogs({ url: t.redis.url, block, retry: { min: 20, max: 200 }, onError: (error) => t.errors.push(error) })
      onCleanup(() => logs.close())
      return logs
    },
  }
  beforeEach(async () => {
    t.redis = await startRedis()
    onCleanup(() => t.redis.stop())
    t.errors = []
  })
  return t
}
