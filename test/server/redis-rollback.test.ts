/**
 * A Redis that goes back in time (restarted from an older snapshot, failed over to a lagging
 * replica) keeps the epoch with a lower seq: against a real redis-server, that is a lost
 * history (a new epoch, clients cut and reset), never ids reused with other data.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LogEntry } from '../../src/server/log'
import type { RedisLogs } from '../../src/server/redis-log'
import { eventually, onCleanup, runCleanups, sleep } from './helpers'
import { redisPerTest } from './redis-fixture'

const t = redisPerTest(100)
let a: RedisLogs
beforeEach(() => {
  a = t.open()
})

afterEach(runCleanups)

/** Follows `key` on `logs`: what its listeners hear, and its lost histories. */
async function follow(logs: RedisLogs, key: string, capacity = 100) {
  const log = logs.log(key, { capacity })
  const heard: LogEntry[] = []
  const lost: string[] = []
  log.subscribe((entry) => heard.push(entry))
  log.onHistoryLost((epoch) => lost.push(epoch))
  await log.ready
  await eventually(() => expect(log.head).toBeDefined())
  return { log, heard, lost }
}

/** Stops Redis without saving (the snapshot on disk is older) and starts it again from that snapshot. */
async function restartFromSnapshot() {
  await t.redis.run('SHUTDOWN', 'NOSAVE').catch(() => {})
  await eventually(() => expect(t.redis.run('PING')).rejects.toThrow(), 3000)
  await sleep(100)
  await t.redis.restart()
}

describe('a Redis that went back in time', () => {
  it('restarted from an older snapshot: the next append starts a new epoch, the clients are cut, no id is reused', async () => {
    const { log, heard, lost } = await follow(a, 'rb')
    for (let i = 1; i <= 10; i++) await log.append(`old-${i}`)
    await t.redis.run('SAVE')
    for (let i = 11; i <= 20; i++) await log.append(`old-${i}`)
    await eventually(() => expect(heard).toHaveLength(20))
    const old = log.epoch
    await restartFromSnapshot()
    expect(await t.redis.run('HGET', 'rb:meta', 'seq')).toBe('10')

    const after = await eventually(() => log.append('new-1'), 5000)
    expect(after.id.startsWith(`${old}.`)).toBe(false)
    expect(after.seq).toBe(1)
    await eventually(() => expect(lost).toEqual([after.id.split('.')[0]]))
    await eventually(() => expect(heard.at(-1)?.id).toBe(after.id))
    // Nothing was told under an id of the old epoch after the restart.
    expect(heard.filter((e) => e.id.startsWith(`${old}.`)).map((e) => e.data)).toEqual(Array.from({ length: 20 }, (_, i) => `old-${i + 1}`))
    expect(t.errors.map((e) => e.kind)).toContain('history-lost')

    // Another instance: a client that saw old-15, or old-9, gets a reset to the new epoch.
    const b = t.open().log('rb', { capacity: 100 })
    for (const seen of [15, 9, 20]) expect(await b.since(`${old}.${seen}`)).toEqual({ reset: 'epoch', head: after.id, headSeq: 1 })
  }, 15_000)

  it('rolled back behind the reader with no append and no reconnect: its per-block check notices it alone', async () => {
    const { log, heard, lost } = await follow(a, 'quiet')
    for (let i = 1; i <= 20; i++) await log.append(`old-${i}`)
    await eventually(() => expect(heard).toHaveLength(20))
    const old = log.epoch
    // The state a restart from a snapshot taken at seq 10 leaves, on the same connection.
    await t.redis.run('XTRIM', 'quiet:stream', 'MAXLEN', '10')
    await t.redis.run('HSET', 'quiet:meta', 'seq', '10')
    await eventually(() => expect(lost).toHaveLength(1), 2000)
    expect(lost[0]).not.toBe(old)
    expect(log.epoch).toBe(lost[0])
    expect(await t.redis.run('HGET', 'quiet:meta', 'epoch')).toBe(lost[0])
    expect(Number(await t.redis.run('XLEN', 'quiet:stream'))).toBe(0)
    // An instance that never saw seq 20 appends into the new epoch, and A's listeners hear it.
    const entry = await t.open().log('quiet').append('new-1')
    expect(entry.id).toBe(`${lost[0]}.1`)
    await eventually(() => expect(heard.at(-1)?.id).toBe(entry.id))
    expect(t.errors.map((e) => e.kind)).toEqual(['history-lost'])
  })

  it('a since on an instance that saw a higher seq notices the rollback, and answers a reset', async () => {
    const log = a.log('resume')
    for (let i = 1; i <= 20; i++) await log.append(`old-${i}`)
    const old = log.epoch
    await t.redis.run('XTRIM', 'resume:stream', 'MAXLEN', '10')
    await t.redis.run('HSET', 'resume:meta', 'seq', '10')
    const replay = await log.since(`${old}.9`)
    expect(replay).toMatchObject({ reset: 'epoch', headSeq: 0 })
    expect(log.epoch).not.toBe(old)
  })

  it('a client cursor ahead of the head: a reset for that client alone, the epoch and the other clients stay', async () => {
    const { log, heard, lost } = await follow(a, 'ahead')
    for (let i = 1; i <= 20; i++) await log.append(`m-${i}`)
    const epoch = log.epoch
    // A hostile (or stale) client claims an id this history never reached.
    for (const logs of [a, t.open()]) expect(await logs.log('ahead').since(`${epoch}.50`)).toEqual({ reset: 'invalid', head: `${epoch}.20`, headSeq: 20 })
    await sleep(300)
    expect(lost).toEqual([])
    const next = await log.append('m-21')
    expect(next.id).toBe(`${epoch}.21`)
    await eventually(() => expect(heard.at(-1)?.id).toBe(next.id))
    expect(t.errors).toEqual([])
  })

  it('no false alarm: two instances appending and resuming at once, for a second, never start a new epoch', async () => {
    const b = t.open()
    const followers = [await follow(a, 'busy', 100_000), await follow(b, 'busy', 100_000)]
    const epoch = followers[0]!.log.epoch
    let stop = false
    const appenders = followers.flatMap(({ log }) =>
      Array.from({ length: 8 }, async () => {
        while (!stop) await log.append('x')
      }),
    )
    const resumes = (async () => {
      for (let i = 0; !stop; i++) {
        const log = followers[i % 2]!.log
        const replay = await log.since(`${epoch}.${Math.max(0, (followers[i % 2]!.heard.at(-1)?.seq ?? 0) - 20)}`)
        expect('entries' in replay).toBe(true)
      }
    })()
    await sleep(1000)
    stop = true
    await Promise.all([...appenders, resumes])
    const head = Number(await t.redis.run('HGET', 'busy:meta', 'seq'))
    expect(head).toBeGreaterThan(100)
    for (const { heard, lost } of followers) {
      await eventually(() => expect(heard.at(-1)?.seq).toBe(head))
      expect(heard.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1))
      expect(lost).toEqual([])
    }
    expect(await t.redis.run('HGET', 'busy:meta', 'epoch')).toBe(epoch)
    expect(t.errors).toEqual([])
  })
})
