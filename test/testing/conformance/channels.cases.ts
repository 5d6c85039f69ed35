/**
 * `createWebSocketHandler` and `mockWebSocketHandler`: the same cases, written once.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryLog } from '../../../src/server/log'
import { atLeast, type Driver, eventually, ofType, openWs, type WsReader } from './clients'

/** Appends a marker to `log` and waits for it: every frame the client was due before it has arrived. */
async function settled(client: WsReader, log: ReturnType<typeof createMemoryLog>, channel: string) {
  const marker = log.append(JSON.stringify({ marker: Math.random() })).id
  await eventually(() => expect(ofType(client.frames, 'event', channel).some((f) => f.id === marker)).toBe(true))
  return marker
}

const without = (frames: readonly Record<string, unknown>[], marker: string) => frames.filter((f) => f.id !== marker)

export function channelCases(driver: Driver) {
  describe(`WebSocket channels (${driver.name})`, () => {
    it('a frame over maxPayload (64 KiB by default) closes the socket with 1009 and publishes nothing', async () => {
      const room = createMemoryLog()
      const client = await openWs(await driver.channels({ channels: { room }, writable: ['room'] }))
      client.send({ type: 'subscribe', channel: 'room' })
      await atLeast(() => client.frames, 1)
      client.send({ type: 'publish', channel: 'room', data: 'x'.repeat(100_000) })
      expect(await client.closed).toBe(1009)
      expect(room.head).toMatch(/\.0$/)
    })

    it('subscribe: subscribed with the head, then live events (JSON data as JSON, other text as a string, the type when set)', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      log.append('"old"')
      const client = await openWs(await driver.channels({ channels: { news: log } }))
      client.send({ type: 'subscribe', channel: 'news' })
      await atLeast(() => client.frames, 1)
      log.append('{"n":2}', 'tick')
      log.append('plain text')
      await atLeast(() => client.frames, 3)
      expect(client.frames).toEqual([
        { type: 'subscribed', channel: 'news', head: 'e1.1' },
        { type: 'event', channel: 'news', id: 'e1.2', event: 'tick', data: { n: 2 } },
        { type: 'event', channel: 'news', id: 'e1.3', data: 'plain text' },
      ])
    })

    it('subscribe with since: exactly the missed events after subscribed, then live', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      for (let i = 1; i <= 4; i++) log.append(String(i))
      const client = await openWs(await driver.channels({ channels: { n: log } }))
      client.send({ type: 'subscribe', channel: 'n', since: 'e1.2' })
      await atLeast(() => client.frames, 3)
      log.append('5')
      await atLeast(() => client.frames, 4)
      expect((client.frames as { type: string; id?: string }[]).map((f) => f.id ?? f.type)).toEqual(['subscribed', 'e1.3', 'e1.4', 'e1.5'])
    })

    it('since of another epoch, or too old: subscribed, then reset naming the head, then live', async () => {
      const log = createMemoryLog({ epoch: 'e2', capacity: 2 })
      for (let i = 1; i <= 4; i++) log.append(String(i))
      const url = await driver.channels({ channels: { n: log } })
      const restarted = await openWs(url)
      const behind = await openWs(url)
      restarted.send({ type: 'subscribe', channel: 'n', since: 'e1.9' })
      behind.send({ type: 'subscribe', channel: 'n', since: 'e2.1' })
      await atLeast(() => restarted.frames, 2)
      await atLeast(() => behind.frames, 2)
      log.append('5')
      await atLeast(() => restarted.frames, 3)
      expect(restarted.frames).toEqual([
        { type: 'subscribed', channel: 'n', head: 'e2.4' },
        { type: 'reset', channel: 'n', epoch: 'e2', reason: 'epoch', head: 'e2.4' },
        { type: 'event', channel: 'n', id: 'e2.5', data: 5 },
      ])
      expect(ofType(behind.frames, 'reset')).toEqual([{ type: 'reset', channel: 'n', epoch: 'e2', reason: 'gap', head: 'e2.4' }])
    })

    it('publish appends JSON to a writable channel (every subscriber gets it); read-only and unknown channels get typed errors', async () => {
      const room = createMemoryLog({ epoch: 'r' })
      const news = createMemoryLog({ epoch: 'n' })
      const client = await openWs(await driver.channels({ channels: { room, news }, writable: ['room'] }))
      client.send({ type: 'subscribe', channel: 'room' })
      await atLeast(() => client.frames, 1)
      client.send({ type: 'publish', channel: 'room', data: { text: 'hi' } })
      client.send({ type: 'publish', channel: 'news', data: 1 })
      client.send({ type: 'publish', channel: 'nope', data: 1 })
      await atLeast(() => client.frames, 4)
      expect(ofType(client.frames, 'event')).toEqual([{ type: 'event', channel: 'room', id: 'r.1', data: { text: 'hi' } }])
      expect(ofType(client.frames, 'error')).toEqual([
        { type: 'error', code: 'read-only', message: 'cannot publish to "news"' },
        { type: 'error', code: 'unknown-channel', message: 'no channel "nope"' },
      ])
      expect(news.head).toBe('n.0')
    })

    it('the text ping is answered pong', async () => {
      const client = await openWs(await driver.channels({ channels: { a: createMemoryLog() } }))
      client.send('ping')
      await atLeast(() => client.texts, 1)
      expect(client.texts).toEqual(['pong'])
    })

    it('bad frames get typed error frames, and the socket goes on', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      const client = await openWs(await driver.channels({ channels: { a: log } }))
      for (const bad of ['not json', '{}', 'null', '{"type":"shout","channel":"a"}', '{"type":"subscribe","channel":"a","since":5}', '{"type":"subscribe","channel":"zz"}']) client.send(bad)
      await atLeast(() => client.frames, 6)
      expect(client.frames).toEqual([
        { type: 'error', code: 'bad-json', message: 'frames must be JSON text' },
        { type: 'error', code: 'bad-message', message: 'expected { type, channel }' },
        { type: 'error', code: 'bad-message', message: 'expected { type, channel }' },
        { type: 'error', code: 'bad-message', message: 'type must be subscribe, unsubscribe or publish' },
        { type: 'error', code: 'bad-message', message: '`since` must be an id string' },
        { type: 'error', code: 'unknown-channel', message: 'no channel "zz"' },
      ])
      client.send({ type: 'subscribe', channel: 'a' })
      await atLeast(() => client.frames, 7)
      expect(client.frames[6]).toEqual({ type: 'subscribed', channel: 'a', head: 'e1.0' })
    })

    it('unsubscribe stops the events of that channel only', async () => {
      const a = createMemoryLog({ epoch: 'a' })
      const b = createMemoryLog({ epoch: 'b' })
      const client = await openWs(await driver.channels({ channels: { a, b } }))
      client.send({ type: 'subscribe', channel: 'a' })
      client.send({ type: 'subscribe', channel: 'b' })
      await atLeast(() => client.frames, 2)
      client.send({ type: 'unsubscribe', channel: 'a' })
      client.send('ping')
      await eventually(() => expect(client.texts).toContain('pong'))
      a.append('1')
      const marker = await settled(client, b, 'b')
      expect(without(ofType(client.frames, 'event'), marker)).toEqual([])
    })

    it('a subscribe that replaces one on the same socket does not send again what the socket already got', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      const client = await openWs(await driver.channels({ channels: { n: log } }))
      client.send({ type: 'subscribe', channel: 'n' })
      await atLeast(() => client.frames, 1)
      log.append('1')
      log.append('2')
      await atLeast(() => client.frames, 3)
      client.send({ type: 'subscribe', channel: 'n', since: 'e1.0' })
      await eventually(() => expect(ofType(client.frames, 'subscribed')).toHaveLength(2))
      const marker = await settled(client, log, 'n')
      expect(without(ofType(client.frames, 'event'), marker).map((f) => f.id)).toEqual(['e1.1', 'e1.2'])
    })
  })
}
