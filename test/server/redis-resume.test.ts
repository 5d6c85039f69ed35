/**
 * A long resume from the Redis log against a real redis-server: read page by page (no single
 * command answers more than a page, so Redis is never busy for long), every entry once and in
 * order, and a page that does not go on where the last ended (trimmed or flushed meanwhile)
 * is a reset, never a hole.
 */
import { createClient } from 'redis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AnyReplayLog, Replay } from '../../src/server/log'
import { createRedisLogs, type RedisClientLike, type RedisLogs } from '../../src/server/redis-log'
import { PAGE_BYTES, PAGE_ENTRIES } from '../../src/server/redis-scripts'
import { createSseHandler } from '../../src/server/sse'
import { eventually, onCleanup, openSse, runCleanups, sleep, startServer, tick } from './helpers'
import { type RedisServer, startRedis } from './redis-server'

let redis: RedisServer

beforeEach(async () => {
  redis = await startRedis()
  onCleanup(() => redis.stop())
})

afterEach(runCleanups)

interface Answer {
  command: string
  entries: number
  bytes: number
}

/**
 * Logs over a real client whose command replies are measured; `before(args)` runs before each
 * command is sent (to change Redis between two pages).
 */
function measured(before: (args: readonly string[]) => Promise<void> = async () => {}, reader = (client: RedisClientLike) => client, options: { resumes?: number } = {}) {
  const real = createClient({ url: redis.url }) as unknown as RedisClientLike
  const answers: Answer[] = []
  const client: RedisClientLike = {
    async sendCommand(args) {
      await before(args)
      const reply = await real.sendCommand(args)
      const raw = args[0] === 'XRANGE' ? reply : args[0] === 'EVAL' && Array.isArray(reply) && Array.isArray(reply[3]) ? reply[3] : undefined
      if (Array.isArray(raw)) answers.push({ command: String(args[0]), entries: raw.length, bytes: JSON.stringify(raw).length })
      return reply
    },
    duplicate: (overrides) => reader(real.duplicate(overrides)),
    connect: () => real.connect(),
    get isOpen() {
      return real.isOpen
    },
    get isReady() {
      return real.isReady
    },
    on: ((event: 'error', listener: (error: Error) => void) => real.on(event, listener)) as RedisClientLike['on'],
    destroy: () => real.destroy(),
  }
  const logs = createRedisLogs({ client, block: 100, onError: () => {}, ...options })
  onCleanup(() => {
    logs.close()
    real.destroy()
  })
  return { logs, answers }
}

/** Appends `n` entries of `size` characters to log `key` in one script (as appends do), answers the epoch. */
async function fill(logs: RedisLogs, key: string, n: number, size: number) {
  const log = logs.log(key, { capacity: n + 10 })
  await log.ready
  await redis.run('EVAL', BULK, '2', `${key}:stream`, `${key}:meta`, String(n), String(size))
  return log.epoch
}

/** `since(id)` with every page read (`more`) and joined, as the handlers read them one by one. */
async function whole(log: AnyReplayLog, id: string): Promise<Replay> {
  let replay = await log.since(id)
  while ('entries' in replay && replay.more) {
    const rest = await replay.more()
    if ('reset' in rest) return rest
    replay = { entries: [...replay.entries, ...rest.entries], more: rest.more }
  }
  return replay
}

const BULK = `
local epoch = redis.call('HGET', KEYS[2], 'epoch')
local data = string.rep('x', tonumber(ARGV[2]))
for i = 1, tonumber(ARGV[1]) do
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('XADD', KEYS[1], seq .. '-0', 'p', epoch, 'd', data)
end`

describe('a long resume from the Redis log', () => {
  it('2,500 small entries: every one, in order, in pages of at most PAGE_ENTRIES', async () => {
    const { logs, answers } = measured()
    const epoch = await fill(logs, 'small', 2500, 10)
    const log = logs.log('small', { capacity: 3000 })
    answers.length = 0
    const replay = await whole(log, `${epoch}.3`)
    expect('entries' in replay && replay.entries.map((e) => e.id)).toEqual(Array.from({ length: 2497 }, (_, i) => `${epoch}.${i + 4}`))
    expect(answers.length).toBeGreaterThanOrEqual(5)
    expect(Math.max(...answers.map((a) => a.entries))).toBeLessThanOrEqual(PAGE_ENTRIES)
  })

  it('60 entries of 200 KB: no command answers much more than PAGE_BYTES', async () => {
    const { logs, answers } = measured()
    const epoch = await fill(logs, 'big', 60, 200_000)
    const log = logs.log('big', { capacity: 100 })
    answers.length = 0
    const replay = await whole(log, `${epoch}.0`)
    expect('entries' in replay && replay.entries.map((e) => [e.seq, e.data.length])).toEqual(Array.from({ length: 60 }, (_, i) => [i + 1, 200_000]))
    expect(Math.max(...answers.map((a) => a.bytes))).toBeLessThan(PAGE_BYTES + 2 * 200_100)
  })

  it('long resumes read their pages `resumes` at a time; the others wait their turn, and each is whole', async () => {
    // Every XRANGE (a page after the first) waits until the test lets it go.
    const held: (() => void)[] = []
    let most = 0
    const { logs } = measured(
      (args) => {
        if (args[0] !== 'XRANGE') return Promise.resolve()
        return new Promise<void>((resolve) => {
          held.push(resolve)
          most = Math.max(most, held.length)
        })
      },
      undefined,
      { resumes: 2 },
    )
    const epoch = await fill(logs, 'many', 2000, 10)
    const log = logs.log('many', { capacity: 3000 })
    let finished = false
    const replays = Promise.all([0, 1, 2].map(() => whole(log, `${epoch}.0`))).finally(() => void (finished = true))
    await eventually(() => expect(held.length).toBe(2))
    for (let i = 0; i < 20; i++) await tick()
    expect(held.length).toBe(2) // the third resume waits for a turn
    while (!finished) {
      if (held.length) held.shift()!()
      else await tick()
    }
    for (const replay of await replays) expect('entries' in replay && replay.entries.length).toBe(2000)
    expect(most).toBe(2)
  })

  it('trimmed between two pages: a gap reset to the head, never a hole', async () => {
    let trim = false
    const { logs } = measured(async (args) => {
      if (!trim || args[0] !== 'XRANGE') return
      trim = false
      await redis.run('XTRIM', 'trimmed:stream', 'MAXLEN', '100')
    })
    const epoch = await fill(logs, 'trimmed', 2000, 10)
    const log = logs.log('trimmed', { capacity: 3000 })
    trim = true
    expect(await whole(log, `${epoch}.0`)).toEqual({ reset: 'gap', head: `${epoch}.2000`, headSeq: 2000 })
  })

  it('flushed and refilled under another epoch between two pages: an epoch reset to the new head', async () => {
    let flush = false
    const { logs } = measured(async (args) => {
      if (!flush || args[0] !== 'XRANGE') return
      flush = false
      await redis.run('FLUSHALL')
      await redis.run('HSET', 'flushed:meta', 'epoch', 'other', 'seq', '0')
      await redis.run('EVAL', BULK, '2', 'flushed:stream', 'flushed:meta', '2000', '10')
    })
    const epoch = await fill(logs, 'flushed', 2000, 10)
    const log = logs.log('flushed', { capacity: 3000 })
    flush = true
    expect(await whole(log, `${epoch}.0`)).toEqual({ reset: 'epoch', head: 'other.2000', headSeq: 2000 })
  })
})

describe('a resume on an instance whose reader is behind Redis', () => {
  it('the client gets nothing it had: since says the seq its id names (afterSeq), the entries its reader hears late are dropped', async () => {
    // Instance B's reader hears every entry 150 ms after Redis has it.
    const late = (client: RedisClientLike): RedisClientLike =>
      Object.assign(Object.create(client) as RedisClientLike, {
        async sendCommand(args: readonly string[]) {
          const reply = await client.sendCommand(args)
          if (args[0] === 'XREAD' && reply) await sleep(150)
          return reply
        },
      })
    const b = measured(undefined, late).logs.log('late')
    const sse = await startServer({ request: createSseHandler({ log: b, heartbeat: 0, batchWindow: 0 }) })
    b.subscribe(() => {})
    await eventually(() => expect(b.head).toBeDefined())
    const a = measured().logs.log('late')
    for (let i = 1; i <= 3; i++) await a.append(`m${i}`)
    // The client saw 1-3 on instance A and resumes on B before B's reader heard them.
    const last = `${b.epoch}.3`
    expect(await b.since(last)).toEqual({ entries: [], afterSeq: 3 })
    const client = await openSse(sse.url('/'), { headers: { 'last-event-id': last } })
    const next = await a.append('m4')
    await eventually(() => expect(client.events.filter((e) => e.type === 'message').map((e) => e.id)).toEqual([next.id]))
    await sleep(300)
    expect(client.events.filter((e) => e.type === 'message').map((e) => e.id)).toEqual([next.id])
  })
})
