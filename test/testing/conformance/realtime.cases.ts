/**
 * `createRealtimeHandler` and `mockRealtimeHandler`, over both transports: the same cases,
 * written once.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryLog } from '../../../src/server/log'
import { atLeast, type Driver, eventually, ofType, openSse, openWs } from './clients'
import { connectRealtime, settle, subscribe, transports } from './realtime-client'

const types = (frames: readonly Record<string, unknown>[]) => frames.map((f) => f.type)

export function realtimeCases(driver: Driver) {
  describe.each(transports)(`realtime over %s (${driver.name})`, (transport) => {
    it('subscribe: subscribed with the head, then live events; unsubscribe stops them', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      log.append('"before"')
      const client = await connectRealtime(await driver.realtime({ channels: { news: log } }), transport)
      await subscribe(client, 'news')
      log.append('{"n":2}', 'tick')
      await eventually(() => expect(client.of('event')).toHaveLength(1))
      await client.send({ type: 'unsubscribe', channel: 'news' })
      await settle(client)
      log.append('"after"')
      await settle(client)
      expect(client.of('subscribed')).toEqual([{ type: 'subscribed', channel: 'news', head: 'e1.1' }])
      expect(client.of('event')).toEqual([{ type: 'event', channel: 'news', id: 'e1.2', event: 'tick', data: { n: 2 } }])
    })

    it('since: exactly the missed events and no snapshot; a lost since: reset, then the snapshot; no since: the snapshot', async () => {
      const log = createMemoryLog({ epoch: 'e1', capacity: 3 })
      for (let i = 1; i <= 5; i++) log.append(String(i))
      const url = await driver.realtime({ channels: { n: { log, snapshot: () => ({ total: 5 }) } } })
      const resumed = await connectRealtime(url, transport)
      await subscribe(resumed, 'n', 'e1.3')
      await eventually(() => expect(resumed.of('event')).toHaveLength(2))
      const lost = await connectRealtime(url, transport)
      await subscribe(lost, 'n', 'e1.1')
      const fresh = await connectRealtime(url, transport)
      await subscribe(fresh, 'n')
      await eventually(() => expect(lost.of('snapshot')).toHaveLength(1))
      await eventually(() => expect(fresh.of('snapshot')).toHaveLength(1))
      expect(resumed.of('event').map((f) => f.data)).toEqual([4, 5])
      expect(types(resumed.frames())).toEqual(['subscribed', 'event', 'event'])
      expect(lost.frames()).toEqual([
        { type: 'subscribed', channel: 'n', head: 'e1.5' },
        { type: 'reset', channel: 'n', epoch: 'e1', reason: 'gap', head: 'e1.5' },
        { type: 'snapshot', channel: 'n', data: { total: 5 } },
      ])
      expect(types(fresh.frames())).toEqual(['subscribed', 'snapshot'])
    })

    it('publish with a pid is acknowledged with the entry id; the same pid again is acknowledged, not appended', async () => {
      const log = createMemoryLog({ epoch: 'r' })
      const client = await connectRealtime(await driver.realtime({ channels: { room: { log, writable: true } } }), transport)
      await subscribe(client, 'room')
      await client.send({ type: 'publish', channel: 'room', data: { text: 'hi' }, pid: 'p1' })
      await client.send({ type: 'publish', channel: 'room', data: { text: 'hi' }, pid: 'p1' })
      await client.send({ type: 'publish', channel: 'room', data: 'no pid' })
      await eventually(() => expect(client.of('event')).toHaveLength(2))
      await settle(client)
      expect(client.of('ack')).toEqual([
        { type: 'ack', channel: 'room', pid: 'p1', id: 'r.1' },
        { type: 'ack', channel: 'room', pid: 'p1', id: 'r.1' },
      ])
      expect(client.of('event').map((f) => f.data)).toEqual([{ text: 'hi' }, 'no pid'])
      expect(log.head).toBe('r.2')
    })

    it('refused publishes get typed errors naming the channel and pid', async () => {
      const url = await driver.realtime({ channels: { news: createMemoryLog(), room: { log: createMemoryLog(), writable: true } }, maxPayload: 64 })
      const client = await connectRealtime(url, transport)
      await client.send(
        { type: 'publish', channel: 'news', data: 1, pid: 'a' },
        { type: 'publish', channel: 'nope', data: 1, pid: 'b' },
        { type: 'publish', channel: 'room', data: 'x'.repeat(70), pid: 'c' },
        { type: 'publish', channel: 'room', data: 1, pid: '' },
      )
      await eventually(() => expect(client.of('error')).toHaveLength(4))
      expect(client.of('error')).toEqual([
        { type: 'error', code: 'read-only', message: 'cannot publish to "news"', channel: 'news', pid: 'a' },
        { type: 'error', code: 'unknown-channel', message: 'no channel "nope"', channel: 'nope', pid: 'b' },
        { type: 'error', code: 'too-large', message: 'data is over 64 bytes', channel: 'room', pid: 'c' },
        { type: 'error', code: 'bad-message', message: 'pid must be a string of 1 to 64 characters', channel: 'room' },
      ])
    })

    it('bad frames get typed errors (on the channel when known), and the connection goes on', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      const client = await connectRealtime(await driver.realtime({ channels: { a: log } }), transport)
      await client.send(5, { type: 'subscribe' }, { type: 'shout', channel: 'a' }, { type: 'subscribe', channel: 'a', since: 7 }, { type: 'subscribe', channel: 'x'.repeat(257) })
      await eventually(() => expect(client.of('error')).toHaveLength(5))
      expect(client.of('error')).toEqual([
        { type: 'error', code: 'bad-message', message: 'expected { type, channel }' },
        { type: 'error', code: 'bad-message', message: 'channel must be a string of 1 to 256 characters' },
        { type: 'error', code: 'bad-message', message: 'type must be subscribe, unsubscribe or publish', channel: 'a' },
        { type: 'error', code: 'bad-message', message: '`since` must be an id string', channel: 'a' },
        { type: 'error', code: 'bad-message', message: 'channel must be a string of 1 to 256 characters' },
      ])
      await subscribe(client, 'a')
    })

    it('not JSON: an error frame bad-json on a WebSocket, HTTP 400 bad-json for a POST', async () => {
      const client = await connectRealtime(await driver.realtime({ channels: { a: createMemoryLog() } }), transport)
      const answer = await client.sendRaw('{not json')
      if (transport === 'sse') expect(answer).toEqual({ status: 400, body: '{"error":"bad-json"}' })
      else await eventually(() => expect(client.of('error')).toEqual([{ type: 'error', code: 'bad-json', message: 'frames must be JSON text' }]))
      await subscribe(client, 'a')
    })

    it('past maxSubscriptions a subscribe gets too-many; resubscribing a held channel does not count', async () => {
      const channels = { a: createMemoryLog(), b: createMemoryLog(), c: createMemoryLog() }
      const client = await connectRealtime(await driver.realtime({ channels, maxSubscriptions: 2 }), transport)
      await subscribe(client, 'a')
      await subscribe(client, 'b')
      await subscribe(client, 'b')
      await client.send({ type: 'subscribe', channel: 'c' })
      await eventually(() => expect(client.of('error')).toEqual([{ type: 'error', code: 'too-many', message: 'at most 2 subscriptions per connection', channel: 'c' }]))
    })
    it('a snapshot that throws is skipped: subscribed with no snapshot, and the connection and its other channels go on', async () => {
      const prices = createMemoryLog({ epoch: 'p' })
      const boom = { log: createMemoryLog({ epoch: 'b' }), snapshot: () => { throw new Error('snapshot down') } }
      const client = await connectRealtime(await driver.realtime({ channels: { boom, prices } }), transport)
      await subscribe(client, 'boom')
      await subscribe(client, 'prices')
      prices.append('42')
      await eventually(() => expect(client.of('event', 'prices')).toHaveLength(1))
      expect(types(client.frames())).toEqual(['subscribed', 'subscribed', 'event'])
    })

    it("a publish with a pid: the publisher gets the ack before the publish's own event", async () => {
      const client = await connectRealtime(await driver.realtime({ channels: { room: { log: createMemoryLog({ epoch: 'r' }), writable: true } } }), transport)
      await subscribe(client, 'room')
      await client.send({ type: 'publish', channel: 'room', data: 1, pid: 'a' })
      await client.send({ type: 'publish', channel: 'room', data: 2, pid: 'b' })
      await eventually(() => expect(client.of('event')).toHaveLength(2))
      await eventually(() => expect(client.of('ack')).toHaveLength(2))
      // The server batches events (its batchWindow), so only each publish's own order is fixed.
      const order = client.frames().map((f) => `${f.type} ${f.pid ?? f.data}`)
      expect(order.indexOf('ack a')).toBeLessThan(order.indexOf('event 1'))
      expect(order.indexOf('ack b')).toBeLessThan(order.indexOf('event 2'))
    })
  })

  describe(`realtime transports apart (${driver.name})`, () => {
    it('WebSocket: a frame beyond max(16 × maxPayload, 1 MiB) closes the socket with 1009; a publish over maxPayload only gets too-large', async () => {
      const url = (await driver.realtime({ channels: { room: { log: createMemoryLog(), writable: true } }, maxPayload: 1024 })).replace(/^http/, 'ws')
      const ws = await openWs(url)
      ws.send({ type: 'publish', channel: 'room', data: 'x'.repeat(2000) })
      await eventually(() => expect(ofType(ws.frames, 'error')).toMatchObject([{ code: 'too-large', channel: 'room' }]))
      ws.send({ type: 'publish', channel: 'room', data: 'x'.repeat(1_100_000) })
      expect(await ws.closed).toBe(1009)
    })

    it('WebSocket: the text ping is answered pong', async () => {
      const ws = await openWs((await driver.realtime({ channels: {} })).replace(/^http/, 'ws'))
      ws.send('ping')
      await atLeast(() => ws.texts, 1)
      expect(ws.texts).toEqual(['pong'])
    })

    it('SSE: a GET that does not accept an event stream gets 406; POSTs check type, shape and session', async () => {
      const url = await driver.realtime({ channels: { a: createMemoryLog() } })
      const plain = await fetch(url)
      expect([plain.status, await plain.text()]).toEqual([406, '{"error":"not-acceptable"}'])
      const client = await connectRealtime(url, 'sse')
      const answers = [
        await client.sendRaw('{}', 'text/plain'),
        await client.sendRaw('{"session":1,"frames":[]}'),
        await client.sendRaw(JSON.stringify({ session: client.session, frames: Array.from({ length: 1001 }, () => 0) })),
        await client.sendRaw('{"session":"nobody","frames":[]}'),
        await client.sendRaw(JSON.stringify({ session: client.session, frames: [] })),
      ]
      expect(answers).toEqual([
        { status: 415, body: '{"error":"unsupported-media-type"}' },
        { status: 400, body: '{"error":"bad-message"}' },
        { status: 413, body: '{"error":"too-many"}' },
        { status: 404, body: '{"error":"unknown-session"}' },
        { status: 204, body: '' },
      ])
    })

    it('SSE: the stream starts with hello (session, protocol 1), each frame one event with no id and no type', async () => {
      const log = createMemoryLog({ epoch: 'e1' })
      const url = await driver.realtime({ channels: { a: log } })
      const sse = await openSse(url)
      const [hello] = await atLeast(() => sse.events, 1)
      const session = (JSON.parse(hello!.data) as { session: string }).session
      expect(JSON.parse(hello!.data)).toEqual({ type: 'hello', session, protocol: 1 })
      await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, frames: [{ type: 'subscribe', channel: 'a' }] }) })
      await atLeast(() => sse.events, 2)
      log.append('1')
      await atLeast(() => sse.events, 3)
      expect(sse.events.map((e) => [e.type, e.id])).toEqual([['message', ''], ['message', ''], ['message', '']])
      expect(sse.events.slice(1).map((e) => e.data)).toEqual(['{"type":"subscribed","channel":"a","head":"e1.0"}', '{"type":"event","channel":"a","id":"e1.1","data":1}'])
    })
  })
}
