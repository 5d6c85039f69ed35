import { describe, expect, it } from 'vitest'
import type { RealtimeClientFrame, RealtimeServerFrame } from '../../../src/core/realtime/protocol'
import type { FrameLink, RealtimeTransportHost } from '../../../src/core/realtime/transport-types'
import { createRealtimeWire, type WireOptions } from '../../../src/core/realtime/wire'
import type { TransportSink, WireMessage } from '../../../src/core/transport'
import { fakeEnvironment, flushMicrotasks, manualFrames, manualTimers } from '../fakes'

/** A wire on a hand-driven transport: the test opens links and delivers server frames. */
function setup(extra: Partial<WireOptions> = {}) {
  const timers = manualTimers()
  const frames = manualFrames()
  let host!: RealtimeTransportHost
  let sink!: TransportSink
  const links: RealtimeClientFrame[][] = []
  const cursors = new Map<string, string>()
  const wire = createRealtimeWire({
    tab: 'A',
    timers,
    now: () => timers.now,
    scheduleFrame: frames.schedule,
    environment: fakeEnvironment(),
    random: () => 0.5,
    cursor: (channel) => cursors.get(channel),
    transport: (h) => {
      host = h
      return (context) => {
        sink = context.sink
        return { close: () => undefined }
      }
    },
    ...extra,
  })
  const wires: WireMessage[] = []
  wire.onWire((m) => wires.push(m))
  /** Opens a new link (a connect or reconnect); returns what the wire sent on it. */
  const open = (kind: 'websocket' | 'sse' = 'websocket') => {
    const sent: RealtimeClientFrame[] = []
    links.push(sent)
    const link: FrameLink = { send: (f) => sent.push(...f) }
    host.opened(link, kind)
    sink.open()
    return sent
  }
  /** The server sends a frame: what the wire emits for it goes to `wires`, as the engine would. */
  const server = (frame: RealtimeServerFrame) => {
    const m = host.receive(frame)
    if (m) sink.message(m)
  }
  const drop = () => (host.closed(), sink.fail(Object.assign(new Error('x'), { kind: 'network' }) as never, true))
  return { wire, timers, open, server, drop, wires, cursors, links, events: () => wires.map((m) => m.event) }
}

const want = (tab: string, v: number, ...ch: [string, string | null][]) => ({ op: 'want' as const, tab, v, ch })

describe('createRealtimeWire', () => {
  it('subscribes the union of what the tabs want, once each, from their cursors, and says hi first', () => {
    const t = setup()
    t.wire.connect()
    expect(t.events()).toEqual(['hi'])
    t.wire.send(want('A', 1, ['prices', null], ['room', 'e.4']))
    t.wire.send(want('B', 1, ['room', null], ['news', null]))
    const sent = t.open()
    expect(sent).toEqual([
      { type: 'subscribe', channel: 'prices' },
      { type: 'subscribe', channel: 'room', since: 'e.4' },
      { type: 'subscribe', channel: 'news' },
    ])
    expect(t.events()).toEqual(['hi', 'transport'])
  })

  it("prefers the leader tab's own cursor to the one a tab announced", () => {
    const t = setup()
    t.cursors.set('room', 'e.9')
    t.wire.connect()
    const sent = t.open()
    t.wire.send(want('B', 1, ['room', 'e.4']))
    expect(sent).toEqual([{ type: 'subscribe', channel: 'room', since: 'e.9' }])
  })

  it('unsubscribes a channel only when no tab wants it, and tells the tabs to forget it', () => {
    const t = setup()
    t.wire.connect()
    const sent = t.open()
    t.wire.send(want('A', 1, ['room', null]))
    t.wire.send(want('B', 1, ['room', null]))
    t.wire.send(want('A', 2))
    expect(sent).toEqual([{ type: 'subscribe', channel: 'room' }])
    t.wire.send({ op: 'bye', tab: 'B' })
    expect(sent.at(-1)).toEqual({ type: 'unsubscribe', channel: 'room' })
    expect(t.wires.at(-1)).toMatchObject({ event: 'unsub', data: { channel: 'room' } })
  })

  it('ignores a want older than the one it has from that tab (a re-sent one after a leader change)', () => {
    const t = setup()
    t.wire.connect()
    const sent = t.open()
    t.wire.send(want('B', 3, ['a', null]))
    t.wire.send(want('B', 2, ['b', null]))
    expect(sent).toEqual([{ type: 'subscribe', channel: 'a' }])
  })

  it('resumes each channel from its own cursor on every new link', () => {
    const t = setup()
    t.wire.connect()
    t.wire.send(want('A', 1, ['a', null], ['b', null], ['c', null]))
    t.open()
    t.server({ type: 'subscribed', channel: 'a', head: 'x.1' })
    t.server({ type: 'subscribed', channel: 'b', head: null })
    t.server({ type: 'event', channel: 'a', id: 'x.2', data: 1 })
    t.server({ type: 'subscribed', channel: 'c', head: 'y.0' })
    t.server({ type: 'reset', channel: 'c', epoch: 'z', reason: 'epoch', head: 'z.5' })
    t.drop()
    t.timers.advance(60_000)
    expect(t.open()).toEqual([
      { type: 'subscribe', channel: 'a', since: 'x.2' },
      { type: 'subscribe', channel: 'b' },
      { type: 'subscribe', channel: 'c', since: 'z.5' },
    ])
  })

  it('gives events an id per channel and its own frames unique ids', () => {
    const t = setup()
    t.wire.connect()
    t.wire.send(want('A', 1, ['a', null], ['b', null]))
    t.open()
    t.server({ type: 'event', channel: 'a', id: '1', data: 1 })
    t.server({ type: 'event', channel: 'b', id: '1', data: 2 })
    t.server({ type: 'subscribed', channel: 'a', head: null })
    const ids = t.wires.map((m) => m.id)
    expect(ids.slice(2, 4)).toEqual(['a\n1', 'b\n1'])
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('drops frames of channels no tab wants (in flight when the last one left)', () => {
    const t = setup()
    t.wire.connect()
    t.wire.send(want('A', 1, ['a', null]))
    t.open()
    t.wire.send(want('A', 2))
    const before = t.wires.length
    t.server({ type: 'event', channel: 'a', id: '1', data: 1 })
    t.server({ type: 'event', channel: 'zzz', id: '1', data: 1 })
    expect(t.wires.length).toBe(before)
  })

  it('sends a publish at once on an open link, again on each new link until acknowledged, and takes a pid once', () => {
    const t = setup()
    t.wire.connect()
    expect(t.wire.send({ op: 'pub', pid: 'p1', channel: 'room', data: { text: 'hi' } })).toBe('queued')
    const first = t.open()
    expect(first).toEqual([{ type: 'publish', channel: 'room', data: { text: 'hi' }, pid: 'p1' }])
    expect(t.wire.send({ op: 'pub', pid: 'p1', channel: 'room', data: { text: 'hi' } })).toBe('sent')
    expect(first).toHaveLength(1)
    t.drop()
    t.timers.advance(60_000)
    expect(t.open()).toEqual([{ type: 'publish', channel: 'room', data: { text: 'hi' }, pid: 'p1' }])
    t.server({ type: 'ack', channel: 'room', pid: 'p1', id: 'e.1' })
    expect(t.wires.at(-1)).toMatchObject({ event: 'ack', data: { pid: 'p1', id: 'e.1' } })
    t.drop()
    t.timers.advance(60_000)
    expect(t.open()).toEqual([])
  })

  it('a refused publish is not sent again, and the refusal reaches the tabs', () => {
    const t = setup()
    t.wire.connect()
    t.open()
    t.wire.send({ op: 'pub', pid: 'p1', channel: 'news', data: 1 })
    t.server({ type: 'error', code: 'read-only', message: 'no', channel: 'news', pid: 'p1' })
    expect(t.wires.at(-1)).toMatchObject({ event: 'error', data: { pid: 'p1' } })
    t.drop()
    t.timers.advance(60_000)
    expect(t.open()).toEqual([])
  })

  it("gives a tab new to a live channel that channel's last message", () => {
    const t = setup()
    t.wire.connect()
    t.wire.send(want('A', 1, ['a', null]))
    t.open()
    t.server({ type: 'event', channel: 'a', id: '7', data: 'seven' })
    const before = t.wires.length
    t.wire.send(want('B', 1, ['a', null]))
    // A tab new to this leader also learns the transport.
    expect(t.wires.slice(before)).toMatchObject([
      { event: 'transport', data: 'websocket' },
      { event: 'last', data: { channel: 'a', m: { data: { id: '7', data: 'seven' } } } },
    ])
    // A tab that has data of its own (a cursor) gets nothing.
    const count = t.wires.length
    t.wire.send(want('C', 1, ['a', '7']))
    expect(t.wires.slice(count).map((m) => m.event)).toEqual(['transport'])
  })

  it('forgets the channels of tabs whose lock went (crashed), never its own', async () => {
    let live = new Set(['A', 'B'])
    const t = setup({ liveTabs: async () => live, pruneEvery: 1000 })
    t.wire.connect()
    const sent = t.open()
    t.wire.send(want('A', 1, ['a', null]))
    t.wire.send(want('B', 1, ['b', null]))
    t.timers.advance(1000)
    await flushMicrotasks()
    expect(sent).toHaveLength(2)
    live = new Set()
    t.timers.advance(1000)
    await flushMicrotasks()
    t.timers.advance(1000)
    await flushMicrotasks()
    expect(sent.slice(2)).toEqual([{ type: 'unsubscribe', channel: 'b' }])
    t.wire.close()
    expect(t.timers.count).toBe(0)
  })

  it('tells the tabs which transport carries the channels when it changes', () => {
    const t = setup()
    t.wire.connect()
    t.open('websocket')
    t.drop()
    t.timers.advance(60_000)
    t.open('sse')
    t.drop()
    t.timers.advance(60_000)
    t.open('sse')
    expect(t.wires.filter((m) => m.event === 'transport').map((m) => m.data)).toEqual(['websocket', 'sse'])
    expect(t.wire.kind).toBe('sse')
  })
})
