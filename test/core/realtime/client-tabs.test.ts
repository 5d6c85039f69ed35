// createRealtime across simulated tabs: several clients in one process meet only through
// Node's real lock manager and BroadcastChannel (as tabs of one origin do), over a fake
// realtime server behind the fake WebSocket. Real timers; every wait polls to a deadline.
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { ChannelMessage, RealtimeChannel, RealtimeClient, RealtimeOptions } from '../../../src/core/realtime/client'
import { createRealtime } from '../../../src/core/realtime/client'
import { fakePage } from '../tabs-fakes'
import { fakeRealtimeServer } from './fake-server'

const poll = { timeout: 10_000, interval: 5 }
let clients: RealtimeClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
})

function setup() {
  const server = fakeRealtimeServer()
  const namespace = `rt-${randomUUID()}`
  const tab = (extra: Partial<RealtimeOptions> = {}) => {
    const page = fakePage()
    const client = createRealtime({
      ...extra,
      url: 'ws://127.0.0.1:1/rt',
      transport: 'websocket',
      WebSocket: server.WebSocket,
      storage: null,
      share: { namespace, heartbeat: 25, timeout: 300, page: page.page } as never,
      grace: 50,
      heartbeat: 0,
    })
    clients.push(client)
    /** Holds `name` and records what it delivers. */
    const join = (name: string) => {
      const channel = client.channel<number, number>(name)
      const got: ChannelMessage<number>[] = []
      channel.onMessage((m) => void got.push(m))
      return Object.assign(channel, { got, values: () => got.filter((m) => !m.snapshot).map((m) => m.data) })
    }
    return { client, join, page }
  }
  return { server, tab }
}

type Held = RealtimeChannel<number, number> & { values(): number[] }
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)
const settle = async (server: ReturnType<typeof fakeRealtimeServer>, expected: string[]) =>
  expect.poll(() => [server.open, server.subscriptions().join(',')], poll).toEqual([1, expected.join(',')])

describe('createRealtime across tabs', () => {
  it('gives any number of tabs one connection, subscribed to exactly the union of their channels', async () => {
    const { server, tab } = setup()
    const [a, b, c] = [tab(), tab(), tab()]
    const held = [a.join('prices'), a.join('room'), b.join('room'), b.join('news'), c.join('alerts')]
    await settle(server, ['alerts', 'news', 'prices', 'room'])
    expect(server.sockets).toHaveLength(1)
    for (let i = 1; i <= 20; i++) for (const ch of ['prices', 'room', 'news', 'alerts']) server.emit(ch, i)
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1)
    await expect.poll(() => held.map((h) => h.values().length), poll).toEqual([20, 20, 20, 20, 20])
    for (const h of held) expect(h.values()).toEqual(twenty)
    expect(held[1]!.got[0]).toMatchObject({ channel: 'room', id: expect.stringMatching(/\.1$/), snapshot: false })
  })

  it('loses and repeats nothing on any channel when the leader tab closes, while events keep coming', async () => {
    const { server, tab } = setup()
    const a = tab()
    const aHeld = [a.join('x')]
    await settle(server, ['x'])
    const b = tab()
    const c = tab()
    const held: Held[] = [b.join('x'), b.join('y'), c.join('y'), c.join('z')]
    await settle(server, ['x', 'y', 'z'])
    let n = 0
    const emit = () => {
      n++
      for (const ch of ['x', 'y', 'z']) server.emit(ch, n)
    }
    for (let i = 0; i < 10; i++) emit()
    await expect.poll(() => held.map((h) => h.values().length), poll).toEqual([10, 10, 10, 10])
    a.client.close()
    // Events while nobody leads: the next leader resumes each channel from its cursor.
    for (let i = 0; i < 10; i++) emit()
    await expect.poll(() => server.open, poll).toBe(1)
    for (let i = 0; i < 10; i++) emit()
    const all = Array.from({ length: 30 }, (_, i) => i + 1)
    await expect.poll(() => held.map((h) => h.values().length), poll).toEqual([30, 30, 30, 30])
    for (const h of held) expect(h.values()).toEqual(all)
    expect(aHeld[0]!.values()).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
    expect(server.sockets).toHaveLength(2)
  })

  it("a follower's publish is appended once and its promise resolves with the server's id", async () => {
    const { server, tab } = setup()
    const a = tab()
    a.join('room')
    await settle(server, ['room'])
    const b = tab()
    const room = b.join('room')
    await expect.poll(() => server.received.filter((r) => r.frame.type === 'subscribe').length, poll).toBeGreaterThan(0)
    const id = await room.publish(7, { ack: true })
    expect(server.entries('room')).toEqual([{ id, data: 7 }])
    await expect.poll(() => room.values(), poll).toEqual([7])
    expect(room.publish(8)).toBe('queued')
    await expect.poll(() => server.entries('room').map((e) => e.data), poll).toEqual([7, 8])
  })

  it('a publish from a follower while the leader closes reaches the server exactly once', async () => {
    const { server, tab } = setup()
    const a = tab()
    a.join('room')
    await settle(server, ['room'])
    const b = tab()
    const room = b.join('room')
    const acked = room.publish(1, { ack: true })
    a.client.close()
    await acked
    await expect.poll(() => server.open, poll).toBe(1)
    await expect.poll(() => room.values(), poll).toEqual([1])
    expect(server.entries('room').map((e) => e.data)).toEqual([1])
  })

  it('unsubscribes on the wire only when no tab holds the channel, after the grace', async () => {
    const { server, tab } = setup()
    const [a, b] = [tab(), tab()]
    const ha = a.join('room')
    const hb = b.join('room')
    await settle(server, ['room'])
    ha.release()
    // A remount within the grace does not churn.
    const again = a.join('room')
    again.release()
    await new Promise((r) => setTimeout(r, 200))
    expect(server.subscriptions()).toEqual(['room'])
    expect(server.received.filter((r) => r.frame.type === 'unsubscribe')).toEqual([])
    hb.release()
    await expect.poll(() => server.subscriptions(), poll).toEqual([])
    expect(server.received.filter((r) => r.frame.type === 'unsubscribe')).toHaveLength(1)
  })

  it('a reset reaches the tabs that hold the channel, once each, and the channel goes on', async () => {
    const { server, tab } = setup()
    const [a, b] = [tab(), tab()]
    const ha = a.join('room')
    const hb = b.join('room')
    await settle(server, ['room'])
    server.emit('room', 1)
    await expect.poll(() => [ha.values(), hb.values()], poll).toEqual([[1], [1]])
    const resets: string[] = []
    ha.onReset((r) => void resets.push(`a:${r.reason}`))
    hb.onReset((r) => void resets.push(`b:${r.reason}`))
    server.restart('room')
    server.drop()
    await expect.poll(() => resets.sort(), poll).toEqual(['a:unknown', 'b:unknown'])
    server.emit('room', 2)
    await expect.poll(() => [ha.values(), hb.values()], poll).toEqual([[1, 2], [1, 2]])
    expect(ha.getSnapshot().reset).toMatchObject({ channel: 'room', reason: 'unknown' })
  })

  it("a tab that joins a live channel gets the channel's latest data at once", async () => {
    const { server, tab } = setup()
    const a = tab()
    const first = a.join('prices')
    await settle(server, ['prices'])
    server.emit('prices', 42)
    await expect.poll(() => first.values(), poll).toEqual([42])
    // Long after the relay posted it: the new tab was not there to hear it.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const b = tab()
    const late = b.join('prices')
    await expect.poll(() => late.getSnapshot().data, poll).toBe(42)
    expect(late.values()).toEqual([])
    expect(server.received.filter((r) => r.frame.type === 'subscribe')).toHaveLength(1)
  })

  it("a refused channel shows its own error in every tab that holds it (through reconnects), other channels none", async () => {
    const { server, tab } = setup()
    server.refused.add('secret')
    const [a, b] = [tab(), tab()]
    const ok = a.join('open')
    const secret = [a.join('secret'), b.join('secret')]
    await expect.poll(() => secret.map((h) => h.getSnapshot().error?.kind), poll).toEqual(['auth', 'auth'])
    server.drop()
    await expect.poll(() => server.open, poll).toBe(1)
    await expect.poll(() => a.client.getSnapshot().status, poll).toBe('open')
    expect(secret.map((h) => h.getSnapshot().error?.kind)).toEqual(['auth', 'auth'])
    expect(ok.getSnapshot().error).toBeNull()
  })

  it("each tab's client and channels say its role; a follower shows the leader's retry time while the connection backs off", async () => {
    const { server, tab } = setup()
    // Every retry 30 s away (0.5 of 60 s): the test reads the wait, never runs into it.
    const backoff = { initialDelay: 60_000, maxDelay: 60_000, random: () => 0.5 }
    const a = tab(backoff)
    const x = a.join('x')
    await settle(server, ['x'])
    const b = tab(backoff)
    const y = b.join('x')
    await expect.poll(() => [x, y].map((h) => `${h.getSnapshot().status} ${h.getSnapshot().role}`), poll).toEqual(['open leader', 'open follower'])
    expect([a.client.getSnapshot().role, b.client.getSnapshot().role]).toEqual(['leader', 'follower'])
    const before = Date.now()
    server.drop()
    await expect.poll(() => y.getSnapshot().status, poll).toBe('reconnecting')
    const { retryAt } = a.client.getSnapshot()
    expect(retryAt! - before).toBeGreaterThanOrEqual(30_000)
    expect(retryAt! - Date.now()).toBeLessThanOrEqual(30_000)
    expect([x, y, b.client].map((h) => h.getSnapshot().retryAt)).toEqual([retryAt, retryAt, retryAt])
    a.client.reconnect()
    await expect.poll(() => [x, y].map((h) => [h.getSnapshot().status, h.getSnapshot().retryAt]), poll).toEqual([
      ['open', null],
      ['open', null],
    ])
  })

  it('a tab that opens later learns which transport carries the channels', async () => {
    const { server, tab } = setup()
    const a = tab()
    a.join('x')
    await settle(server, ['x'])
    await expect.poll(() => a.client.getSnapshot().transport, poll).toBe('websocket')
    const b = tab()
    b.join('y')
    await expect.poll(() => b.client.getSnapshot().transport, poll).toBe('websocket')
  })

  it('close() is final until reconnect(): holds show closed, a new hold or a publish opens nothing, reconnect() subscribes them again', async () => {
    const { server, tab } = setup()
    const a = tab()
    const x = a.join('x')
    await settle(server, ['x'])
    a.client.close()
    await expect.poll(() => server.open, poll).toBe(0)
    expect(x.getSnapshot().status).toBe('closed')
    // The tab's own connection closed: nobody to tell its channels are free (over SSE that
    // would be POSTs after the close).
    expect(server.received.filter((r) => r.frame.type === 'unsubscribe')).toEqual([])
    const y = a.join('y')
    expect(y.publish(1)).toBe('queued')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(server.sockets).toHaveLength(1)
    a.client.reconnect()
    await settle(server, ['x', 'y'])
    await expect.poll(() => server.entries('y').map((e) => e.data), poll).toEqual([1])
    expect(x.getSnapshot().status).toBe('open')
  })

  it('delivers an event once per tab however often it comes (a replay that overlaps what a tab had)', async () => {
    const { server, tab } = setup()
    const [a, b] = [tab(), tab()]
    const held = [a.join('x'), b.join('x')]
    await settle(server, ['x'])
    for (let i = 1; i <= 5; i++) server.emit('x', i)
    server.repeat('x', 3)
    server.emit('x', 6)
    await expect.poll(() => held.map((h) => h.values()), poll).toEqual([upTo(6), upTo(6)])
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(held.map((h) => h.values())).toEqual([upTo(6), upTo(6)])
  })

  it("a refused publish is the publishing tab's alone: its promise and its onError, not another tab's channel error", async () => {
    const { server, tab } = setup()
    server.readOnly.add('news')
    const [a, b] = [tab(), tab()]
    const na = a.join('news')
    const nb = b.join('news')
    await settle(server, ['news'])
    const heard: string[] = []
    na.onError((e) => void heard.push(`a:${e.kind}`))
    nb.onError((e) => void heard.push(`b:${e.kind}`))
    await expect(nb.publish(1, { ack: true })).rejects.toMatchObject({ kind: 'protocol' })
    await expect.poll(() => heard, poll).toEqual(['b:protocol'])
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(heard).toEqual(['b:protocol'])
    expect([na.getSnapshot().error, nb.getSnapshot().error]).toEqual([null, null])
  })

  it('a tab that leaves (frozen, or into the back/forward cache) gives up its channels at once, and on return gets each event once', async () => {
    const { server, tab } = setup()
    const [a, b] = [tab(), tab()]
    a.join('shared')
    const mine = b.join('mine')
    const both = b.join('shared')
    await settle(server, ['mine', 'shared'])
    server.emit('mine', 1)
    server.emit('shared', 1)
    await expect.poll(() => [mine.values(), both.values()], poll).toEqual([[1], [1]])
    b.page.emit('leave')
    // Its bye reached the leader before the page left: 'mine' goes without waiting for a prune.
    await expect.poll(() => server.subscriptions(), { timeout: 1000, interval: 5 }).toEqual(['shared'])
    for (let i = 2; i <= 4; i++) server.emit('mine', i), server.emit('shared', i)
    b.page.emit('return')
    await settle(server, ['mine', 'shared'])
    server.emit('mine', 5)
    server.emit('shared', 5)
    await expect.poll(() => [mine.values(), both.values()], poll).toEqual([upTo(5), upTo(5)])
  })

  it('a tab that was away longer than the leader tab remembers gets a gap reset on every channel it holds', async () => {
    const { server, tab } = setup()
    const [a, b] = [tab(), tab()]
    a.join('x')
    const bx = b.join('x')
    await settle(server, ['x'])
    const resets: string[] = []
    bx.onReset((r) => void resets.push(r.reason))
    b.page.emit('leave')
    for (let i = 1; i <= 2500; i++) server.emit('x', i)
    // The leader relays in a later task: b is away when it does.
    await new Promise((resolve) => setTimeout(resolve, 50))
    b.page.emit('return')
    await expect.poll(() => resets, poll).toEqual(['gap'])
    expect(bx.getSnapshot().reset).toMatchObject({ channel: 'x', reason: 'gap' })
    server.emit('x', 2501)
    await expect.poll(() => bx.values(), poll).toEqual([2501])
  })

  it("a tab that lost track takes the channel's latest from the leader, so leading later it replays no history to the others", async () => {
    const { server, tab } = setup()
    const [a, b] = [tab(), tab()]
    a.join('x')
    const bx = b.join('x')
    await settle(server, ['x'])
    server.emit('x', 0)
    await expect.poll(() => bx.values(), poll).toEqual([0])
    b.page.emit('leave')
    for (let i = 1; i <= 2500; i++) server.emit('x', i)
    // The leader relays in a later task: b is away when it does.
    await new Promise((resolve) => setTimeout(resolve, 50))
    b.page.emit('return')
    // The channel stays quiet: b learns where it is from the leader's last message.
    await expect.poll(() => [bx.getSnapshot().reset?.reason, bx.getSnapshot().data], poll).toEqual(['gap', 2500])
    // Nothing of what it missed was delivered to it: the reset says so.
    expect(bx.values()).toEqual([0])
    const f = tab()
    const fx = f.join('x')
    await expect.poll(() => fx.getSnapshot().data, poll).toBe(2500)
    a.client.close()
    await expect.poll(() => server.open, poll).toBe(1)
    await expect.poll(() => server.sockets.filter((s) => s.readyState === 1).length, poll).toBe(1)
    server.emit('x', 2501)
    await expect.poll(() => fx.values(), poll).toEqual([2501])
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(fx.values()).toEqual([2501])
    expect(bx.values()).toEqual([0, 2501])
  })
})
