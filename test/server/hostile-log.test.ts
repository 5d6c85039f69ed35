/**
 * Logs that misbehave or use other ids, against both handlers (issue 10, items 2 and 4): a
 * since() that throws or answers garbage, a since() that never answers while entries pile
 * up, entries no client can be sent, and ids that are not `<epoch>.<seq>`. Nothing may throw
 * out of a handler; the client concerned is cut or the entry skipped with a warning, and
 * every other client goes on.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryLog, type LogEntry, type Replay, type ReplayLog } from '../../src/server/log'
import { createSseHandler } from '../../src/server/sse'
import { createWebSocketHandler } from '../../src/server/ws'
import { deferred, eventually, onCleanup, openSse, openWs, runCleanups, startServer } from './helpers'

afterEach(runCleanups)

/** Captures the handlers' process warnings (and keeps them out of the test output). */
function warnings() {
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
  onCleanup(() => spy.mockRestore())
  return () => spy.mock.calls.map((call) => String(call[0]))
}

/**
 * A store with ids `x-<seq>` (not `<epoch>.<seq>`), seq 10, 20, 30… (gaps allowed), whose
 * since() can be replaced.
 */
function customLog(since?: (id: string | null | undefined, inner: (id: string | null | undefined) => Replay) => Replay | Promise<Replay>) {
  const entries: LogEntry[] = []
  const listeners = new Set<(entry: LogEntry) => void>()
  const replay = (id: string | null | undefined): Replay => {
    const last = entries.at(-1)
    const reset = { reset: 'invalid' as const, head: last?.id ?? 'x-0', headSeq: last?.seq ?? 0 }
    if (!id) return { entries: [] }
    const at = entries.findIndex((e) => e.id === id)
    return at < 0 ? reset : { entries: entries.slice(at + 1) }
  }
  const log: ReplayLog & { raw(entry: LogEntry): void } = {
    epoch: 'custom',
    append(data, event) {
      const seq = (entries.length + 1) * 10
      const entry = { id: `x-${seq}`, seq, event, data }
      log.raw(entry)
      return entry
    },
    /** Appends an entry as it is, unchecked. */
    raw(entry) {
      entries.push(entry)
      for (const listener of [...listeners]) listener(entry)
    },
    since: (id) => (since ? since(id, replay) : replay(id)),
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
  return { log, listeners }
}

async function sseServer(log: ReplayLog, maxBuffered?: number) {
  const sse = createSseHandler({ log, heartbeat: 0, ...(maxBuffered ? { maxBuffered } : {}) })
  const srv = await startServer({ request: sse })
  return { sse, srv, url: srv.url('/events') }
}

async function wsServer(log: ReplayLog, maxBuffered?: number) {
  const ws = createWebSocketHandler({ channels: { feed: log }, heartbeat: 0, ...(maxBuffered ? { maxBuffered } : {}) })
  onCleanup(() => ws.close())
  const srv = await startServer({ upgrade: ws.handleUpgrade })
  return { ws, srv, url: `ws://127.0.0.1:${srv.port}/` }
}

const failingSince: [string, () => Replay | Promise<Replay>][] = [
  [
    'throws synchronously',
    () => {
      throw new Error('store down')
    },
  ],
  ['rejects', () => Promise.reject(new Error('store down'))],
  ['answers neither entries nor a reset', () => ({}) as Replay],
  ['answers a reset without headSeq (the old contract)', () => ({ reset: 'gap', head: 'x-10' }) as unknown as Replay],
]

describe('a since() that fails cuts that client only', () => {
  it.each(failingSince)('SSE: since %s', async (_name, fail) => {
    const taken = warnings()
    const { log } = customLog((id, inner) => (id === 'x-10' ? fail() : inner(id)))
    log.append('a')
    const { sse, srv, url } = await sseServer(log)
    const other = await openSse(url)
    const cut = await openSse(url, { headers: { 'last-event-id': 'x-10' } })
    await cut.done
    expect(cut.ended).toBe(true)
    expect(srv.takeErrors()).toEqual([])
    expect(taken().join('\n')).toMatch(/replay failed/)
    log.append('b')
    await eventually(() => expect(other.events.map((e) => e.data)).toEqual(['b']))
    expect(sse.clients).toBe(1)
  })

  it.each(failingSince)('WebSocket: since %s', async (_name, fail) => {
    const taken = warnings()
    const { log, listeners } = customLog((id, inner) => (id === 'x-10' ? fail() : inner(id)))
    log.append('a')
    const { ws, url } = await wsServer(log)
    const other = await openWs(url)
    other.send({ type: 'subscribe', channel: 'feed' })
    const cut = await openWs(url)
    cut.send({ type: 'subscribe', channel: 'feed', since: 'x-10' })
    expect((await cut.closed).code).toBe(1011)
    expect(taken().join('\n')).toMatch(/replay failed/)
    log.append('"b"')
    await eventually(() => expect(other.frames.at(-1)).toEqual({ type: 'event', channel: 'feed', id: 'x-20', data: 'b' }))
    expect(ws.clients).toBe(1)
    expect(listeners.size).toBe(1)
  })
})

describe('live entries held while since() has not answered are bounded by maxBuffered', () => {
  const pile = (log: ReplayLog, until: () => boolean) => {
    for (let i = 0; i < 200 && !until(); i++) log.append('p'.repeat(8 * 1024))
  }

  it('SSE: the client is cut once they pass it, and the log listener goes with it', async () => {
    const never = deferred<Replay>()
    const { log, listeners } = customLog((id, inner) => (id ? never.promise : inner(id)))
    const onSlowClient = vi.fn()
    const sse = createSseHandler({ log, heartbeat: 0, maxBuffered: 64 * 1024, onSlowClient })
    const srv = await startServer({ request: sse })
    const waiting = await openSse(srv.url('/'), { headers: { 'last-event-id': 'x-0' } })
    await eventually(() => expect(sse.clients).toBe(1))
    pile(log, () => onSlowClient.mock.calls.length > 0)
    expect(onSlowClient).toHaveBeenCalledTimes(1)
    await waiting.done
    await eventually(() => expect([sse.clients, listeners.size]).toEqual([0, 0]))
    never.resolve({ entries: [] })
  })

  it('WebSocket: the socket is terminated once they pass it, and the log listener goes with it', async () => {
    const never = deferred<Replay>()
    const { log, listeners } = customLog((id, inner) => (id ? never.promise : inner(id)))
    const { ws, url } = await wsServer(log, 64 * 1024)
    const waiting = await openWs(url)
    waiting.send({ type: 'subscribe', channel: 'feed', since: 'x-0' })
    await eventually(() => expect(listeners.size).toBe(1))
    pile(log, () => waiting.isClosed())
    expect((await waiting.closed).code).toBe(1006)
    await eventually(() => expect([ws.clients, listeners.size]).toEqual([0, 0]))
    never.resolve({ entries: [] })
  })
})

describe('ids that are not <epoch>.<seq>: a reset goes on from headSeq', () => {
  /** since() reads, then the test appends (in the reset's head), then it answers. */
  function gated() {
    const read = deferred()
    const answer = deferred()
    const { log } = customLog(async (id, inner) => {
      const replay = inner(id)
      read.resolve()
      await answer.promise
      return replay
    })
    for (const data of ['"a"', '"b"']) log.append(data)
    return { log, read, answer }
  }

  it('SSE', async () => {
    const { log, read, answer } = gated()
    const { url } = await sseServer(log)
    const client = await openSse(url, { headers: { 'last-event-id': 'unknown' } })
    await read.promise
    log.append('"during"') // x-30, after the reset's head x-20: only live
    answer.resolve()
    log.append('"after"')
    await eventually(() => expect(client.events.map((e) => [e.type, e.id])).toEqual([
      ['reset', 'x-20'],
      ['message', 'x-30'],
      ['message', 'x-40'],
    ]))
  })

  it('WebSocket', async () => {
    const { log, read, answer } = gated()
    const { url } = await wsServer(log)
    const client = await openWs(url)
    client.send({ type: 'subscribe', channel: 'feed', since: 'unknown' })
    await read.promise
    log.append('"during"')
    answer.resolve()
    log.append('"after"')
    await eventually(() =>
      expect(client.frames).toEqual([
        { type: 'subscribed', channel: 'feed', head: null },
        { type: 'reset', channel: 'feed', epoch: 'custom', reason: 'invalid', head: 'x-20' },
        { type: 'event', channel: 'feed', id: 'x-30', data: 'during' },
        { type: 'event', channel: 'feed', id: 'x-40', data: 'after' },
      ]),
    )
  })

  it('both: a resume replays exactly what came after the id', async () => {
    const { log } = customLog()
    for (const data of ['1', '2', '3']) log.append(data)
    const sse = await sseServer(log)
    const sseClient = await openSse(sse.url, { headers: { 'last-event-id': 'x-10' } })
    const ws = await wsServer(log)
    const wsClient = await openWs(ws.url)
    wsClient.send({ type: 'subscribe', channel: 'feed', since: 'x-20' })
    await eventually(() => expect(sseClient.events.map((e) => e.id)).toEqual(['x-20', 'x-30']))
    await eventually(() => expect(wsClient.frames.slice(1)).toEqual([{ type: 'event', channel: 'feed', id: 'x-30', data: 3 }]))
  })
})

describe('entries no client can be sent are skipped with a warning; the next ones go on', () => {
  const bad: LogEntry[] = [
    { id: 'x-10\nevent: evil', seq: 10, event: undefined, data: 'smuggled' },
    { id: 42 as unknown as string, seq: 20, event: undefined, data: 'no string id' },
  ]

  it('SSE: an id with a line break', async () => {
    const taken = warnings()
    const { log } = customLog()
    const { url } = await sseServer(log)
    const client = await openSse(url)
    await eventually(() => expect(client.retries).toHaveLength(1))
    log.raw(bad[0]!)
    log.raw({ id: 'x-30', seq: 30, event: undefined, data: 'fine' })
    await eventually(() => expect(client.events).toEqual([{ type: 'message', data: 'fine', id: 'x-30' }]))
    expect(taken().join('\n')).toMatch(/skipped log entry/)
    // Quoted: the entry's line break does not reach the log as one.
    expect(taken().join('\n')).toContain('"x-10\\nevent: evil"')
  })

  it('WebSocket: an id that is not a string', async () => {
    const taken = warnings()
    const { log } = customLog()
    const { url } = await wsServer(log)
    const client = await openWs(url)
    client.send({ type: 'subscribe', channel: 'feed' })
    await eventually(() => expect(client.frames).toHaveLength(1))
    log.raw(bad[1]!)
    log.raw({ id: 'x-30', seq: 30, event: undefined, data: '"fine"' })
    await eventually(() => expect(client.frames.at(-1)).toEqual({ type: 'event', channel: 'feed', id: 'x-30', data: 'fine' }))
    expect(client.frames).toHaveLength(2)
    expect(taken().join('\n')).toMatch(/skipped log entry/)
  })

  it('the memory log: a throwing listener of the app is reported, not rethrown, and the handlers still deliver', async () => {
    const taken = warnings()
    const log = createMemoryLog({ epoch: 'e1' })
    log.subscribe(() => {
      throw new Error('app listener bug')
    })
    const { url } = await sseServer(log)
    const client = await openSse(url)
    await eventually(() => expect(client.retries).toHaveLength(1))
    expect(() => log.append('x')).not.toThrow()
    await eventually(() => expect(client.events.map((e) => e.data)).toEqual(['x']))
    expect(taken()).toEqual([expect.stringMatching(/a log listener threw on entry "e1\.1": Error: app listener bug/)])
  })
})

describe('a log whose subscribe() throws', () => {
  it('cuts the client with a warning, SSE and WebSocket alike', async () => {
    const taken = warnings()
    const inner = createMemoryLog()
    const log: ReplayLog = {
      epoch: inner.epoch,
      append: (data, event) => inner.append(data, event),
      since: (id) => inner.since(id),
      subscribe: () => {
        throw new Error('no listeners today')
      },
    }
    const { srv, url } = await sseServer(log)
    const sseClient = await openSse(url)
    await sseClient.done
    expect(srv.takeErrors()).toEqual([])
    const ws = await wsServer(log)
    const wsClient = await openWs(ws.url)
    wsClient.send({ type: 'subscribe', channel: 'feed' })
    expect((await wsClient.closed).code).toBe(1011)
    expect(taken().filter((w) => /refused a subscriber/.test(w))).toHaveLength(2)
  })
})

describe('a log whose append() throws on a publish', () => {
  it("answers the publisher with a 'server-error' frame and a warning; the socket goes on", async () => {
    const taken = warnings()
    const inner = createMemoryLog({ epoch: 'e1' })
    const log: ReplayLog = {
      epoch: inner.epoch,
      append: () => {
        throw new Error('disk full')
      },
      since: (id) => inner.since(id),
      subscribe: (listener) => inner.subscribe(listener),
    }
    const ws = createWebSocketHandler({ channels: { room: log }, writable: ['room'], origins: '*', heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    client.send({ type: 'publish', channel: 'room', data: 1 })
    client.send('ping')
    await eventually(() => expect(client.frames).toEqual([{ type: 'error', code: 'server-error', message: expect.any(String) }, 'pong']))
    expect(taken().join('\n')).toMatch(/append failed: Error: disk full/)
  })
})
