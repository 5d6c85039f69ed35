import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryLog, type LogEntry, parseLogId, type Replay, type ReplayLog } from '../../src/server/log'
import { createSseHandler } from '../../src/server/sse'
import { createWebSocketHandler } from '../../src/server/ws'
import { asyncLog, deferred, eventually, onCleanup, openSse, openWs, runCleanups, startServer, tick } from './helpers'

afterEach(runCleanups)

/** A log of `count` entries `d1`, `d2`, … in epoch `e1`. */
function filled(count: number, capacity?: number) {
  const log = createMemoryLog({ epoch: 'e1', ...(capacity === undefined ? {} : { capacity }) })
  for (let i = 1; i <= count; i++) log.append(`d${i}`)
  return log
}

/** The data of the entries a replay holds, or the reset. */
function summary(replay: Replay | Promise<Replay>) {
  expect(replay).not.toBeInstanceOf(Promise)
  const r = replay as Replay
  return 'reset' in r ? { reset: r.reset, head: r.head } : r.entries.map((e) => e.data)
}

describe('createMemoryLog: ids and epochs', () => {
  it('gives ids <epoch>.<seq> with seq 1, 2, 3… and keeps event and data', () => {
    const log = createMemoryLog({ epoch: 'e1' })
    expect(log.epoch).toBe('e1')
    expect(log.append('a', 'quote')).toEqual({ id: 'e1.1', seq: 1, event: 'quote', data: 'a' })
    expect(log.append('b')).toEqual({ id: 'e1.2', seq: 2, event: undefined, data: 'b' })
    expect(log.append('c').id).toBe('e1.3')
  })

  it('keeps ids increasing past the capacity: trimming never reuses a seq', () => {
    const log = createMemoryLog({ epoch: 'e1', capacity: 2 })
    const seqs = Array.from({ length: 10 }, (_, i) => log.append(`d${i}`).seq)
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it('makes a fresh random epoch by default, of id-safe characters', () => {
    const a = createMemoryLog()
    const b = createMemoryLog()
    expect(a.epoch).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(a.epoch).not.toBe(b.epoch)
    expect(a.append('x').id).toBe(`${a.epoch}.1`)
    expect(parseLogId(a.append('y').id)).toEqual({ epoch: a.epoch, seq: 2 })
  })

  it.each(['', 'a.b', 'a b', 'ä', 'e\n1', 'e:1'])('refuses the epoch %j, which would make ids ambiguous', (epoch) => {
    expect(() => createMemoryLog({ epoch })).toThrow(/epoch/)
  })

  it('parseLogId reads <epoch>.<seq> and nothing else', () => {
    expect(parseLogId('e1.7')).toEqual({ epoch: 'e1', seq: 7 })
    expect(parseLogId('A-b_9.0')).toEqual({ epoch: 'A-b_9', seq: 0 })
    for (const bad of ['abc', 'x.', '.1', 'e1.-1', 'e1.1.2', 'e1.1e3', 'e1. 1', ' e1.1', 'e1.1\n', 'e1.0x1', 'e1.9999999999999999']) {
      expect(parseLogId(bad), bad).toBeUndefined()
    }
  })
})

describe('createMemoryLog: bounded capacity', () => {
  it('keeps only the newest `capacity` entries', () => {
    const log = filled(10, 3)
    expect(summary(log.since('e1.7'))).toEqual(['d8', 'd9', 'd10'])
    expect(summary(log.since('e1.6'))).toEqual({ reset: 'gap', head: 'e1.10' })
  })

  it('keeps 1000 by default', () => {
    const log = filled(1001)
    expect(summary(log.since('e1.1'))).toHaveLength(1000)
    expect(summary(log.since('e1.0'))).toEqual({ reset: 'gap', head: 'e1.1001' })
  })
})

describe('createMemoryLog: since', () => {
  it('replays nothing without an id', () => {
    const log = filled(3)
    for (const id of [undefined, null, '']) expect(summary(log.since(id))).toEqual([])
  })

  it('replays exactly the entries after each id in range, from the one before the oldest kept to the head', () => {
    const log = filled(15, 10) // keeps 6…15
    for (let seq = 5; seq <= 15; seq++) {
      const expected = Array.from({ length: 15 - seq }, (_, i) => `d${seq + 1 + i}`)
      expect(summary(log.since(`e1.${seq}`)), `since e1.${seq}`).toEqual(expected)
    }
  })

  it("head: '<epoch>.0' before the first entry, then the newest id; resuming from it replays what came after", () => {
    const log = createMemoryLog({ epoch: 'h1' })
    expect(log.head).toBe('h1.0')
    const start = log.head!
    log.append('a')
    log.append('b')
    expect(log.head).toBe('h1.2')
    expect(summary(log.since(start))).toEqual(['a', 'b'])
    expect(summary(log.since(log.head))).toEqual([])
  })

  it('replays nothing from the head', () => {
    expect(summary(filled(4).since('e1.4'))).toEqual([])
  })

  it('resets with reason gap for ids older than the log keeps', () => {
    const log = filled(15, 10)
    for (const id of ['e1.4', 'e1.1', 'e1.0']) expect(summary(log.since(id)), id).toEqual({ reset: 'gap', head: 'e1.15' })
  })

  it('resets with reason epoch for an id of another epoch, also one whose seq is in range', () => {
    const log = filled(5)
    for (const id of ['e0.3', 'e2.5', 'E1.1', 'e1x.2']) expect(summary(log.since(id)), id).toEqual({ reset: 'epoch', head: 'e1.5' })
  })

  it.each([
    'abc',
    'x.',
    '.1',
    'e1.-1',
    'e1.+1',
    'e1.1.2',
    'e1.1e3',
    'e1.0x1',
    ' e1.1',
    'e1.1 ',
    'e1.1\n',
    'e1.99999999999999999999',
    'e1.9999999999999999',
    'e1.999999999999999',
    'e1.6',
    'e1.100',
  ])('resets with reason invalid for the malformed or future id %j', (id) => {
    expect(summary(filled(5).since(id))).toEqual({ reset: 'invalid', head: 'e1.5' })
  })

  it('has head <epoch>.0 while empty, and resumes from it', () => {
    const log = createMemoryLog({ epoch: 'e1' })
    expect(summary(log.since('e1.0'))).toEqual([])
    expect(summary(log.since('e1.1'))).toEqual({ reset: 'invalid', head: 'e1.0' })
    expect(summary(log.since('zz.1'))).toEqual({ reset: 'epoch', head: 'e1.0' })
    log.append('first')
    expect(summary(log.since('e1.0'))).toEqual(['first'])
  })

  it('returns a copy: changing the answer does not change the log', () => {
    const log = filled(3)
    const replay = log.since('e1.0') as { entries: unknown[] }
    replay.entries.length = 0
    expect(summary(log.since('e1.0'))).toEqual(['d1', 'd2', 'd3'])
  })
})

describe('createMemoryLog: subscribe', () => {
  it('tells every listener each appended entry in order, until it unsubscribes', () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const a = vi.fn()
    const b = vi.fn()
    const offA = log.subscribe(a)
    log.subscribe(b)
    log.append('1')
    offA()
    offA()
    log.append('2', 'named')
    expect(a.mock.calls.map(([e]) => e.id)).toEqual(['e1.1'])
    expect(b.mock.calls.map(([e]) => [e.id, e.event, e.data])).toEqual([
      ['e1.1', undefined, '1'],
      ['e1.2', 'named', '2'],
    ])
  })

  it('lets a listener unsubscribe itself or another while being told', () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const seen: string[] = []
    const offs: (() => void)[] = []
    offs.push(log.subscribe(() => (seen.push('a'), offs[0]!(), offs[1]!())))
    offs.push(log.subscribe(() => seen.push('b')))
    log.append('1')
    log.append('2')
    // The entry goes to the listeners there were when it was appended.
    expect(seen).toEqual(['a', 'b'])
  })

  // A bot that answers in the room it listens to: the listeners after it heard the answer
  // before the message it answers (third review); an SSE client resuming then lost one.
  it('tells an entry appended by a listener after the one being told, to every listener, in append order', () => {
    const log = createMemoryLog({ epoch: 'e1' })
    const bot: string[] = []
    const later: string[] = []
    log.subscribe((entry) => {
      bot.push(entry.id)
      if (entry.data.endsWith('?')) log.append(`${entry.data.slice(0, -1)}!`)
      if (entry.data === 'two!') log.append('three')
    })
    log.subscribe((entry) => later.push(entry.id))
    const first = log.append('one?')
    expect(first.id).toBe('e1.1')
    // Told before the outer append returns, in append order, also when answers nest.
    expect(later).toEqual(['e1.1', 'e1.2'])
    log.append('two?')
    expect(bot).toEqual(['e1.1', 'e1.2', 'e1.3', 'e1.4', 'e1.5'])
    expect(later).toEqual(bot)
    expect(summary(log.since('e1.0'))).toEqual(['one?', 'one!', 'two?', 'two!', 'three'])
  })

  it('goes on telling queued entries when a listener throws', () => {
    const log = createMemoryLog({ epoch: 'e1', onListenerError: () => {} })
    const heard: string[] = []
    log.subscribe((entry) => {
      if (entry.seq === 1) log.append('answer')
      throw new Error('listener failed')
    })
    log.subscribe((entry) => heard.push(entry.id))
    log.append('question')
    log.append('next')
    expect(heard).toEqual(['e1.1', 'e1.2', 'e1.3'])
  })

  // An entry no client could be sent would cut every client resuming from before it: refuse it at append.
  it('refuses an event type with a line break at append, and keeps nothing', () => {
    const log = filled(1)
    expect(() => log.append('x', 'bad\nname')).toThrow(TypeError)
    expect(() => log.append('x', 'bad\rname')).toThrow(TypeError)
    expect(summary(log.since('e1.1'))).toEqual([])
  })
})

describe('ReplayLog: an async store works with both handlers', () => {
  /**
   * An async log whose `since` waits until the test lets it read (`read`), then until the
   * test lets it answer (`answer`): entries appended before `read` are in the answer and
   * also arrive live (so they must be de-duplicated), entries appended after it arrive only
   * live (so they must not be lost).
   */
  function gatedLog() {
    const inner = filled(5)
    const asked = deferred()
    const read = deferred()
    const answered = deferred()
    const answer = deferred()
    const { log, calls } = asyncLog(inner, {
      beforeSnapshot: async () => {
        asked.resolve()
        await read.promise
      },
      afterSnapshot: async () => {
        answered.resolve()
        await answer.promise
      },
    })
    return { inner, log, calls, asked, read, answered, answer }
  }

  it('SSE: the missed events, then what was appended during the replay, each exactly once', async () => {
    const g = gatedLog()
    const sse = createSseHandler({ log: g.log, heartbeat: 0 })
    const srv = await startServer({ request: sse })
    const client = await openSse(srv.url('/'), { headers: { 'last-event-id': 'e1.3' } })
    await g.asked.promise
    g.inner.append('during-1')
    g.read.resolve()
    await g.answered.promise
    g.inner.append('during-2')
    g.answer.resolve()
    g.inner.append('after')
    await eventually(() => expect(client.events.map((e) => e.data)).toEqual(['d4', 'd5', 'during-1', 'during-2', 'after']))
    expect(client.events.map((e) => e.id)).toEqual(['e1.4', 'e1.5', 'e1.6', 'e1.7', 'e1.8'])
    expect(g.calls).toEqual(['e1.3'])
  })

  it('SSE: a reset from an async store, then the live events after its head', async () => {
    const g = gatedLog()
    const sse = createSseHandler({ log: g.log, heartbeat: 0 })
    const srv = await startServer({ request: sse })
    const client = await openSse(srv.url('/'), { headers: { 'last-event-id': 'other.3' } })
    await g.asked.promise
    g.inner.append('during-1') // in the head the reset names: the client refetches it
    g.read.resolve()
    await g.answered.promise
    g.inner.append('during-2')
    g.answer.resolve()
    await eventually(() =>
      expect(client.events).toEqual([
        { type: 'reset', data: JSON.stringify({ epoch: 'e1', reason: 'epoch' }), id: 'e1.6' },
        { type: 'message', data: 'during-2', id: 'e1.7' },
      ]),
    )
  })

  it('WebSocket: the missed events, then what was appended during the replay, each exactly once', async () => {
    const g = gatedLog()
    const ws = createWebSocketHandler({ channels: { feed: g.log }, heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    client.send({ type: 'subscribe', channel: 'feed', since: 'e1.3' })
    await g.asked.promise
    g.inner.append('during-1')
    g.read.resolve()
    await g.answered.promise
    g.inner.append('during-2')
    g.answer.resolve()
    g.inner.append('after')
    await eventually(() =>
      expect(client.frames).toEqual([
        { type: 'subscribed', channel: 'feed', head: null }, // a store that does not tell its head
        ...['d4', 'd5', 'during-1', 'during-2', 'after'].map((data, i) => ({ type: 'event', channel: 'feed', id: `e1.${4 + i}`, data })),
      ]),
    )
  })

  it('WebSocket: a reset from an async store, then the live events after its head', async () => {
    const g = gatedLog()
    const ws = createWebSocketHandler({ channels: { feed: g.log }, heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    client.send({ type: 'subscribe', channel: 'feed', since: 'other.3' })
    await g.asked.promise
    g.inner.append('during-1') // in the head the reset names: the client refetches it
    g.read.resolve()
    await g.answered.promise
    g.inner.append('during-2')
    g.answer.resolve()
    await eventually(() =>
      expect(client.frames).toEqual([
        { type: 'subscribed', channel: 'feed', head: null }, // a store that does not tell its head
        { type: 'reset', channel: 'feed', epoch: 'e1', reason: 'epoch', head: 'e1.6' },
        { type: 'event', channel: 'feed', id: 'e1.7', data: 'during-2' },
      ]),
    )
    client.send('ping')
    await eventually(() => expect(client.frames.at(-1)).toBe('pong'))
    expect(client.frames).toHaveLength(4)
  })

  /**
   * A store like a server instance's Redis log: its reader is behind the store, so listeners
   * hear entries late, after `since` (which asks the store) already knows them. A client that
   * saw e1.1–e1.3 on another instance resumes here before this reader has told them.
   */
  function laggingLog() {
    const inner = createMemoryLog({ epoch: 'e1' })
    const listeners = new Set<(entry: LogEntry) => void>()
    const late: LogEntry[] = []
    inner.subscribe((entry) => void late.push(entry))
    const log: ReplayLog = {
      epoch: inner.epoch,
      append: (data, event) => inner.append(data, event),
      since: (id) => inner.since(id),
      subscribe(listener) {
        listeners.add(listener)
        return () => void listeners.delete(listener)
      },
    }
    /** The reader catches up: every listener hears what it had not told yet. */
    const catchUp = () => {
      for (const entry of late.splice(0)) for (const listener of listeners) listener(entry)
    }
    return { inner, log, catchUp }
  }

  it('SSE: a store whose listeners hear entries late never sends what is at or before the resume id', async () => {
    const { inner, log, catchUp } = laggingLog()
    for (const data of ['d1', 'd2', 'd3']) inner.append(data)
    const sse = createSseHandler({ log, heartbeat: 0 })
    const srv = await startServer({ request: sse })
    const client = await openSse(srv.url('/'), { headers: { 'last-event-id': 'e1.3' } })
    await eventually(() => expect(client.response.status).toBe(200))
    await tick()
    catchUp() // e1.1–e1.3, which the client has
    inner.append('d4')
    catchUp()
    await eventually(() => expect(client.events.map((e) => e.id)).toEqual(['e1.4']))
    await tick()
    expect(client.events.map((e) => e.id)).toEqual(['e1.4'])
  })

  it('WebSocket: the same for a channel subscribed with since', async () => {
    const { inner, log, catchUp } = laggingLog()
    for (const data of ['d1', 'd2', 'd3']) inner.append(data)
    const ws = createWebSocketHandler({ channels: { feed: log }, heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    client.send({ type: 'subscribe', channel: 'feed', since: 'e1.3' })
    await eventually(() => expect(client.frames).toEqual([{ type: 'subscribed', channel: 'feed', head: null }]))
    await tick()
    catchUp()
    inner.append('d4')
    catchUp()
    await eventually(() => expect(client.frames.at(-1)).toEqual({ type: 'event', channel: 'feed', id: 'e1.4', data: 'd4' }))
    expect(client.frames).toHaveLength(2)
  })

  /**
   * A store that answers long replays page by page (`more`, two entries a page), as the Redis
   * log does; `pages` counts the pages asked for, `gate` holds the next page until let go,
   * `resetAt` answers a reset for that page instead (trimmed meanwhile).
   */
  function pagedLog(count: number, { resetAt = Number.POSITIVE_INFINITY } = {}) {
    const inner = filled(count)
    const counts = { pages: 0, listening: 0 }
    let gate = deferred()
    gate.resolve()
    const pageFrom = (entries: readonly LogEntry[], page: number): Replay => ({
      entries: entries.slice(0, 2),
      ...(entries.length > 2 && {
        more: async () => {
          counts.pages++
          await gate.promise
          if (page + 1 >= resetAt) return { reset: 'gap', head: inner.head, headSeq: Number(inner.head.split('.')[1]) }
          return pageFrom(entries.slice(2), page + 1)
        },
      }),
    })
    const log: ReplayLog = {
      epoch: inner.epoch,
      append: (data, event) => inner.append(data, event),
      since(id) {
        const replay = inner.since(id)
        return 'entries' in replay ? { ...pageFrom(replay.entries, 0), afterSeq: replay.afterSeq } : replay
      },
      subscribe(listener) {
        counts.listening++
        const off = inner.subscribe(listener)
        return () => {
          counts.listening--
          off()
        }
      },
    }
    return {
      inner,
      log,
      counts,
      hold: () => void (gate = deferred()),
      release: () => gate.resolve(),
    }
  }

  /** An SSE client resuming from e1.1 over a paged log of 9 entries, its second page held. */
  async function pagedSse() {
    const p = pagedLog(9)
    p.hold()
    const srv = await startServer({ request: createSseHandler({ log: p.log, heartbeat: 0 }) })
    const client = await openSse(srv.url('/'), { headers: { 'last-event-id': 'e1.1' } })
    await eventually(() => expect(p.counts.pages).toBe(1))
    return { p, client }
  }

  it('SSE: a replay in pages arrives whole and in order, live entries during it once', async () => {
    const { p, client } = await pagedSse()
    p.inner.append('live')
    p.release()
    await eventually(() => expect(client.events.map((e) => e.data)).toEqual(['d2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9', 'live']))
    expect(p.counts.pages).toBe(3)
  })

  it('a client that leaves mid-replay: no page is asked for after it left', async () => {
    const { p, client } = await pagedSse()
    client.close()
    // The handler let the client go (its feed stopped listening to the log).
    await eventually(() => expect(p.counts.listening).toBe(0))
    p.release()
    for (let i = 0; i < 10; i++) await tick()
    expect(p.counts.pages).toBe(1)
  })

  it('WebSocket: a page that cannot follow on (a reset) cuts the client, after the pages it had', async () => {
    const p = pagedLog(9, { resetAt: 2 })
    const ws = createWebSocketHandler({ channels: { feed: p.log }, heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    client.send({ type: 'subscribe', channel: 'feed', since: 'e1.1' })
    expect((await client.closed).code).toBe(1011)
    expect(client.frames.filter((f) => (f as { type?: string }).type === 'event').map((f) => (f as { data: string }).data)).toEqual(['d2', 'd3', 'd4', 'd5'])
  })

  it('WebSocket: unsubscribing while the async replay is pending delivers nothing and leaves no listener', async () => {
    const inner = filled(2)
    const release = deferred()
    const asked = deferred()
    let active = 0
    const log: ReplayLog = {
      epoch: inner.epoch,
      append: (d, e) => inner.append(d, e),
      async since(id) {
        asked.resolve()
        await release.promise
        return inner.since(id)
      },
      subscribe(listener) {
        active++
        const off = inner.subscribe(listener)
        return () => (active--, off())
      },
    }
    const ws = createWebSocketHandler({ channels: { feed: log }, heartbeat: 0 })
    onCleanup(() => ws.close())
    const srv = await startServer({ upgrade: ws.handleUpgrade })
    const client = await openWs(`ws://127.0.0.1:${srv.port}/`)
    client.send({ type: 'subscribe', channel: 'feed', since: 'e1.0' })
    await asked.promise
    client.send({ type: 'unsubscribe', channel: 'feed' })
    client.send('ping')
    await eventually(() => expect(client.frames).toEqual(['pong']))
    expect(active).toBe(0)
    release.resolve()
    inner.append('later')
    client.send('ping')
    await eventually(() => expect(client.frames).toEqual(['pong', 'pong']))
  })
})
