/**
 * `createSseHandler` and `mockSseHandler`: the same cases, written once.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryLog, type LogEntry, type Replay, type ReplayLog } from '../../../src/server/log'
import { atLeast, type Driver, openSse } from './clients'

const events = (list: readonly { type: string; data: string; id: string }[]) => list.map((e) => `${e.type} ${e.id} ${e.data}`)

/** A log whose `since` answers only when the test lets it (a shared store's async read). */
function heldLog(inner: ReplayLog) {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const log: ReplayLog = {
    epoch: inner.epoch,
    append: (data, event) => inner.append(data, event),
    subscribe: (listener: (entry: LogEntry) => void) => inner.subscribe(listener),
    async since(id): Promise<Replay> {
      const answer = await inner.since(id)
      await gate
      return answer
    },
  }
  return { log, release }
}

export function sseCases(driver: Driver) {
  describe(`SSE (${driver.name})`, () => {
    it('first connect: the retry hint first, headers of an event stream, then live events with ids and types, nothing replayed', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      log.append('old')
      const url = await driver.sse({ log, retry: 1500 })
      const client = await openSse(url)
      expect(client.response.status).toBe(200)
      expect(client.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      expect(client.response.headers.get('cache-control')).toBe('no-cache, no-transform')
      await atLeast(() => client.retries, 1)
      log.append('one')
      log.append('{"n":2}', 'tick')
      await atLeast(() => client.events, 2)
      expect(client.raw()).toBe('retry: 1500\n\nid: e1.2\ndata: one\n\nid: e1.3\nevent: tick\ndata: {"n":2}\n\n')
      expect(client.retries).toEqual([1500])
    })

    it('resumes from Last-Event-ID: exactly the missed events, then live, none twice', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      for (let i = 1; i <= 5; i++) log.append(`d${i}`, i % 2 ? undefined : 'even')
      const client = await openSse(await driver.sse({ log }), { 'last-event-id': 'e1.2' })
      await atLeast(() => client.events, 3)
      log.append('d6')
      await atLeast(() => client.events, 4)
      expect(events(client.events)).toEqual(['message e1.3 d3', 'even e1.4 d4', 'message e1.5 d5', 'message e1.6 d6'])
    })

    it('resumes from the query parameter lastEventId when there is no header', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      for (let i = 1; i <= 3; i++) log.append(`d${i}`)
      const client = await openSse(`${await driver.sse({ log })}?lastEventId=e1.1`)
      await atLeast(() => client.events, 2)
      expect(events(client.events)).toEqual(['message e1.2 d2', 'message e1.3 d3'])
    })

    it('reads the resume id from a custom parameter; the header wins over it', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      for (let i = 1; i <= 3; i++) log.append(`d${i}`)
      const url = await driver.sse({ log, lastEventIdParam: 'since' })
      const byParam = await openSse(`${url}?since=e1.2&lastEventId=e1.0`)
      const byHeader = await openSse(`${url}?since=e1.0`, { 'last-event-id': 'e1.2' })
      await atLeast(() => byParam.events, 1)
      await atLeast(() => byHeader.events, 1)
      log.append('d4')
      await atLeast(() => byParam.events, 2)
      await atLeast(() => byHeader.events, 2)
      expect(events(byParam.events)).toEqual(['message e1.3 d3', 'message e1.4 d4'])
      expect(events(byHeader.events)).toEqual(['message e1.3 d3', 'message e1.4 d4'])
    })

    it('an id of another epoch (a restart) gets a reset event naming the head, then live events after it', async () => {
      const log = createMemoryLog({ epoch: 'e2' })
      log.append('a')
      log.append('b')
      const client = await openSse(await driver.sse({ log }), { 'last-event-id': 'e1.7' })
      await atLeast(() => client.events, 1)
      log.append('c')
      await atLeast(() => client.events, 2)
      expect(client.events[0]).toEqual({ type: 'reset', id: 'e2.2', data: JSON.stringify({ epoch: 'e2', reason: 'epoch' }) })
      expect(events(client.events.slice(1))).toEqual(['message e2.3 c'])
    })

    it('an id older than the log keeps resets with reason gap; a malformed or future id with reason invalid', async () => {
      const log = createMemoryLog({ epoch: 'e1', capacity: 2 })
      for (let i = 1; i <= 5; i++) log.append(`d${i}`)
      const url = await driver.sse({ log })
      const reasons = async (id: string) => {
        const client = await openSse(url, { 'last-event-id': id })
        const [first] = await atLeast(() => client.events, 1)
        client.close()
        return `${first!.type} ${first!.id} ${first!.type === 'reset' ? JSON.parse(first!.data).reason : first!.data}`
      }
      expect(await reasons('e1.1')).toBe('reset e1.5 gap')
      expect(await reasons('e1.9')).toBe('reset e1.5 invalid')
      expect(await reasons('not an id')).toBe('reset e1.5 invalid')
      expect(await reasons('e1.3')).toBe('message e1.4 d4')
    })

    it('resuming from the newest id replays nothing and resets nothing', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      log.append('a')
      const client = await openSse(await driver.sse({ log }), { 'last-event-id': 'e1.1' })
      await atLeast(() => client.retries, 1)
      log.append('b')
      await atLeast(() => client.events, 1)
      expect(events(client.events)).toEqual(['message e1.2 b'])
    })

    it('frames multi-line data as one data line each, so it cannot smuggle fields', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      const client = await openSse(await driver.sse({ log }))
      await atLeast(() => client.retries, 1)
      log.append('line 1\nid: forged\r\nevent: forged\rend', 'multi')
      await atLeast(() => client.events, 1)
      expect(client.events).toEqual([{ type: 'multi', id: 'e1.1', data: 'line 1\nid: forged\nevent: forged\nend' }])
    })

    it('entries appended while an async since is pending reach the client once, in order, after the replay', async () => {
      const inner = createMemoryLog({ epoch: 'e1' })
      inner.append('d1')
      inner.append('d2')
      const { log, release } = heldLog(inner)
      const client = await openSse(await driver.sse({ log }), { 'last-event-id': 'e1.1' })
      await atLeast(() => client.retries, 1)
      log.append('d3')
      log.append('d4')
      release()
      await atLeast(() => client.events, 3)
      log.append('d5')
      await atLeast(() => client.events, 4)
      expect(events(client.events)).toEqual(['message e1.2 d2', 'message e1.3 d3', 'message e1.4 d4', 'message e1.5 d5'])
    })
  })
}
