/**
 * createRealtimeHandler (issue 11): subscribe, resume, reset, snapshot, unsubscribe, publish
 * with ack and de-duplication, and authorize, the same on both transports.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryLog, type ReplayLog } from '../../src/server/log'
import { deferred, eventually, onCleanup, runCleanups } from './helpers'
import { type Client, connect, startRealtime, subscribe, transports, waitFor } from './realtime-helpers'

afterEach(runCleanups)

function warnings() {
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
  onCleanup(() => spy.mockRestore())
  return () => spy.mock.calls.map((call) => String(call[0]))
}

/** Waits until every frame sent before has been handled: a publish to a channel that does not exist answers in its turn. */
async function settle(client: Client) {
  const marker = `barrier-${Math.random()}`
  await client.send({ type: 'publish', channel: marker, data: 1 })
  await waitFor(client, { type: 'error', channel: marker })
}

const events = (client: Client, channel: string) => client.of('event', channel).map((f) => f.data)

describe.each(transports)('createRealtimeHandler over %s: channels', (transport) => {
  it('subscribes (subscribed with the head), gets live events, unsubscribes', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    log.append('"before"')
    const server = await startRealtime({ channels: { news: log } })
    const client = await connect(server, transport)
    await subscribe(client, 'news')
    expect(client.of('subscribed', 'news')).toEqual([{ type: 'subscribed', channel: 'news', head: 'e1.1' }])
    log.append(JSON.stringify({ n: 2 }), 'tick')
    await waitFor(client, { type: 'event', id: 'e1.2' })
    expect(client.of('event')).toEqual([{ type: 'event', channel: 'news', id: 'e1.2', event: 'tick', data: { n: 2 } }])
    await client.send({ type: 'unsubscribe', channel: 'news' })
    await settle(client)
    log.append('"after"')
    await settle(client)
    expect(events(client, 'news')).toEqual([{ n: 2 }])
  })

  it('resumes with since: exactly what was missed, no snapshot; a lost since gets reset, then the snapshot', async () => {
    const log = createMemoryLog({ epoch: 'e1', capacity: 3 })
    for (let i = 1; i <= 5; i++) log.append(String(i))
    const snapshot = vi.fn(() => ({ total: 5 }))
    const server = await startRealtime({ channels: { n: { log, snapshot } } })
    const resumed = await connect(server, transport)
    await subscribe(resumed, 'n', 'e1.3')
    await eventually(() => expect(events(resumed, 'n')).toEqual([4, 5]))
    expect(resumed.of('snapshot')).toEqual([])
    expect(resumed.of('reset')).toEqual([])

    const lost = await connect(server, transport)
    await subscribe(lost, 'n', 'e1.1')
    await waitFor(lost, { type: 'snapshot' })
    expect(lost.frames().map((f) => f.type)).toEqual(['subscribed', 'reset', 'snapshot'])
    expect(lost.of('reset')).toEqual([{ type: 'reset', channel: 'n', epoch: 'e1', reason: 'gap', head: 'e1.5' }])
    expect(lost.of('snapshot')).toEqual([{ type: 'snapshot', channel: 'n', data: { total: 5 } }])
    log.append('6')
    await eventually(() => expect(events(lost, 'n')).toEqual([6]))
    expect(events(resumed, 'n')).toEqual([4, 5, 6])
  })

  it('sends the snapshot right after subscribed on a fresh subscribe, before any event; a throwing snapshot is skipped with a warning', async () => {
    const taken = warnings()
    const log = createMemoryLog({ epoch: 'e1' })
    let broken = false
    const server = await startRealtime({
      channels: {
        s: {
          log,
          snapshot: () => {
            if (broken) throw new Error('no state')
            return ['a']
          },
        },
      },
    })
    const client = await connect(server, transport)
    await client.send({ type: 'subscribe', channel: 's' })
    await waitFor(client, { type: 'snapshot' })
    log.append('1')
    await eventually(() => expect(client.frames().map((f) => f.type)).toEqual(['subscribed', 'snapshot', 'event']))
    broken = true
    await client.send({ type: 'subscribe', channel: 's' })
    await eventually(() => expect(client.of('subscribed')).toHaveLength(2))
    log.append('2')
    await eventually(() => expect(events(client, 's')).toEqual([1, 2]))
    expect(client.of('snapshot')).toHaveLength(1)
    expect(taken().some((w) => w.includes('snapshot failed'))).toBe(true)
  })

  it('publishes without pid: appended, no ack; to a read-only channel: read-only', async () => {
    const room = createMemoryLog({ epoch: 'r1' })
    const news = createMemoryLog({ epoch: 'n1' })
    const server = await startRealtime({ channels: { room: { log: room, writable: true }, news }, origins: '*' })
    const client = await connect(server, transport)
    await subscribe(client, 'room')
    await client.send({ type: 'publish', channel: 'room', data: { text: 'hi' } }, { type: 'publish', channel: 'news', data: 1, pid: 'p9' })
    await waitFor(client, { type: 'event', channel: 'room' })
    await waitFor(client, { type: 'error', code: 'read-only' })
    expect(client.of('error')).toEqual([{ type: 'error', code: 'read-only', message: expect.any(String), channel: 'news', pid: 'p9' }])
    expect(client.of('ack')).toEqual([])
    expect(room.since('r1.0')).toMatchObject({ entries: [expect.objectContaining({ id: 'r1.1', data: '{"text":"hi"}' })] })
  })

  it('too-large data gets too-large with channel and pid; the connection goes on', async () => {
    const room = createMemoryLog({ epoch: 'r1' })
    const server = await startRealtime({ channels: { room: { log: room, writable: true } }, origins: '*', maxPayload: 1000 })
    const client = await connect(server, transport)
    await client.send({ type: 'publish', channel: 'room', data: 'x'.repeat(2000), pid: 'big' })
    await waitFor(client, { type: 'error', code: 'too-large' })
    expect(client.of('error')[0]).toMatchObject({ channel: 'room', pid: 'big' })
    await client.send({ type: 'publish', channel: 'room', data: 'small', pid: 'ok' })
    await waitFor(client, { type: 'ack', pid: 'ok' })
    expect(client.isClosed()).toBe(false)
    expect(room.head).toBe('r1.1')
  })

  it('an append that fails answers server-error (with a warning), never nothing', async () => {
    const taken = warnings()
    const inner = createMemoryLog({ epoch: 'f1' })
    const failing: ReplayLog = { epoch: 'f1', since: (id) => inner.since(id), subscribe: (l) => inner.subscribe(l), append: () => { throw new Error('store down') } }
    const server = await startRealtime({ channels: { f: { log: failing, writable: true } }, origins: '*' })
    const client = await connect(server, transport)
    await client.send({ type: 'publish', channel: 'f', data: 1, pid: 'x1' })
    await waitFor(client, { type: 'error', code: 'server-error' })
    expect(client.of('error')[0]).toMatchObject({ channel: 'f', pid: 'x1' })
    expect(taken().some((w) => w.includes('append failed'))).toBe(true)
  })
})

describe('createRealtimeHandler: publish ack and de-duplication across connections and transports', () => {
  it('the same pid twice (a re-send on another connection) is appended once and acked twice with the same id', async () => {
    const room = createMemoryLog({ epoch: 'r1' })
    const server = await startRealtime({ channels: { room: { log: room, writable: true } }, origins: '*' })
    const ws = await connect(server, 'websocket')
    const sse = await connect(server, 'sse')
    await ws.send({ type: 'publish', channel: 'room', data: { text: 'once' }, pid: 'p-1' })
    await waitFor(ws, { type: 'ack', pid: 'p-1' })
    ws.close()
    await sse.send({ type: 'publish', channel: 'room', data: { text: 'once' }, pid: 'p-1' }, { type: 'publish', channel: 'room', data: 2, pid: 'p-2' })
    await waitFor(sse, { type: 'ack', pid: 'p-2' })
    const ws2 = await connect(server, 'websocket')
    await ws2.send({ type: 'publish', channel: 'room', data: { text: 'once' }, pid: 'p-1' })
    await waitFor(ws2, { type: 'ack', pid: 'p-1' })
    expect(ws.of('ack')).toEqual([{ type: 'ack', channel: 'room', pid: 'p-1', id: 'r1.1' }])
    expect(sse.of('ack')).toEqual([
      { type: 'ack', channel: 'room', pid: 'p-1', id: 'r1.1' },
      { type: 'ack', channel: 'room', pid: 'p-2', id: 'r1.2' },
    ])
    expect(ws2.of('ack')).toEqual([{ type: 'ack', channel: 'room', pid: 'p-1', id: 'r1.1' }])
    expect(room.head).toBe('r1.2')
  })

  it('a pid is per channel: the same pid on another channel is appended there', async () => {
    const a = createMemoryLog({ epoch: 'a1' })
    const b = createMemoryLog({ epoch: 'b1' })
    const server = await startRealtime({ channels: { a: { log: a, writable: true }, b: { log: b, writable: true } }, origins: '*' })
    const client = await connect(server, 'websocket')
    await client.send({ type: 'publish', channel: 'a', data: 1, pid: 'same' }, { type: 'publish', channel: 'b', data: 1, pid: 'same' })
    await waitFor(client, { type: 'ack', channel: 'b' })
    expect(client.of('ack').map((f) => f.id)).toEqual(['a1.1', 'b1.1'])
  })
})

describe.each(transports)('createRealtimeHandler over %s: authorize', (transport) => {
  it('a sync refusal or a throw answers unauthorized on that channel only; the connection goes on', async () => {
    const taken = warnings()
    const open = createMemoryLog({ epoch: 'o1' })
    const secret = createMemoryLog({ epoch: 's1' })
    const calls: string[] = []
    const server = await startRealtime({
      channels: { open: { log: open, writable: true }, secret: { log: secret, writable: true }, broken: secret },
      origins: '*',
      authorize: (request, channel, action) => {
        // The request that opened the connection: the SSE stream's GET, never the POST.
        calls.push(`${action}:${channel}:${request.method} ${request.url}`)
        if (channel === 'broken') throw new Error('token=SECRET')
        return channel === 'open'
      },
    })
    const client = await connect(server, transport)
    await client.send(
      { type: 'subscribe', channel: 'secret' },
      { type: 'publish', channel: 'secret', data: 1, pid: 'q' },
      { type: 'subscribe', channel: 'broken' },
      { type: 'subscribe', channel: 'open' },
    )
    await waitFor(client, { type: 'subscribed', channel: 'open' })
    expect(client.of('error')).toEqual([
      { type: 'error', code: 'unauthorized', message: expect.any(String), channel: 'secret' },
      { type: 'error', code: 'unauthorized', message: expect.any(String), channel: 'secret', pid: 'q' },
      { type: 'error', code: 'unauthorized', message: expect.any(String), channel: 'broken' },
    ])
    expect(calls).toEqual(['subscribe:secret:GET /rt', 'publish:secret:GET /rt', 'subscribe:broken:GET /rt', 'subscribe:open:GET /rt'])
    expect(secret.head).toBe('s1.0')
    expect(taken().join('\n')).not.toContain('SECRET')
  })

  it('async answers keep the frame order: subscribe then unsubscribe while pending ends unsubscribed', async () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const answers: ReturnType<typeof deferred<boolean>>[] = []
    const server = await startRealtime({
      channels: { c: { log, writable: true } },
      origins: '*',
      authorize: () => {
        const answer = deferred<boolean>()
        answers.push(answer)
        return answer.promise
      },
    })
    const client = await connect(server, transport)
    await client.send({ type: 'subscribe', channel: 'c' }, { type: 'unsubscribe', channel: 'c' }, { type: 'publish', channel: 'c', data: 'p', pid: 'p1' })
    await eventually(() => expect(answers).toHaveLength(1))
    // The frames after it wait: nothing else was asked yet.
    await new Promise((resolve) => setImmediate(resolve))
    expect(answers).toHaveLength(1)
    answers[0]!.resolve(true)
    await eventually(() => expect(answers).toHaveLength(2))
    answers[1]!.resolve(true)
    await waitFor(client, { type: 'ack', pid: 'p1' })
    expect(client.frames().map((f) => f.type)).toEqual(['subscribed', 'ack'])
    log.append('"later"')
    const barrier = `b-${transport}`
    await client.send({ type: 'publish', channel: barrier, data: 1 })
    // Asked before the channel is looked up: a refused client makes no channel.
    await eventually(() => expect(answers).toHaveLength(3))
    answers[2]!.resolve(true)
    await waitFor(client, { type: 'error', channel: barrier })
    expect(client.of('event')).toEqual([])
  })

  it('a rejected promise refuses; a later frame is still answered', async () => {
    warnings()
    const log = createMemoryLog({ epoch: 'e1' })
    let n = 0
    const server = await startRealtime({ channels: { c: log }, authorize: async () => (n++ === 0 ? Promise.reject(new Error('db down')) : true) })
    const client = await connect(server, transport)
    await client.send({ type: 'subscribe', channel: 'c' }, { type: 'subscribe', channel: 'c' })
    await waitFor(client, { type: 'subscribed' })
    expect(client.frames().map((f) => f.type)).toEqual(['error', 'subscribed'])
    expect(client.of('error')[0]).toMatchObject({ code: 'unauthorized', channel: 'c' })
  })
})
