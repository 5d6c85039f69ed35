import { afterAll, beforeAll, describe, it } from 'vitest'
import { replayLogContract } from '../../src/server/contract'
import { createRedisLogs, type RedisLogs } from '../../src/server/redis-log'
import { type RedisServer, startRedis } from './redis-server'

let redis: RedisServer
let logs: RedisLogs
let n = 0

beforeAll(async () => {
  redis = await startRedis()
  logs = createRedisLogs({ url: redis.url, onListenerError: () => {} })
})

afterAll(async () => {
  logs?.close()
  await redis?.stop()
})

describe('replayLogContract: the Redis log (a real redis-server)', () => {
  for (const { name, run } of replayLogContract(async ({ capacity }) => {
    const log = logs.log(`contract:${++n}`, { capacity })
    await log.ready
    return log
  }))
    it(name, run)
})
