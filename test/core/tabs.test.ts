// core/tabs: several tabs simulated in one process over Node's real Web Locks and
// BroadcastChannel, each tab a `shareAcrossTabs` instance with its own fake transport.
// Real timers with heartbeat 100 ms and timeout 600 ms (room for a loaded machine); each test gets its own namespace,
// so no two tests ever share a lock or a channel.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RealtimeError } from '../../src/core/errors'
import { hashKey } from '../../src/core/key'
import { PROTOCOL, readFrame } from '../../src/core/tabs/frames'
import { shareAcrossTabs } from '../../src/core/tabs/share-across-tabs'
import type { TabChannel } from '../../src/core/tabs/types'
import type { WireMessage } from '../../src/core/transport'
import { createConnection } from '../../src/core/connection'
import { IDLE } from '../../src/core/store'
import { fakeEnvironment, fakeTransport, manualTimers } from './fakes'
import { fakePage, gatedChannel, sleep, type Tab, tabGroup } from './tabs-fakes'

// The followers' timeout on real time (a beat every 100 ms). Long enough that a loaded machine
// (two busy loops on two cores) still runs the leader's beats in time; the exact timings are
// tested on injected timers (test/core/tabs/).
const TIMEOUT = 600
let run = 0
let namespace: string
let tabs: ReturnType<typeof tabGroup>

beforeEach(() => {
  namespace = `tabs-test-${process.pid}-${Date.now()}-${++run}`
  tabs = tabGroup(namespace, { heartbeat: 100, timeout: TIMEOUT })
})
afterEach(() => {
  tabs.closeAll()
  vi.unstubAllGlobals()
})

// A poll returns as soon as it holds: a generous timeout costs nothing on an idle machine and
// keeps a loaded one (two busy loops on two cores) from failing a wall-clock budget.
const poll = <T>(fn: () => T, { timeout = 10_000 } = {}) => expect.poll(fn, { timeout, interval: 5 })
const ids = (...n: number[]) => n.map(String)
/** A send spy's calls, first argument only (the leader passes its own report option too). */
const first = (call: unknown[]) => [call[0]]

/** Opens `count` tabs in order and waits for one of them to lead; returns [leader, ...followers]. */
async function started(list: Tab[]): Promise<[Tab, Tab[]]> {
  for (const t of list) t.shared.connect()
  await poll(() => list.filter((t) => t.created.length > 0).length).toBe(1)
  const leader = list.find((t) => t.created.length > 0)!
  leader.fake.last.sink.open()
  await poll(() => list.map((t) => t.shared.getSnapshot().status)).toEqual(list.map(() => 'open'))
  return [leader, list.filter((t) => t !== leader)]
}


type ChannelFactory = (name: string) => TabChannel

/** Waits until exactly one of `followers` has taken the lead, and returns it. */
async function heir(followers: Tab[]): Promise<Tab> {
  await poll(() => followers.filter((t) => t.created.length > 0).length).toBe(1)
  return followers.find((t) => t.created.length > 0)!
}

/**
 * Three tabs in line for the lock: `old` leads with its stream open, `next` is second and
 * `ahead` third (each with the channel given, if any); both followers have 1, 2, 3.
 */
async function inLine(channels: { next?: ChannelFactory; ahead?: ChannelFactory } = {}) {
  const old = tabs.open()
  old.shared.connect()
  await poll(() => old.created.length).toBe(1)
  const next = tabs.open(channels.next && { channel: channels.next })
  next.shared.connect()
  await sleep(20)
  const ahead = tabs.open(channels.ahead && { channel: channels.ahead })
  ahead.shared.connect()
  old.fake.last.sink.open()
  for (let i = 1; i <= 3; i++) old.emit(String(i))
  for (const t of [next, ahead]) await poll(() => t.ids).toEqual(ids(1, 2, 3))
  return { old, next, ahead }
}

/**
 * A leader whose outgoing frames can be dropped (`gate.frozen = true`: silent, not dead)
 * and a second tab that follows it; the leader's stream is open, and the follower has its
 * first `delivered` events.
 */
async function leaderThatCanFreeze(follower: Tab, delivered = 0) {
  const channel = gatedChannel()
  const a = tabs.open({ channel: channel.factory })
  a.shared.connect()
  await poll(() => a.created.length).toBe(1)
  follower.shared.connect()
  a.fake.last.sink.open()
  const first = Array.from({ length: delivered }, (_, i) => String(i + 1))
  for (const id of first) a.emit(id)
  await poll(() => follower.ids).toEqual(first)
  return { a, gate: channel.gate }
}

describe('leader election', () => {
  it('three tabs: exactly one leader, one create call, one transport', async () => {
    const all = [tabs.open(), tabs.open(), tabs.open()]
    const [leader, followers] = await started(all)
    // Well past the timeout: heartbeats keep the followers from stealing.
    await sleep(TIMEOUT * 2.5)
    expect(all.map((t) => t.created.length).reduce((a, b) => a + b)).toBe(1)
    expect(leader.created).toEqual([undefined])
    expect(leader.fake.attempts).toHaveLength(1)
    for (const f of followers) expect(f.fake.attempts).toHaveLength(0)
    expect(all.every((t) => t.shared.getSnapshot().status === 'open')).toBe(true)
  })

  it('followers mirror status changes (reconnecting with error, then open again)', async () => {
    const [leader, followers] = await started([tabs.open(), tabs.open()])
    const follower = followers[0]!
    leader.fake.last.sink.fail(new RealtimeError('network', 'cut'), true)
    await poll(() => follower.shared.getSnapshot().status).toBe('reconnecting')
    expect(follower.shared.getSnapshot().error).toMatchObject({ kind: 'network', message: 'cut' })
    expect(follower.shared.getSnapshot().attempt).toBe(1)
  })
})

describe('relay', () => {
  it('followers receive every message, in order, once', async () => {
    const [leader, followers] = await started([tabs.open(), tabs.open(), tabs.open()])
    for (let i = 1; i <= 5; i++) leader.emit(String(i))
    for (const t of [leader, ...followers]) {
      await poll(() => t.ids).toEqual(ids(1, 2, 3, 4, 5))
      expect(t.messages.map((m) => m.data)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5'])
    }
    await sleep(50)
    for (const f of followers) {
      expect(f.ids).toEqual(ids(1, 2, 3, 4, 5))
      expect(f.shared.getSnapshot()).toMatchObject({ data: 'm5', lastEventId: '5', status: 'open' })
    }
  })

  it("the leader relays its state when it changes, not with each frame's data publish", async () => {
    const [leader, [follower]] = await started([tabs.open(), tabs.open()])
    const spy = new BroadcastChannel(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`)
    const frames: string[] = []
    let relayed = 0
    spy.onmessage = (e) => void (frames.push(e.data.t), (relayed += e.data.ms?.length ?? 0))
    try {
      for (let i = 1; i <= 20; i++) {
        leader.emit(String(i))
        leader.flushFrames() // one data publish per message, as under a flood
      }
      await poll(() => follower!.ids.length).toBe(20)
      // One task's messages travel as one batch.
      expect(frames.filter((t) => t === 'msgs')).toHaveLength(1)
      expect(relayed).toBe(20)
      expect(frames.filter((t) => t === 'state')).toEqual([])
      leader.fake.last.sink.fail(new RealtimeError('network', 'cut'), true)
      await poll(() => frames.filter((t) => t === 'state').length).toBe(1)
      expect(follower!.shared.getSnapshot()).toMatchObject({ status: 'reconnecting', lastEventId: '20', data: 'm20' })
    } finally {
      spy.close()
    }
  })

  it('a late tab gets the current snapshot and data, then only new messages', async () => {
    const [leader, [follower]] = await started([tabs.open(), tabs.open()])
    for (let i = 1; i <= 3; i++) leader.emit(String(i))
    await poll(() => follower!.ids).toEqual(ids(1, 2, 3))
    const late = tabs.open()
    late.shared.connect()
    await poll(() => late.shared.getSnapshot()).toMatchObject({ status: 'open', data: 'm3', lastEventId: '3' })
    expect(late.ids).toEqual([])
    leader.emit('4')
    await poll(() => late.ids).toEqual(ids(4))
    expect(late.created).toEqual([])
  })
})

describe('each tab decodes for itself', () => {
  // Two versions of one app: they read the same wire payloads differently.
  const upper = (m: WireMessage) => String(m.data).toUpperCase()
  const strict = (m: WireMessage) => {
    if (!/^m\d+$/.test(m.data as string)) throw new Error(`unexpected ${m.data}`)
    return `#${(m.data as string).slice(1)}`
  }

  it('the leader relays payloads undecoded: a follower of another version reads them its own way; raw is the wire payload everywhere', async () => {
    const [a, b] = [tabs.open({ decode: upper }), tabs.open({ decode: strict })]
    expect((await started([a, b]))[0]).toBe(a)
    a.emit('1')
    a.emit('2')
    await poll(() => b.ids).toEqual(ids(1, 2))
    expect(a.messages.map((m) => [m.data, m.raw])).toEqual([['M1', 'm1'], ['M2', 'm2']])
    expect(b.messages.map((m) => [m.data, m.raw, m.event])).toEqual([['#1', 'm1', 'message'], ['#2', 'm2', 'message']])
    expect(b.shared.getSnapshot()).toMatchObject({ data: '#2', lastEventId: '2', error: null })
  })

  it('a message one follower cannot decode is a parse error in that tab alone; its id counts, and the next good one clears the error', async () => {
    const [a, b, c] = [tabs.open({ decode: upper }), tabs.open({ decode: strict }), tabs.open()]
    expect((await started([a, b, c]))[0]).toBe(a)
    a.emit('1')
    a.emit('2', 'garbage')
    await poll(() => b.shared.getSnapshot().lastEventId).toBe('2')
    expect(b.shared.getSnapshot()).toMatchObject({ data: '#1', error: { kind: 'parse', raw: 'garbage' } })
    expect(b.errors.map((e) => [e.kind, e.message, e.raw])).toEqual([['parse', "bad 'message' message: Error: unexpected garbage", 'garbage']])
    a.emit('3')
    await poll(() => b.ids).toEqual(ids(1, 3))
    expect(b.shared.getSnapshot()).toMatchObject({ data: '#3', lastEventId: '3', error: null })
    await poll(() => c.ids).toEqual(ids(1, 2, 3))
    expect(c.messages.map((m) => m.data)).toEqual(['m1', 'garbage', 'm3'])
    expect([a.errors, c.errors]).toEqual([[], []])
  })

  it('a leader that cannot decode a message (an older version) still relays it, and keeps its parse error to itself', async () => {
    const [a, b] = [tabs.open({ decode: strict }), tabs.open({ decode: upper })]
    expect((await started([a, b]))[0]).toBe(a)
    a.emit('1')
    a.emit('2', 'new-format')
    a.flushFrames() // the leader's engine publishes its parse error: the leader relays its state
    expect(a.shared.getSnapshot().error?.kind).toBe('parse')
    await poll(() => b.ids).toEqual(ids(1, 2))
    await sleep(30)
    expect(b.shared.getSnapshot()).toMatchObject({ status: 'open', error: null, data: 'NEW-FORMAT' })
    a.emit('3')
    await poll(() => b.ids).toEqual(ids(1, 2, 3))
    expect(b.messages.map((m) => m.data)).toEqual(['M1', 'NEW-FORMAT', 'M3'])
    expect(a.ids).toEqual(ids(1, 3))
    expect(a.errors.map((e) => e.kind)).toEqual(['parse'])
    expect(b.errors).toEqual([])
  })

  it('a tab that opens just after a leader change still gets the last message as its data', async () => {
    const [old, [next]] = await started([tabs.open(), tabs.open()])
    old.emit('1')
    old.emit('2')
    await poll(() => next!.ids).toEqual(ids(1, 2))
    old.shared.close()
    await poll(() => next!.created).toEqual(['2'])
    const late = tabs.open()
    late.shared.connect()
    await poll(() => late.shared.getSnapshot()).toMatchObject({ data: 'm2', lastEventId: '2' })
    expect(late.ids).toEqual([])
  })

  it("a follower keeps its own parse error when the leader's parse error comes and goes; a new status ends it", async () => {
    const [a, b] = [tabs.open({ decode: strict }), tabs.open({ decode: strict })]
    expect((await started([a, b]))[0]).toBe(a)
    a.emit('1')
    a.emit('2', 'bad')
    await poll(() => b.shared.getSnapshot().error?.kind).toBe('parse')
    a.flushFrames() // the leader's engine publishes its parse error: a state frame goes out
    // The leader counts a message it cannot decode: its id is seen.
    expect(a.shared.getSnapshot()).toMatchObject({ lastEventId: '2', error: { kind: 'parse' } })
    await sleep(30)
    expect(b.shared.getSnapshot()).toMatchObject({ lastEventId: '2', error: { kind: 'parse', raw: 'bad' } })
    a.fake.last.sink.fail(new RealtimeError('network', 'cut'), true)
    await poll(() => b.shared.getSnapshot()).toMatchObject({ status: 'reconnecting', error: { kind: 'network' } })
  })

  it('a tab that opens makes no other tab decode the last message again', async () => {
    const [a, b] = [tabs.open({ decode: upper }), tabs.open({ decode: strict })]
    expect((await started([a, b]))[0]).toBe(a)
    a.emit('1', 'bad')
    await poll(() => b.errors.length).toBe(1)
    const late = tabs.open({ decode: upper })
    late.shared.connect()
    await poll(() => late.shared.getSnapshot().data).toBe('BAD')
    await sleep(30)
    expect(b.errors).toHaveLength(1)
  })

  it('a late tab that takes the lead before any new message passes the last one on to the next late tab', async () => {
    const [a] = await started([tabs.open(), tabs.open()])
    a.emit('1')
    const late = tabs.open()
    late.shared.connect()
    await poll(() => late.shared.getSnapshot().data).toBe('m1')
    tabs.closeAll()
    const [only] = await started([late])
    expect(only).toBe(late)
    const later = tabs.open()
    later.shared.connect()
    await poll(() => later.shared.getSnapshot().data).toBe('m1')
  })

  it("a forged state frame cannot set a tab's data: only the connection's state is taken (status, attempt, lastEventId, error, retryAt, paused)", async () => {
    const [, [b]] = await started([tabs.open(), tabs.open()])
    const forger = new BroadcastChannel(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`)
    try {
      forger.postMessage({ v: PROTOCOL, t: 'state', e: Date.now() + 1000, s: 1, state: { status: 'open', attempt: 0, error: null, data: { evil: true } } })
      await sleep(30)
      expect(b!.shared.getSnapshot().data).toBeUndefined()
      expect(Object.keys(b!.shared.getSnapshot()).sort()).toEqual(['attempt', 'data', 'error', 'lastEventId', 'paused', 'retryAt', 'role', 'status'])
    } finally {
      forger.close()
    }
  })

  it('a late tab decodes the last message itself for its snapshot', async () => {
    const a = tabs.open({ decode: upper })
    const [, [follower]] = await started([a, tabs.open()])
    a.emit('1')
    a.emit('2')
    await poll(() => follower!.ids).toEqual(ids(1, 2))
    const late = tabs.open({ decode: strict })
    late.shared.connect()
    await poll(() => late.shared.getSnapshot()).toMatchObject({ status: 'open', data: '#2', lastEventId: '2' })
    expect(late.ids).toEqual([])
    a.flushFrames()
    expect(a.shared.getSnapshot().data).toBe('M2')
  })
})

describe('leader change', () => {
  it('closing the leader: the next tab in line leads (no steal), resumes from the last id; nothing lost or repeated', async () => {
    const all = [tabs.open(), tabs.open(), tabs.open()]
    const [old, followers] = await started(all)
    for (let i = 1; i <= 5; i++) old.emit(String(i))
    for (const f of followers) await poll(() => f.ids).toEqual(ids(1, 2, 3, 4, 5))

    // The lock goes to the next tab in line as the leader lets go: nobody waits for a
    // watchdog and steals it (a count, not a wall-clock budget a loaded machine can miss).
    const requests = vi.spyOn(navigator.locks, 'request')
    old.shared.close()
    expect(old.connections[0]!.getSnapshot().status).toBe('closed')
    expect(old.fake.last.closed).toBe(true)
    const next = await heir(followers)
    expect(requests.mock.calls.filter(([, options]) => (options as LockOptions).steal)).toEqual([])
    requests.mockRestore()
    expect(next.created).toEqual(['5'])
    expect(next.fake.last.lastEventId).toBe('5')

    // The server resumes after 5.
    next.fake.last.sink.open()
    next.emit('6')
    next.emit('7')
    for (const f of followers) await poll(() => f.ids).toEqual(ids(1, 2, 3, 4, 5, 6, 7))
    await sleep(TIMEOUT * 2)
    for (const f of followers) {
      f.flushFrames()
      expect(f.ids).toEqual(ids(1, 2, 3, 4, 5, 6, 7))
      expect(f.shared.getSnapshot()).toMatchObject({ status: 'open', data: 'm7', lastEventId: '7' })
    }
    expect(followers.map((t) => t.created.length).reduce((a, b) => a + b)).toBe(1)
    expect(old.shared.getSnapshot().status).toBe('closed')
    expect(old.ids).toEqual(ids(1, 2, 3, 4, 5))
  })

  // Followers mirror their leader exactly; they are never ahead of it, so they filter nothing
  // (filtering by id would drop SSE events without an id of their own, which carry the
  // previous id). A server that repeats the resumed event is seen the same in every tab.
  it('a new leader whose server repeats the resumed event: every tab sees the same sequence', async () => {
    const all = [tabs.open(), tabs.open(), tabs.open()]
    const [old, followers] = await started(all)
    for (let i = 1; i <= 3; i++) old.emit(String(i))
    for (const f of followers) await poll(() => f.ids).toEqual(ids(1, 2, 3))
    old.shared.close()
    const next = await heir(followers)
    const other = followers.find((t) => t !== next)!
    next.fake.last.sink.open()
    // A server that includes the resumed event again (a lagging tab's leader would too).
    next.emit('3')
    next.emit('4')
    await poll(() => other.ids).toEqual(ids(1, 2, 3, 3, 4))
    await sleep(50)
    expect(other.ids).toEqual(next.ids)
  })

  it('an id-less event right after the resume point reaches the followers', async () => {
    const [old, followers] = await started([tabs.open(), tabs.open(), tabs.open()])
    for (let i = 1; i <= 3; i++) old.emit(String(i))
    for (const f of followers) await poll(() => f.ids).toEqual(ids(1, 2, 3))
    old.shared.close()
    const next = await heir(followers)
    const other = followers.find((t) => t !== next)!
    next.fake.last.sink.open()
    next.emit('3', 'news without an id') // SSE reports the stream's last id for it: '3'
    await poll(() => next.messages.map((m) => m.data)).toContain('news without an id')
    await poll(() => other.messages.map((m) => m.data), { timeout: 500 }).toContain('news without an id')
  })

  it('a follower that read more of the old leader than the new one skips exactly what it already has', async () => {
    const channel = gatedChannel()
    const { old, next, ahead } = await inLine({ next: channel.factory })
    // The next leader falls behind: it has not read 4 and 5 when the old leader goes.
    channel.gate.lagging = true
    old.emit('4')
    old.emit('5', 'an id-less event after 4') // carries the id before it
    old.emit('5')
    await poll(() => ahead.ids).toEqual(ids(1, 2, 3, 4, 5, 5))
    old.shared.close()
    channel.gate.lagging = false
    await poll(() => next.created).toEqual(['3'])
    next.fake.last.sink.open()
    // The server resumes after 3: 4, the id-less event, 5, then new ones.
    next.emit('4')
    next.emit('5', 'an id-less event after 4')
    next.emit('5')
    next.emit('6')
    await poll(() => ahead.ids).toEqual(ids(1, 2, 3, 4, 5, 5, 6))
    expect(next.ids).toEqual(ids(1, 2, 3, 4, 5, 5, 6))
    await sleep(50)
    expect(ahead.messages.map((m) => m.data)).toEqual(['m1', 'm2', 'm3', 'm4', 'an id-less event after 4', 'm5', 'm6'])
  })

  it("a tab that takes the lead resumes from the last event it handled, though a lagging leader's state said less", async () => {
    const lagNext = gatedChannel()
    const { old, next, ahead } = await inLine({ next: lagNext.factory })
    lagNext.gate.lagging = true
    old.emit('4')
    old.emit('5')
    await poll(() => ahead.ids).toEqual(ids(1, 2, 3, 4, 5))
    old.shared.close()
    lagNext.gate.lagging = false
    await poll(() => next.created).toEqual(['3'])
    // The lagging leader's state reaches the other tab: its snapshot says 3, but it has 5.
    await poll(() => ahead.shared.getSnapshot().lastEventId).toBe('3')
    next.shared.close()
    await poll(() => ahead.created).toEqual(['5'])
    ahead.fake.last.sink.open()
    ahead.emit('6')
    expect(ahead.ids).toEqual(ids(1, 2, 3, 4, 5, 6))
  })

  it("a tab that missed the new leader's first frames (and repeats) still skips what it already has", async () => {
    const [lagNext, lagAhead] = [gatedChannel(), gatedChannel()]
    const { old, next, ahead } = await inLine({ next: lagNext.factory, ahead: lagAhead.factory })
    lagNext.gate.lagging = true
    old.emit('4')
    old.emit('5')
    await poll(() => ahead.ids).toEqual(ids(1, 2, 3, 4, 5))
    // The other tab is busy (or paused in a debugger) while the lead moves: it never reads
    // the new leader's first state frames.
    lagAhead.gate.lagging = true
    old.shared.close()
    lagNext.gate.lagging = false
    await poll(() => next.created).toEqual(['3'])
    next.fake.last.sink.open()
    next.emit('4') // missed too
    await sleep(50)
    lagAhead.gate.lagging = false
    for (const id of ['5', '6']) next.emit(id)
    await poll(() => ahead.ids).toEqual(ids(1, 2, 3, 4, 5, 6))
    await sleep(50)
    expect(ahead.ids).toEqual(ids(1, 2, 3, 4, 5, 6))
  })

  it('a leader that leaves (pagehide) lets go first: the next one leads at once and followers never see it pause', async () => {
    const lifecycle = fakePage()
    const [leader, followers] = await started([tabs.open({ page: lifecycle.page }), tabs.open(), tabs.open()])
    const statuses: string[] = []
    for (const f of followers) f.shared.subscribe(() => statuses.push(f.shared.getSnapshot().status))
    // At once: the lock goes to the next tab in line, nobody's watchdog steals it (a count,
    // not a wall-clock budget a loaded machine can miss).
    const requests = vi.spyOn(navigator.locks, 'request')
    lifecycle.emit('leave') // pagehide
    expect(leader.connections[0]!.getSnapshot().status).toBe('closed')
    await poll(() => followers.filter((t) => t.created.length > 0).length).toBe(1)
    expect(requests.mock.calls.filter(([, options]) => (options as LockOptions).steal)).toEqual([])
    requests.mockRestore()
    expect(statuses).not.toContain('paused')
    expect(statuses).not.toContain('closed')
  })

  it('a silent (frozen) leader has its lock stolen and steps down; the thief resumes', async () => {
    const b = tabs.open()
    const { a, gate } = await leaderThatCanFreeze(b, 3)

    gate.frozen = true
    const frozenAt = Date.now()
    await poll(() => b.created).toEqual(['3'])
    // The watchdog waits timeout × (0.75, 1] from the last frame heard (one heartbeat, 100 ms,
    // before the freeze on an idle machine; a loaded one runs beats late, so the lower bound
    // is half the timeout). The upper bound leaves room for a loaded CI machine; the e2e
    // tests measure the real figure in Chromium, and the injected-timer tests the exact one.
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(TIMEOUT / 2)
    expect(Date.now() - frozenAt).toBeLessThan(TIMEOUT + 1000)
    // The old leader stepped down: its real connection is closed.
    await poll(() => a.connections[0]!.getSnapshot().status).toBe('closed')
    expect(a.fake.last.closed).toBe(true)

    b.fake.last.sink.open()
    b.emit('4')
    // The old leader, now a follower (it still hears), gets the new leader's messages.
    await poll(() => a.ids).toEqual(ids(1, 2, 3, 4))
    await sleep(TIMEOUT * 2.5)
    // Stable: nobody steals back; one connection each ever.
    expect(a.created).toHaveLength(1)
    expect(b.created).toHaveLength(1)
    expect(b.leading).toBe(true)
    expect(b.ids).toEqual(ids(1, 2, 3, 4))
    expect(a.ids).toEqual(ids(1, 2, 3, 4))
  })

  it('a follower back from the back/forward cache (or a freeze) gets what it missed from the leader, once, in order, then the live stream', async () => {
    const lifecycle = fakePage()
    const [leader, [back]] = await started([tabs.open(), tabs.open({ page: lifecycle.page })])
    leader.emit('1')
    await poll(() => back!.ids).toEqual(ids(1))
    lifecycle.emit('leave') // pagehide: out of the election and the channel
    for (const id of ['2', undefined, '3']) leader.emit(id) // and an id-less event
    await sleep(50)
    expect(back!.ids).toEqual(ids(1))
    lifecycle.emit('return') // pageshow
    leader.emit('4') // may be relayed before the leader reads the hello: not twice
    await poll(() => back!.ids).toEqual(['1', '2', undefined, '3', '4'])
    leader.emit('5')
    await poll(() => back!.ids).toEqual(['1', '2', undefined, '3', '4', '5'])
    expect(back!.created).toEqual([])
  })

  it('a leader that leaves with a batch it delivered to itself but had not relayed yet asks, on its way back, only for what came after it', async () => {
    const lifecycle = fakePage()
    const [a, [b]] = await started([tabs.open({ page: lifecycle.page }), tabs.open()])
    a.emit('1')
    await poll(() => b!.ids).toEqual(ids(1))
    a.emit('2') // delivered in a at once; relayed after the tasks already queued
    lifecycle.emit('leave') // before that: the batch never goes out
    await poll(() => b!.created).toEqual(['1'])
    b!.fake.last.sink.open()
    b!.emit('2') // the server resumes after 1
    b!.emit('3')
    lifecycle.emit('return')
    await poll(() => a.ids).toEqual(ids(1, 2, 3))
    b!.emit('4')
    await poll(() => a.ids).toEqual(ids(1, 2, 3, 4))
    expect(b!.ids).toEqual(ids(1, 2, 3, 4))
  })

  it('a follower that comes back after the leader changed gets what it missed from the new leader', async () => {
    const lifecycle = fakePage()
    const all = [tabs.open(), tabs.open(), tabs.open({ page: lifecycle.page })]
    const [old, followers] = await started(all)
    const back = all[2]!
    expect(followers.includes(back)).toBe(true)
    old.emit('1')
    await poll(() => back.ids).toEqual(ids(1))
    lifecycle.emit('leave')
    old.emit('2')
    old.emit('3')
    const next = followers.find((t) => t !== back)!
    await poll(() => next.ids).toEqual(ids(1, 2, 3))
    old.shared.close()
    await poll(() => next.created).toEqual(['3'])
    next.fake.last.sink.open()
    next.emit('4')
    await poll(() => next.ids).toEqual(ids(1, 2, 3, 4))
    lifecycle.emit('return')
    await poll(() => back.ids).toEqual(ids(1, 2, 3, 4))
    next.emit('5')
    await poll(() => back.ids).toEqual(ids(1, 2, 3, 4, 5))
    expect(back.created).toEqual([])
  })

  it('a hidden follower never steals (hidden timers are throttled, silence proves nothing); once visible it does', async () => {
    const lifecycle = fakePage(false)
    const b = tabs.open({ page: lifecycle.page })
    const { gate } = await leaderThatCanFreeze(b, 1)
    gate.frozen = true
    await sleep(TIMEOUT * 2.5)
    expect(b.created).toEqual([])
    lifecycle.visible = true
    lifecycle.emit('visibility')
    await poll(() => b.created).toEqual(['1'])
  })

  it('a leader whose timers ran late asks the lock manager before it relays or delivers: replaced meanwhile, it relays and delivers nothing stale, and follows', async () => {
    // Each tab sees who holds a lock by its own client id (one process has one id for all),
    // and the hung tab never hears that its lock was stolen (it would, later, in a browser).
    const holders = new Map<string, string>()
    const locksOf = (client: string, hears = true) => ({
      request: (name: string, options: LockOptions, grant: (lock: Lock | null) => Promise<void>) => {
        const granted = navigator.locks.request(name, options, (lock) => (holders.set(name, client), grant(lock)))
        return hears ? granted : new Promise(() => void granted.catch(() => {}))
      },
      query: async () => ({ held: [...holders].map(([name, clientId]) => ({ name, clientId, mode: 'exclusive' as const })), pending: [] }),
    })
    let skew = 0
    const channel = gatedChannel()
    const a = tabs.open({ channel: channel.factory, locks: locksOf('a', false) as never, now: () => Date.now() + skew })
    a.shared.connect()
    await poll(() => a.created.length).toBe(1)
    const b = tabs.open({ locks: locksOf('b') as never })
    b.shared.connect()
    a.fake.last.sink.open()
    a.emit('1')
    await poll(() => b.ids).toEqual(ids(1))
    // Hung: it posts nothing and reads nothing, and its timers do not run.
    channel.gate.frozen = true
    channel.gate.lagging = true
    await poll(() => b.created).toEqual(['1'])
    b.fake.last.sink.open()
    const spy = new BroadcastChannel(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`)
    const stale: unknown[] = []
    // Only the hung tab ever had event 2.
    spy.onmessage = (e) => void (e.data.t === 'msgs' && e.data.ms.some((m: WireMessage) => m.id === '2') && stale.push(e.data))
    try {
      // It wakes up: its clock jumped past the followers' timeout, and its socket has more.
      skew = TIMEOUT
      channel.gate.frozen = false
      channel.gate.lagging = false
      a.emit('2')
      await poll(() => a.connections[0]!.getSnapshot().status).toBe('closed')
      b.emit('3')
      // Not even its own tab gets 2 from its stale socket (the new leader's stream brings
      // what comes after 1); the new leader's 3 follows.
      await poll(() => a.ids).toEqual(ids(1, 3))
      expect(stale).toEqual([])
      expect(b.ids).toEqual(ids(1, 3))
    } finally {
      spy.close()
    }
  })

  it('a create() that throws: closed with a protocol error, and no lock request loop', async () => {
    let requests = 0
    const locks = { request: (...args: Parameters<LockManager['request']>) => (requests++, navigator.locks.request(...args)) }
    const shared = shareAcrossTabs(`${namespace}-throws`, () => {
      throw new TypeError('[tabwire] createEventSource: misuse')
    }, { namespace, locks: locks as never })
    const errors: string[] = []
    shared.onError((e) => void errors.push(e.kind))
    shared.connect()
    await poll(() => shared.getSnapshot().status).toBe('closed')
    expect(shared.getSnapshot().error?.kind).toBe('protocol')
    await sleep(TIMEOUT)
    expect(requests).toBe(1)
    expect(errors).toEqual(['protocol'])
    shared.close()
  })

  it('a lock manager that refuses (a sandboxed frame): one connection of its own, no request loop', async () => {
    let requests = 0
    const refusing = { request: () => (requests++, Promise.reject(new DOMException('denied', 'SecurityError'))) }
    const tab = tabs.open({ locks: refusing as never })
    tab.shared.connect()
    await poll(() => tab.created).toEqual([undefined])
    tab.fake.last.sink.open()
    tab.emit('1')
    await poll(() => tab.ids).toEqual(ids(1))
    await sleep(TIMEOUT)
    expect(requests).toBe(1)
    expect(tab.shared.getSnapshot().status).toBe('open')
  })

  it('a silent leader that ran far ahead (hundreds of events) skips every repeat once it follows', async () => {
    const b = tabs.open()
    const { a, gate } = await leaderThatCanFreeze(b, 3)
    gate.frozen = true
    const far = Array.from({ length: 500 }, (_, i) => i + 1)
    for (const n of far.slice(3)) a.emit(String(n)) // its own stream goes on; nobody hears it
    await poll(() => b.created).toEqual(['3'])
    b.fake.last.sink.open()
    for (const n of far.slice(3)) b.emit(String(n))
    b.emit('501')
    await poll(() => a.ids.at(-1)).toBe('501')
    expect(a.ids).toEqual(ids(...far, 501))
  })

  it('a thief that never heard the old leader still starts a newer epoch', async () => {
    const throttled = tabs.open({ timers: manualTimers() }) // a background tab: its watchdog never fires
    const { a, gate } = await leaderThatCanFreeze(throttled, 3)

    gate.frozen = true
    const c = tabs.open() // opened while the leader is frozen: hears nothing, steals
    c.shared.connect()
    await poll(() => c.created).toEqual([undefined])
    c.fake.last.sink.open()
    c.emit('4')
    await poll(() => throttled.ids, { timeout: 500 }).toEqual(ids(1, 2, 3, 4))
  })
})

describe('sends', () => {
  it("a follower's send reaches the leader's connection once and is acknowledged", async () => {
    const all = [tabs.open(), tabs.open(), tabs.open()]
    const [leader, followers] = await started(all)
    const sender = followers[0]!
    expect(sender.shared.send!({ hello: 'world' })).toBe('queued')
    await poll(() => leader.connections[0]!.send.mock.calls.map(first)).toEqual([[{ hello: 'world' }]])
    // Acknowledged: when the leader changes, nobody sends it again.
    await sleep(50)
    leader.shared.close()
    const next = await heir(followers)
    next.fake.last.sink.open()
    await sleep(TIMEOUT)
    expect(next.connections[0]!.send).not.toHaveBeenCalled()
    expect(leader.connections[0]!.send).toHaveBeenCalledTimes(1)
  })

  it("the leader's own send goes straight to its connection", async () => {
    const [leader] = await started([tabs.open(), tabs.open()])
    leader.shared.send!('direct')
    expect(leader.connections[0]!.send.mock.calls.map(first)).toEqual([['direct']])
  })

  it('an unacknowledged send is kept and re-sent to the next leader', async () => {
    const b = tabs.open()
    const { a, gate } = await leaderThatCanFreeze(b)
    await poll(() => b.shared.getSnapshot().status).toBe('open')
    gate.frozen = true // the ack never arrives
    b.shared.send!('order-1')
    await poll(() => a.connections[0]!.send.mock.calls.map(first)).toEqual([['order-1']])
    await poll(() => b.created.length).toBe(1)
    // After the new leader's grace, in which an ack the old leader posted could still arrive.
    await poll(() => b.connections[0]!.send.mock.calls.map(first)).toEqual([['order-1']])
  })
})

describe('names, errors and queues', () => {
  it('lock and channel names carry the namespace, the protocol version and a hash of the key, never the key', async () => {
    const key = 'sse{"url":"https://api.example/stream?token=s3cret"}'
    const lockNames: string[] = []
    const channelNames: string[] = []
    const shared = shareAcrossTabs(key, () => ({ connect() {}, close() {}, reconnect() {}, subscribe: () => () => {}, onMessage: () => () => {}, onError: () => () => {}, onWire: () => () => {}, report() {}, getSnapshot: () => IDLE }), {
      namespace: 'shop@2',
      locks: { request: ((name: string, _o: unknown, cb: () => Promise<void>) => (lockNames.push(name), navigator.locks.request(`${namespace}-${name}`, cb))) as never },
      channel: (name) => (channelNames.push(name), new BroadcastChannel(`${namespace}-${name}`)),
    })
    shared.connect()
    shared.close()
    expect(lockNames).toEqual([`shop@2:v${PROTOCOL}:${hashKey(key)}`])
    expect(channelNames).toEqual(lockNames)
    expect(lockNames[0]).toMatch(/^shop@2:v\d+:[0-9a-z]{2,9}$/)
    expect(hashKey(key)).toBe(hashKey(key))
    expect(hashKey(key)).not.toBe(hashKey(key.replace('s3cret', 's3cres')))
  })

  it("the leader's errors reach every follower's onError, as RealtimeErrors", async () => {
    const [leader, followers] = await started([tabs.open(), tabs.open(), tabs.open()])
    leader.fake.last.sink.fail(new RealtimeError('http', 'the server answered 503', { status: 503 }), true)
    for (const f of followers) {
      await poll(() => f.errors.map((e) => [e instanceof RealtimeError, e.kind, e.message, e.status])).toEqual([[true, 'http', 'the server answered 503', 503]])
    }
    expect(leader.errors.map((e) => e.kind)).toEqual(['http'])
  })

  it("a follower's sends wait for a leader up to maxQueued; past it, send is refused with an overflow error", async () => {
    let release!: () => void
    // Another tab holds the lock and says nothing: no leader answers.
    void navigator.locks.request(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`, () => new Promise<void>((r) => (release = r)))
    await sleep(5)
    const tab = tabs.open({ maxQueued: 2, timeout: 60_000 })
    tab.shared.connect()
    expect([tab.shared.send!('a'), tab.shared.send!('b'), tab.shared.send!('c')]).toEqual(['queued', 'queued', 'rejected'])
    expect(tab.errors.map((e) => e.kind)).toEqual(['overflow'])
    expect(tab.shared.getSnapshot().error?.kind).toBe('overflow')
    // The lock comes free: the tab leads and sends what it kept, in order, once.
    release()
    await poll(() => tab.connections[0]?.send.mock.calls.map(first)).toEqual([['a'], ['b']])
  })

  it("close() in a follower returns the sends no leader acknowledged", async () => {
    void navigator.locks.request(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`, () => new Promise<void>(() => {}))
    await sleep(5)
    const tab = tabs.open({ timeout: 60_000 })
    tab.shared.connect()
    tab.shared.send!('a')
    tab.shared.send!('b')
    expect(tab.shared.close()).toEqual(['a', 'b'])
  })

  it("a leader's full queue is reported to the follower that sent", async () => {
    const [leader, [follower]] = await started([tabs.open(), tabs.open()])
    leader.connections[0]!.send.mockReturnValue('rejected')
    expect(follower!.shared.send!('x')).toBe('queued')
    await poll(() => follower!.errors.map((e) => e.kind)).toEqual(['overflow'])
  })

  it('a send posted twice (again to a leader just found) is taken once, and acknowledged both times', async () => {
    const [leader] = await started([tabs.open(), tabs.open()])
    const other = new BroadcastChannel(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`)
    const acks: unknown[] = []
    other.onmessage = (e) => void (e.data.t === 'ack' && acks.push(e.data.id))
    try {
      for (let i = 0; i < 2; i++) other.postMessage({ v: PROTOCOL, t: 'send', id: 'same', data: 'once' })
      await poll(() => acks).toEqual(['same', 'same'])
      expect(leader.connections[0]!.send.mock.calls.map(first)).toEqual([['once']])
    } finally {
      other.close()
    }
  })

  it("a follower's send that waits in the leader's socket queue is acknowledged only once the socket opens", async () => {
    const [leader, [early, late]] = await started([tabs.open(), tabs.open(), tabs.open()])
    const socket = leader.connections[0]!
    socket.send.mockReturnValue('queued') // the socket is reconnecting
    leader.fake.last.sink.fail(new RealtimeError('network', 'cut'), true)
    early!.shared.send!('a')
    late!.shared.send!('b')
    await poll(() => socket.send.mock.calls.map(first)).toEqual([['a'], ['b']])
    await sleep(50)
    // Not acknowledged: the leader's tab could close before its socket sends them.
    expect(early!.shared.close()).toEqual(['a'])
    await poll(() => leader.fake.attempts.length).toBe(2)
    leader.fake.last.sink.open() // the socket is back and has sent its queue
    await poll(() => late!.shared.close()).toEqual([])
  })

  it("a leader that closes with a follower's send in its socket queue: the follower sends it through the next leader, once", async () => {
    const [leader, followers] = await started([tabs.open(), tabs.open(), tabs.open()])
    const socket = leader.connections[0]!
    socket.send.mockReturnValue('queued')
    socket.close = (() => ['from the follower']) as never // what the socket still held
    followers[0]!.shared.send!('from the follower')
    await poll(() => socket.send.mock.calls.map(first)).toEqual([['from the follower']])
    leader.shared.close()
    const next = await heir(followers)
    next.fake.last.sink.open()
    const sent = () => next.connections[0]!.send.mock.calls.map(first)
    await poll(sent).toEqual([['from the follower']])
    await sleep(TIMEOUT)
    expect(sent()).toEqual([['from the follower']])
  })

  it("close() in a leader returns its own queued sends, not a follower's (the follower sends that again)", async () => {
    const [leader, [follower]] = await started([tabs.open(), tabs.open()])
    const socket = leader.connections[0]!
    socket.send.mockReturnValue('queued')
    leader.shared.send!('mine')
    follower!.shared.send!('theirs')
    await poll(() => socket.send.mock.calls.map(first)).toEqual([['mine'], ['theirs']])
    socket.close = (() => ['mine', 'theirs']) as never
    expect(leader.shared.close()).toEqual(['mine'])
    await poll(() => follower!.created.length).toBe(1)
    follower!.fake.last.sink.open()
    await poll(() => follower!.connections[0]!.send.mock.calls.map(first)).toEqual([['theirs']])
  })

  it('a leader that hears a newer epoch on the channel asks the lock manager: the lock still its own (the frame was forged), it goes on leading', async () => {
    const [a] = await started([tabs.open()])
    const other = new BroadcastChannel(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`)
    other.postMessage({ v: PROTOCOL, t: 'beat', e: Date.now() + 1000, s: 0 })
    other.close()
    await sleep(TIMEOUT)
    expect(a.connections[0]!.getSnapshot().status).toBe('open')
    expect(a.created).toHaveLength(1)
  })

  it('a leader that lets go on freeze hands what its socket still held to the next leader once it is back, once', async () => {
    const lifecycle = fakePage()
    const [a, [b]] = await started([tabs.open({ page: lifecycle.page }), tabs.open()])
    const socket = a.connections[0]!
    const close = socket.close
    socket.close = () => (close(), ['held-1', 'held-2']) as never
    lifecycle.emit('leave') // freeze
    expect(socket.getSnapshot().status).toBe('closed')
    await poll(() => b!.created.length).toBe(1)
    b!.fake.last.sink.open()
    // A frozen page is out of the election and the channel; what it held goes out when it is back.
    await sleep(TIMEOUT)
    expect(b!.connections[0]!.send).not.toHaveBeenCalled()
    lifecycle.emit('return')
    await poll(() => b!.connections[0]!.send.mock.calls.map(first)).toEqual([['held-1'], ['held-2']])
    await sleep(TIMEOUT)
    expect(b!.connections[0]!.send).toHaveBeenCalledTimes(2)
    expect(a.created).toHaveLength(1)
  })
})

describe('closing', () => {
  it("a follower's close() is local: the others go on", async () => {
    const all = [tabs.open(), tabs.open(), tabs.open()]
    const [leader, [quitter, stayer]] = await started(all)
    leader.emit('1')
    await poll(() => quitter!.ids).toEqual(ids(1))
    quitter!.shared.close()
    expect(quitter!.shared.getSnapshot().status).toBe('closed')
    leader.emit('2')
    await poll(() => stayer!.ids).toEqual(ids(1, 2))
    await sleep(TIMEOUT * 2)
    expect(quitter!.ids).toEqual(ids(1))
    expect(quitter!.shared.getSnapshot().status).toBe('closed')
    expect(leader.connections[0]!.getSnapshot().status).toBe('open')
    expect(stayer!.shared.getSnapshot().status).toBe('open')
    expect(all.map((t) => t.created.length)).toEqual(all.map((t) => (t === leader ? 1 : 0)))
  })
})

describe('frames', () => {
  const valid = [
    { v: PROTOCOL, t: 'hello' },
    { v: PROTOCOL, t: 'beat', e: 1, s: 0 },
    { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { status: 'open', attempt: 0, lastEventId: undefined, error: null } },
    { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { status: 'open', attempt: 0, lastEventId: '1', error: null, m: { data: 'x', event: 'message', id: '1' } } },
    { v: PROTOCOL, t: 'msgs', e: 1, s: 2, ms: [{ data: 'x', event: 'message', id: '1' }, { data: 'y', event: 'message', id: undefined }] },
    { v: PROTOCOL, t: 'send', id: 'a', data: 1 },
    { v: PROTOCOL, t: 'ack', id: 'a' },
    { v: PROTOCOL, t: 'ack', id: 'a', error: { kind: 'overflow', message: 'full' } },
    { v: PROTOCOL, t: 'err', e: 1, s: 3, error: { kind: 'http', message: 'boom', status: 503 } },
  ]
  const invalid: [string, unknown][] = [
    ['null', null],
    ['a string', 'hello'],
    ['a number', 1],
    ['no version', { t: 'hello' }],
    ['an older version', { v: PROTOCOL - 1, t: 'msgs', e: 9, s: 9, ms: [{ data: 'x', event: 'message', id: '9' }] }],
    ['a newer version', { v: PROTOCOL + 1, t: 'msgs', e: 9, s: 9, ms: [{ data: 'x', event: 'message', id: '9' }] }],
    ['a version-2 msg frame', { v: PROTOCOL, t: 'msg', e: 9, s: 9, m: { data: 'x', event: 'message', id: '9' } }],
    ['a beat without s', { v: PROTOCOL, t: 'beat', e: 1 }],
    ['a msgs frame with an empty batch', { v: PROTOCOL, t: 'msgs', e: 9, s: 9, ms: [] }],
    ['a msgs frame with one bad message in the batch', { v: PROTOCOL, t: 'msgs', e: 9, s: 9, ms: [{ data: 'x', event: 'message' }, { data: 'y' }] }],
    ['a sequence number of 0', { v: PROTOCOL, t: 'msgs', e: 9, s: 0, ms: [{ data: 'x', event: 'message' }] }],
    ['an ack with an error of an unknown kind', { v: PROTOCOL, t: 'ack', id: 'a', error: { kind: 'evil', message: 'x' } }],
    ['a version as a string', { v: '1', t: 'hello' }],
    ['an unknown type', { v: PROTOCOL, t: 'nope', e: 1, s: 1 }],
    ['a beat without epoch', { v: PROTOCOL, t: 'beat', s: 0 }],
    ['a fractional epoch', { v: PROTOCOL, t: 'beat', e: 1.5, s: 0 }],
    ['a msgs frame without seq', { v: PROTOCOL, t: 'msgs', e: 9, ms: [{ data: 'x', event: 'message', id: '9' }] }],
    ['a msgs frame with a string seq', { v: PROTOCOL, t: 'msgs', e: 9, s: '9', ms: [{ data: 'x', event: 'message', id: '9' }] }],
    ['a msgs frame without ms', { v: PROTOCOL, t: 'msgs', e: 9, s: 9 }],
    ['a msgs frame with a message without event', { v: PROTOCOL, t: 'msgs', e: 9, s: 9, ms: [{ data: 'x' }] }],
    ['a state with a bad status', { v: PROTOCOL, t: 'state', e: 9, s: 9, state: { status: 'bogus', attempt: 0 } }],
    ['a state without attempt', { v: PROTOCOL, t: 'state', e: 9, s: 9, state: { status: 'open' } }],
    ['a state with a malformed last message', { v: PROTOCOL, t: 'state', e: 9, s: 9, state: { status: 'open', attempt: 0, error: null, m: { data: 'x', id: 9 } } }],
    ['a state without state', { v: PROTOCOL, t: 'state', e: 9, s: 9 }],
    ['a send without id', { v: PROTOCOL, t: 'send', data: 1 }],
    ['an ack with a numeric id', { v: PROTOCOL, t: 'ack', id: 1 }],
    ['an epoch far ahead of the clock', { v: PROTOCOL, t: 'beat', e: Number.MAX_SAFE_INTEGER, s: 0 }],
    ['a msgs frame with a numeric id', { v: PROTOCOL, t: 'msgs', e: 9, s: 9, ms: [{ data: 'x', event: 'message', id: 9 }] }],
    ['a state with an error of an unknown kind', { v: PROTOCOL, t: 'state', e: 9, s: 9, state: { status: 'open', attempt: 0, error: { kind: 'evil', message: 'x' } } }],
    ['a state with a numeric lastEventId', { v: PROTOCOL, t: 'state', e: 9, s: 9, state: { status: 'open', attempt: 0, error: null, lastEventId: 7 } }],
    ['an err without a message', { v: PROTOCOL, t: 'err', e: 9, s: 9, error: { kind: 'http' } }],
    ['an err of an unknown kind', { v: PROTOCOL, t: 'err', e: 9, s: 9, error: { kind: 'nope', message: 'x' } }],
  ]

  it.each(valid.map((f) => [f.t, f] as const))('readFrame accepts a %s frame', (_, frame) => {
    expect(readFrame(frame, Date.now())).toBe(frame)
  })

  it.each(invalid)('readFrame rejects %s', (_, frame) => {
    expect(readFrame(frame, Date.now())).toBeUndefined()
  })

  it('foreign, malformed and other-version frames on the channel change nothing', async () => {
    const [leader, [follower]] = await started([tabs.open(), tabs.open()])
    leader.emit('1')
    await poll(() => follower!.ids).toEqual(ids(1))
    const before = follower!.shared.getSnapshot()
    const leaderBefore = leader.shared.getSnapshot()
    const intruder = new BroadcastChannel(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`)
    const otherVersion = new BroadcastChannel(`${namespace}:v${PROTOCOL + 1}:${hashKey('stream')}`)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      for (const [, frame] of invalid) intruder.postMessage(frame)
      otherVersion.postMessage({ v: PROTOCOL + 1, t: 'msg', e: 9, s: 9, m: { data: 'x', event: 'message', id: '9' } })
      // A valid frame from an older epoch is dropped too.
      intruder.postMessage({ v: PROTOCOL, t: 'msg', e: 0, s: 99, m: { data: 'stale', event: 'message', id: 'stale' } })
      await sleep(50)
      expect(follower!.shared.getSnapshot()).toBe(before)
      expect(leader.shared.getSnapshot()).toBe(leaderBefore)
      expect(follower!.ids).toEqual(ids(1))
      expect(leader.ids).toEqual(ids(1))
      // The stream is not poisoned: the next real message still arrives.
      leader.emit('2')
      await poll(() => follower!.ids).toEqual(ids(1, 2))
      expect(leader.created).toHaveLength(1)
      // Reported in development, once, naming the channel (never the stream's key).
      expect(warn.mock.calls).toEqual([[expect.stringMatching(/^\[tabwire\] ignored a foreign message on tabs-test-.*:v\d+:[0-9a-z]+$/)]])
    } finally {
      warn.mockRestore()
      intruder.close()
      otherVersion.close()
    }
  })

  // A fresh copy of the module for each: the warning is given once per page.
  it.each([
    ['development', 1],
    ['production', 0],
  ])('a foreign frame in a %s build: %i warnings', async (mode, count) => {
    vi.resetModules()
    vi.stubEnv('NODE_ENV', mode)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { shareAcrossTabs: fresh } = await import('../../src/core/tabs/share-across-tabs')
    const tab = fresh('stream', () => createConnection({ transport: fakeTransport().factory, environment: fakeEnvironment(), idleTimeout: 0 }), { namespace })
    const intruder = new BroadcastChannel(`${namespace}:v${PROTOCOL}:${hashKey('stream')}`)
    try {
      tab.connect()
      intruder.postMessage({ v: PROTOCOL, t: 'nope' })
      await sleep(50)
      expect(warn).toHaveBeenCalledTimes(count)
    } finally {
      tab.close()
      intruder.close()
      warn.mockRestore()
      vi.unstubAllEnvs()
    }
  })

  it("a payload that cannot be cloned (a custom transport's) is a protocol error in the leader, for that message only", async () => {
    const [leader, [follower]] = await started([tabs.open(), tabs.open()])
    const bad = { toString: () => 'not cloneable' } as unknown as string // holds a function
    leader.emit('1', bad)
    await poll(() => leader.errors.map((e) => e.kind)).toEqual(['protocol'])
    // onError only: the stream itself is fine, so the snapshot shows no error.
    expect(leader.shared.getSnapshot().error).toBeNull()
    expect(leader.ids).toEqual(ids(1)) // the leader's own tab still gets it
    leader.emit('2')
    await poll(() => follower!.ids).toEqual(ids(2))
    expect(follower!.shared.getSnapshot()).toMatchObject({ status: 'open', error: null })
    expect(leader.shared.getSnapshot().status).toBe('open')
    expect(leader.connections[0]!.getSnapshot().status).toBe('open')
  })
  it("a follower's send that cannot be cloned is refused alone, and does not disturb the others' sequence", async () => {
    const [leader, [sender, other]] = await started([tabs.open(), tabs.open(), tabs.open()])
    expect(sender!.shared.send!({ callback: () => {} })).toBe('rejected')
    expect(sender!.errors.map((e) => e.kind)).toEqual(['protocol'])
    expect(sender!.shared.send!('fine')).toBe('queued')
    await poll(() => leader.connections[0]!.send.mock.calls.map(first)).toEqual([['fine']])
    leader.emit('1')
    leader.emit('2')
    for (const t of [sender!, other!]) await poll(() => t.ids).toEqual(ids(1, 2))
    expect(other!.errors).toEqual([])
    // Nothing waits to be sent again to the next leader.
    expect(sender!.shared.close()).toEqual([])
  })
})

describe('fallback', () => {
  it('without Web Locks: create is called once per instance, and the connection is returned as is', () => {
    const create = vi.fn((resume: unknown, relay: unknown) => ({ resume, relay }) as never)
    const one = shareAcrossTabs('k', create, { namespace, locks: {} as never })
    const two = shareAcrossTabs('k', create, { namespace, locks: {} as never })
    expect(create.mock.calls).toEqual([[undefined, false], [undefined, false]])
    expect(one).toBe(create.mock.results[0]!.value)
    expect(two).toBe(create.mock.results[1]!.value)
  })

  it('without navigator.locks or BroadcastChannel globals: one connection per tab', () => {
    const create = vi.fn(() => ({}) as never)
    vi.stubGlobal('navigator', {})
    shareAcrossTabs('k', create, { namespace })
    vi.unstubAllGlobals()
    vi.stubGlobal('BroadcastChannel', undefined)
    shareAcrossTabs('k', create, { namespace })
    expect(create).toHaveBeenCalledTimes(2)
  })
})
