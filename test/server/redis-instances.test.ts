/**
 * Two server instances, each in its own process, on one Redis: a client that moves to the
 * other instance on every reconnect loses and duplicates nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { eventually, onCleanup, openSse, runCleanups, spawnServer } from './helpers'
import { type RedisServer, startRedis } from './redis-server'

const INSTANCE = new URL('../../bench/scale-instance.ts', import.meta.url)

let redis: RedisServer

beforeEach(async () => {
  redis = await startRedis()
  onCleanup(() => redis.stop())
})

afterEach(runCleanups)

describe('two instances in separate processes on one Redis', () => {
  it('a client moving to the other instance on every reconnect: 1,000 events, 50 moves, none lost, none twice, in order', async () => {
    const config = JSON.stringify({ redis: redis.url, key: 'moves', capacity: 2000 })
    const instances = await Promise.all([spawnServer<{ port: number }>(INSTANCE, [config]), spawnServer<{ port: number }>(INSTANCE, [config])])
    const base = (i: number) => `http://127.0.0.1:${instances[i % 2]!.ready.port}`
    /** Appends `n` through instance `on`; answers the last id. */
    let appended = 0
    const append = async (on: number, n: number) => {
      const response = await fetch(`${base(on)}/append?n=${n}&from=${appended}`, { method: 'POST' })
      appended += n
      expect(response.status).toBe(200)
      return response.text()
    }
    const got: { id: string; n: number }[] = []
    // The client starts from a known id, as a page that loaded a snapshot does (a connection
    // with no id is live from when the instance starts reading, a round trip later).
    let lastId = await append(0, 10)
    for (let move = 0; move < 50; move++) {
      // Ten while the client is away (it must resume them), ten while it is connected (live).
      if (move) await append(move, 10)
      const client = await openSse(`${base(move + 1)}/events`, { headers: { 'last-event-id': lastId } })
      await append(move, 10)
      const expected = (move + 1) * 20 - 10
      await eventually(() => expect(got.length + client.events.length).toBe(expected), 10_000)
      client.close()
      await client.done
      for (const event of client.events) got.push({ id: event.id, n: (JSON.parse(event.data) as { n: number }).n })
      lastId = got.at(-1)!.id
    }
    // The ten before the first connection are not the client's.
    expect(got.map((e) => e.n)).toEqual(Array.from({ length: 990 }, (_, i) => i + 11))
    const seqs = got.map((e) => Number(e.id.split('.')[1]))
    expect(seqs.every((seq, i) => i === 0 || seq === seqs[i - 1]! + 1)).toBe(true)
    expect(new Set(got.map((e) => e.id.split('.')[0])).size).toBe(1)
    expect(instances.every((p) => p.alive())).toBe(true)
  }, 60_000)
})
