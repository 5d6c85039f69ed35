/**
 * The reader of the Redis logs against a real redis-server: entries reach the listeners
 * under the epoch they were appended in, and never with a silent hole.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LogEntry } from '../../src/server/log'
import type { RedisLogs } from '../../src/server/redis-log'
import { eventually, onCleanup, runCleanups, sleep } from './helpers'
import { redisPerTest } from './redis-fixture'

const t = redisPerTest(5000)
let a: RedisLogs
let b: RedisLogs
beforeEach(() => {
  a = t.open()
  b = t.open()
})

afterEach(runCleanups)

/** Follows `key` on instance A: what its listeners hear, and its lost histories. */
async function follow(key: string, capacity?: number) {
  const log = a.log(key, { capacity })
  const heard: LogEntry[] = []
  const lost: string[] = []
  log.subscribe((entry) => heard.push(entry))
  log.onHistoryLost((epoch) => lost.push(epoch))
  await log.ready
  await eventually(() => expect(log.head).toBeDefined())
  return { log, heard, lost }
}

describe('the Redis log reader', () => {
  it('FLUSHALL then appends on another instance: no entry of the new epoch is heard under the old one', async () => {
    const { log, heard, lost } = await follow('flush')
    const writer = b.log('flush')
    for (let i = 1; i <= 5; i++) await writer.append(`old${i}`)
    await eventually(() => expect(heard).toHaveLength(5))
    const old = log.epoch
    await t.redis.run('FLUSHALL')
    const fresh: string[] = []
    for (let i = 1; i <= 20; i++) fresh.push((await writer.append(`new${i}`)).id)
    const epoch = fresh[0]!.split('.')[0]!
    expect(epoch).not.toBe(old)
    // Noticed from the entries themselves, long before A's next epoch check (block: 5 s).
    await eventually(() => expect(lost).toEqual([epoch]))
    for (const entry of heard) expect(entry.id.startsWith(`${old}.`)).toBe(entry.data.startsWith('old'))
    await eventually(() => expect(heard.at(-1)?.id).toBe(fresh.at(-1)))
    expect(t.errors.map((e) => e.kind)).toContain('history-lost')
  })

  it('a reader more than `capacity` behind: the jump is a gap its clients are cut for, never a silent hole', async () => {
    const { log, heard, lost } = await follow('lag', 10)
    const first = await log.append('first')
    await eventually(() => expect(heard).toHaveLength(1))
    // 300 appends in one script, trimmed to 10 before the reader can read any of them.
    await t.redis.run('EVAL', BULK, '2', 'lag:stream', 'lag:meta', '300')
    await eventually(() => expect(heard.at(-1)?.seq).toBe(301))
    expect(lost).toEqual([log.epoch])
    expect(t.errors.map((e) => e.kind)).toEqual(['gap'])
    expect(await log.since(first.id)).toMatchObject({ reset: 'gap', headSeq: 301 })
    expect(heard.map((e) => e.seq)).toEqual([1, ...Array.from({ length: 10 }, (_, i) => 292 + i)])
  })

  it('idle: the epochs of all followed streams are checked in one script call per block, not one per stream', async () => {
    const idle = t.open(100)
    const logs = Array.from({ length: 50 }, (_, i) => idle.log(`idle:${i}`))
    for (const log of logs) log.subscribe(() => {})
    await Promise.all(logs.map((log) => log.ready))
    await eventually(() => expect(logs.every((log) => log.head !== undefined)).toBe(true))
    await t.redis.run('CONFIG', 'RESETSTAT')
    await sleep(1000)
    const evals = Number(/cmdstat_eval:calls=(\d+)/.exec(String(await t.redis.run('INFO', 'commandstats')))?.[1] ?? 0)
    // About 10 rounds of 100 ms (not 10 × 50).
    expect(evals).toBeLessThanOrEqual(20)
  })
})

/** Appends ARGV[1] entries at once as the append script does, trimmed to exactly 10. */
const BULK = `
local epoch = redis.call('HGET', KEYS[2], 'epoch')
for i = 1, tonumber(ARGV[1]) do
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('XADD', KEYS[1], 'MAXLEN', '10', seq .. '-0', 'p', epoch, 'd', 'bulk' .. seq)
end`
