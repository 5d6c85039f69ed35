// shareAcrossTabs composed, with every seam injected: a browser-like lock manager and
// in-memory channels whose deliveries are tasks the test runs (and orders across senders,
// as two IPC paths may), manual timers, a fixed random, a scripted page. No sleeps.
import { describe, expect, it } from 'vitest'
import { createConnection } from '../../../src/core/connection'
import { RealtimeError } from '../../../src/core/errors'
import { PROTOCOL } from '../../../src/core/tabs/frames'
import { createSends } from '../../../src/core/tabs/sends'
import { shareAcrossTabs } from '../../../src/core/tabs/share-across-tabs'
import type { TabResume, TabShareInjectables, TabShareOptions } from '../../../src/core/tabs/types'
import { createWebSocket } from '../../../src/core/web-socket'
import { fakeWebSockets } from '../fake-web-socket'
import { fakeEnvironment, fakeTransport, manualFrames, manualTimers } from '../fakes'
import { type Delivery, type FakeLocksOptions, type FakeShareable, fakeChannels, fakeLocks, fakePage, fakeShareable } from './fakes'

const BASE = 1_700_000_000_000
const HEARTBEAT = 100
const TIMEOUT = 400

function world(lockOptions?: FakeLocksOptions) {
  const timers = manualTimers()
  const locks = fakeLocks(lockOptions)
  const channels = fakeChannels()
  const now = () => BASE + timers.now

  function open(label: string, options: TabShareOptions & TabShareInjectables = {}, make: () => FakeShareable = fakeShareable) {
    const made: FakeShareable[] = []
    const resumes: (TabResume<unknown> | undefined)[] = []
    const frames = manualFrames()
    const page = fakePage()
    const shared = shareAcrossTabs<unknown>(
      'stream',
      (resume) => {
        resumes.push(resume)
        const c = make()
        made.push(c)
        return c
      },
      { sends: createSends, locks, channel: channels.factory(label), timers, now, random: () => 0.5, scheduleFrame: frames.schedule, page, heartbeat: HEARTBEAT, timeout: TIMEOUT, ...options },
    )
    const ids: (string | undefined)[] = []
    const errors: RealtimeError[] = []
    shared.onMessage((m) => void ids.push(m.id))
    shared.onError((e) => void errors.push(e))
    return {
      label,
      shared,
      frames,
      made,
      resumes,
      ids,
      errors,
      page,
      /** The connection this tab leads with now. */
      get conn() {
        const c = made.at(-1)
        if (!c || c.closed) throw new Error(`${label} does not lead`)
        return c
      },
    }
  }

  /** Runs lock grants and channel deliveries until nothing is left. */
  async function run() {
    for (;;) {
      const granted = await locks.tasks.run()
      const delivered = await channels.deliver()
      if (!granted && !delivered) return
    }
  }
  const between = (from: string, to: string) => (d: Delivery) => d.from === from && d.to === to
  return { timers, locks, channels, now, open, run, between }
}

/** A leads with its stream open; B (then C…) follow, in line for the lock in that order. */
async function started(w: ReturnType<typeof world>, ...labels: string[]) {
  const [first, ...rest] = labels.map((label) => w.open(label))
  first!.shared.connect()
  await w.run()
  first!.conn.setStatus('open')
  for (const t of rest) {
    t.shared.connect()
    await w.run()
  }
  for (const t of [first!, ...rest]) expect(t.shared.getSnapshot().status).toBe('open')
  return [first!, ...rest]
}

describe('shareAcrossTabs (injected locks, channels and timers)', () => {
  it('one leader, and followers get its messages once, in order', async () => {
    const w = world()
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    for (const id of ['1', '2', '3']) a!.conn.emit({ data: `d${id}`, event: 'message', id })
    await w.run()
    expect([a!.made.length, b!.made.length, c!.made.length]).toEqual([1, 0, 0])
    expect([a!.ids, b!.ids, c!.ids]).toEqual([
      ['1', '2', '3'],
      ['1', '2', '3'],
      ['1', '2', '3'],
    ])
    // One task's messages went out as one frame.
    expect(w.channels.posted.filter((p) => (p.data as { t: string }).t === 'msgs')).toHaveLength(1)
  })

  it('close() while a steal is in flight: the late grant is released, create is never called (item 8)', async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    // A goes silent for B (its frames are not delivered): B's watchdog steals.
    w.timers.advance(TIMEOUT)
    expect(w.locks.log.at(-1)).toMatchObject({ steal: true })
    b!.shared.close() // before the stolen lock's callback runs
    await w.run()
    w.timers.advance(TIMEOUT * 5)
    await w.run()
    expect(b!.made).toHaveLength(0)
    expect(b!.shared.getSnapshot().status).toBe('closed')
    // A was robbed and leads again; the lock is A's, B holds nothing.
    expect(a!.made.filter((c) => !c.closed)).toHaveLength(1)
    const { held, pending } = await w.locks.query()
    expect([held!.length, pending!.length]).toEqual([1, 0])
  })

  it('a lock manager that refuses (a sandboxed frame): one request, then a connection of its own (item 9)', async () => {
    const w = world()
    const t = w.open('A', { locks: fakeLocks({ refuse: () => new DOMException('sandboxed', 'SecurityError') }) })
    let requests = 0
    const counting = fakeLocks({ refuse: () => (requests++, new DOMException('sandboxed', 'SecurityError')) })
    const u = w.open('B', { locks: counting })
    t.shared.connect()
    u.shared.connect()
    await w.run()
    w.timers.advance(60_000)
    await w.run()
    expect(requests).toBe(1)
    expect(t.made).toHaveLength(1)
    expect(u.made).toHaveLength(1)
    u.conn.setStatus('open')
    expect(u.shared.getSnapshot().status).toBe('open')
  })

  it('create() that throws: closed with an error, the lock released, no request loop (item 9)', async () => {
    const w = world()
    const t = w.open('A', {}, () => {
      throw new TypeError('misuse')
    })
    t.shared.connect()
    await w.run()
    w.timers.advance(60_000)
    await w.run()
    expect(w.locks.log).toHaveLength(1)
    expect(t.shared.getSnapshot()).toMatchObject({ status: 'closed', error: { kind: 'protocol' } })
    expect(await w.locks.query()).toEqual({ held: [], pending: [] })
  })

  it('one forged frame with a huge s does not deafen a follower (item 11)', async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    const name = w.channels.posted[0]!.name
    const epoch = (w.channels.posted.find((p) => (p.data as { e?: number }).e)!.data as { e: number }).e
    w.channels.inject(name, { v: PROTOCOL, t: 'msgs', e: epoch, s: 1e9, ms: [{ data: 'forged', event: 'message', id: 'forged' }] })
    await w.run()
    a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
    await w.run()
    a!.conn.emit({ data: 'd2', event: 'message', id: '2' })
    await w.run()
    w.timers.advance(HEARTBEAT * 3)
    await w.run()
    expect(b!.ids).toEqual(['1', '2'])
  })

  it('a follower that got the new leader\'s frames before the old leader\'s last ones asks the new leader for what it missed: nothing lost, nothing twice', async () => {
    const w = world()
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    for (const id of ['1', '2']) a!.conn.emit({ data: `d${id}`, event: 'message', id })
    await w.run()
    a!.conn.emit({ data: 'd3', event: 'message', id: '3' })
    const toC = (d: Delivery) => d.to === 'C' && d.from === 'A'
    await w.channels.deliver((d) => !toC(d)) // B has 3; C's copy is still on its way
    a!.shared.close()
    await w.locks.tasks.run() // B leads, resuming after 3
    expect(b!.resumes).toEqual([expect.objectContaining({ lastEventId: '3' })])
    b!.conn.setStatus('open')
    b!.conn.emit({ data: 'd4', event: 'message', id: '4' })
    await w.channels.deliver((d) => !toC(d)) // B's frames reach C before A's last one
    await w.run()
    expect(c!.ids).toEqual(['1', '2', '3', '4'])
    expect(b!.ids).toEqual(['1', '2', '3', '4'])
  })

  it('a backward step of the clock: a tab whose clock is behind the leader\'s epoch follows it, and nobody steals', async () => {
    const w = world()
    const [a] = await started(w, 'A')
    const d = w.open('D', { now: () => BASE - 3_600_000 + w.timers.now })
    d.shared.connect()
    await w.run()
    for (let i = 1; i <= 10; i++) {
      a!.conn.emit({ data: `d${i}`, event: 'message', id: String(i) })
      w.timers.advance(HEARTBEAT)
      await w.run()
    }
    expect(d.made).toHaveLength(0)
    expect(w.locks.log.filter((r) => r.steal)).toEqual([])
    expect(d.ids).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'])
    expect(d.shared.getSnapshot().status).toBe('open')
  })

  it('one forged beat with a future epoch: the leader does not step down for it, the followers go back to it at its next frame, and nobody takes the lead', async () => {
    const w = world()
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    const name = w.channels.posted[0]!.name
    a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
    await w.run()
    w.channels.inject(name, { v: PROTOCOL, t: 'beat', e: BASE + w.timers.now + 5000, s: 0 })
    await w.run()
    expect(a!.conn.closed).toBe(false) // it asked the lock manager: still its own lock
    for (const id of ['2', '3']) a!.conn.emit({ data: `d${id}`, event: 'message', id })
    for (let i = 0; i < 10; i++) {
      w.timers.advance(HEARTBEAT)
      await w.run()
    }
    expect(w.locks.log.filter((r) => r.steal)).toEqual([])
    expect([a!.made.length, b!.made.length, c!.made.length]).toEqual([1, 0, 0])
    expect([a!.ids, b!.ids, c!.ids]).toEqual([
      ['1', '2', '3'],
      ['1', '2', '3'],
      ['1', '2', '3'],
    ])
  })

  it('a late tab shows the current state and last message at once: the leader answers its hello with a beat first, so the state that follows carries on (no wait for a heartbeat)', async () => {
    const w = world()
    const [a] = await started(w, 'A', 'B')
    a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
    await w.run()
    const late = w.open('C')
    late.shared.connect()
    await w.run()
    expect(late.shared.getSnapshot()).toMatchObject({ status: 'open', data: 'd1', lastEventId: '1' })
    a!.conn.emit({ data: 'd2', event: 'message', id: '2' })
    await w.run()
    expect(late.ids).toEqual(['2'])
  })

  /** Tabs A (leader) and B after event 1, and then one forged batch of a newer epoch with a made-up id. */
  const afterForgedBatch = async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    const name = w.channels.posted[0]!.name
    a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
    await w.run()
    w.channels.inject(name, { v: PROTOCOL, t: 'msgs', e: BASE + w.timers.now + 5000, s: 1, r: 'nowhere', ms: [{ data: 'forged', event: 'message', id: 'forged' }] })
    await w.run()
    return { w, a: a!, b: b! }
  }

  it('one forged batch with a future epoch and a made-up id: the followers hold it, go back to the leader at its next frame, deliver nothing of it and lose nothing', async () => {
    const { w, a, b } = await afterForgedBatch()
    for (let i = 2; i <= 8; i++) {
      a.conn.emit({ data: `d${i}`, event: 'message', id: String(i) })
      w.timers.advance(HEARTBEAT)
      await w.run()
    }
    expect(w.locks.log.filter((r) => r.steal)).toEqual([])
    expect([a.made.length, b.made.length]).toEqual([1, 0])
    expect(b.ids).toEqual(['1', '2', '3', '4', '5', '6', '7', '8'])
  })

  it('a quiet stream: after one forged batch of a newer epoch and only beats since, a leader change resumes from the last real event', async () => {
    const { w, a, b } = await afterForgedBatch()
    w.timers.advance(HEARTBEAT)
    await w.run()
    a.shared.close()
    await w.locks.tasks.run()
    expect(b.resumes).toEqual([expect.objectContaining({ lastEventId: '1' })])
    expect(b.ids).toEqual(['1'])
  })

  it('one forged state of a newer epoch: no follower shows it, though the leader relays its state only when it changes', async () => {
    const w = world()
    const [, b, c] = await started(w, 'A', 'B', 'C')
    const name = w.channels.posted[0]!.name
    const shown = () => [b!.shared.getSnapshot().status, c!.shared.getSnapshot().status]
    expect(shown()).toEqual(['open', 'open'])
    w.channels.inject(name, { v: PROTOCOL, t: 'state', e: BASE + w.timers.now + 5000, s: 1, state: { status: 'closed', attempt: 9, error: { kind: 'network', message: 'forged' } } })
    await w.run()
    expect(shown()).toEqual(['open', 'open'])
    for (let i = 0; i < 6; i++) {
      w.timers.advance(HEARTBEAT)
      await w.run()
      expect(shown()).toEqual(['open', 'open'])
    }
    expect(w.locks.log.filter((r) => r.steal)).toEqual([])
  })

  it('every tab stalls at once (a laptop asleep): the followers\' late watchdogs give the leader a new chance instead of stealing', async () => {
    const w = world()
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
    await w.run()
    w.timers.stall(TIMEOUT * 20)
    w.timers.advance(0) // everything overdue runs now, late
    await w.run()
    a!.conn.emit({ data: 'd2', event: 'message', id: '2' })
    for (let i = 0; i < 10; i++) {
      w.timers.advance(HEARTBEAT)
      await w.run()
    }
    expect(w.locks.log.filter((r) => r.steal)).toEqual([])
    expect([a!.made.length, b!.made.length, c!.made.length]).toEqual([1, 0, 0])
    expect([b!.ids, c!.ids]).toEqual([
      ['1', '2'],
      ['1', '2'],
    ])
  })

  it('a leader change is invisible while the new connection opens within the timeout: no tab shows connecting; one that takes longer shows it', async () => {
    const w = world()
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    const seen = (t: typeof b) => {
      const statuses: string[] = []
      t!.shared.subscribe(() => statuses.push(t!.shared.getSnapshot().status))
      return statuses
    }
    const [bs, cs] = [seen(b), seen(c)]
    a!.shared.close()
    await w.run()
    w.timers.advance(TIMEOUT / 2)
    b!.conn.setStatus('open')
    await w.run()
    expect([...bs, ...cs]).not.toContain('connecting')
    expect([b, c].map((t) => t!.shared.getSnapshot().status)).toEqual(['open', 'open'])
    // B goes too; C's connection does not open within the timeout: C shows it.
    b!.shared.close()
    await w.run()
    expect(c!.shared.getSnapshot().status).toBe('open')
    w.timers.advance(TIMEOUT)
    await w.run()
    expect(c!.shared.getSnapshot().status).toBe('connecting')
    c!.conn.setStatus('open')
    await w.run()
    expect(c!.shared.getSnapshot().status).toBe('open')
  })

  it('a tab back from a freeze longer than the leader remembers gets one gap error, then goes on from the leader (never a silent hole)', async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
    await w.run()
    b!.page.emit('leave') // frozen
    await w.run()
    for (let i = 2; i <= 2500; i++) a!.conn.emit({ data: `d${i}`, event: 'message', id: String(i) })
    await w.run()
    b!.page.emit('return')
    await w.run()
    expect(b!.errors.map((e) => [e.kind, e.id])).toEqual([['gap', '1']])
    expect(b!.shared.getSnapshot().error?.kind).toBe('gap')
    a!.conn.emit({ data: 'd2501', event: 'message', id: '2501' })
    await w.run()
    expect(b!.ids).toEqual(['1', '2501'])
    b!.frames.flush()
    expect(b!.shared.getSnapshot().error).toBeNull() // a good message clears it
    expect(b!.made).toHaveLength(0)
  })

  it('a leader that hung and was replaced gets what the new leader relayed meanwhile; if the new leader no longer has it all, a gap error', async () => {
    for (const [count, gap] of [
      [500, false],
      [2500, true],
    ] as const) {
      const w = world({ stealNotice: 'task' })
      const [a, b] = await started(w, 'A', 'B')
      a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
      await w.run()
      // A hangs: B steals, resumes after 1 and relays `count` events that A does not take
      // (they reach it while it still thinks it leads).
      w.timers.stall(TIMEOUT * 2)
      b!.shared.reconnect()
      await w.locks.tasks.step()
      b!.conn.setStatus('open')
      for (let i = 2; i <= count; i++) b!.conn.emit({ data: `d${i}`, event: 'message', id: String(i) })
      await w.run()
      w.timers.advance(0)
      await w.run()
      b!.conn.emit({ data: 'last', event: 'message', id: 'last' })
      await w.run()
      const all = Array.from({ length: count }, (_, i) => String(i + 1))
      if (gap) {
        expect(a!.errors.map((e) => e.kind)).toEqual(['gap'])
        expect(a!.ids.at(-1)).toBe('last')
      } else {
        expect(a!.errors).toEqual([])
        expect(a!.ids).toEqual([...all, 'last'])
      }
      expect(b!.ids).toEqual([...all, 'last'])
    }
  })

  it('messages without ids (a WebSocket without messageId): a tab back from the back/forward cache cannot be given what it missed, and is told so (gap); if nothing went out meanwhile, nothing is said', async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    a!.conn.emit({ data: 'x', event: 'message', id: undefined })
    await w.run()
    b!.page.emit('leave')
    await w.run()
    b!.page.emit('return') // nothing went out while it was away
    await w.run()
    expect(b!.errors).toEqual([])
    b!.page.emit('leave')
    await w.run()
    a!.conn.emit({ data: 'y', event: 'message', id: undefined })
    await w.run()
    b!.page.emit('return')
    await w.run()
    expect(b!.errors.map((e) => e.kind)).toEqual(['gap'])
    a!.conn.emit({ data: 'z', event: 'message', id: undefined })
    await w.run()
    expect(b!.ids).toEqual([undefined, undefined])
  })

  it('a tab back from a short freeze gets what it missed from the leader, and no gap error', async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
    await w.run()
    b!.page.emit('leave')
    await w.run()
    for (let i = 2; i <= 500; i++) a!.conn.emit({ data: `d${i}`, event: 'message', id: String(i) })
    await w.run()
    b!.page.emit('return')
    await w.run()
    expect(b!.errors).toEqual([])
    expect(b!.ids).toEqual(Array.from({ length: 500 }, (_, i) => String(i + 1)))
  })

  it("a tab back from the back/forward cache posts what waits for an ack again: the leader acks it (its first ack came while the tab's channel was closed), so the next leader does not send it twice", async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    b!.shared.send!('x')
    await w.channels.deliver(w.between('B', 'A'))
    expect(a!.conn.sent).toEqual(['x'])
    b!.page.emit('leave') // pagehide: B's channel closes before A's ack reaches it
    await w.run()
    b!.page.emit('return')
    await w.run()
    a!.shared.close()
    await w.run()
    b!.conn.setStatus('open')
    w.timers.advance(HEARTBEAT * 3)
    await w.run()
    expect(a!.made[0]!.sent).toEqual(['x'])
    expect(b!.conn.sent).toEqual([])
  })

  it("a leader whose timers ran late holds a follower's send until the lock manager answers; superseded meanwhile, it never sends it (the next leader does, once)", async () => {
    // A paused page learns of a steal only after it woke, maybe after other tabs' frames.
    const w = world({ stealNotice: 'task' })
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    // A's page is paused (its timers are late); C steals, as its watchdog would.
    w.timers.stall(TIMEOUT * 2)
    c!.shared.reconnect()
    await w.locks.tasks.step() // C's grant; A's notice of the steal waits
    c!.conn.setStatus('open')
    b!.shared.send!('x')
    // A wakes: B's send reaches it before the steal's notice; it asks the lock manager first.
    await w.channels.deliver(w.between('B', 'A'))
    await w.run()
    w.timers.advance(0)
    w.timers.advance(HEARTBEAT * 3)
    await w.run()
    expect(a!.made[0]!.sent).toEqual([])
    expect(c!.conn.sent).toEqual(['x'])
    expect(b!.errors).toEqual([])
  })

  it("a follower's send the leader's socket refuses: one error, in the sender only (item 13)", async () => {
    const w = world()
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    a!.conn.sendWith = (_, report) => {
      report?.({ name: 'RealtimeError', kind: 'overflow', message: 'full' } as RealtimeError)
      return 'rejected'
    }
    expect(b!.shared.send!('hello')).toBe('queued')
    await w.run()
    expect(b!.errors.map((e) => e.kind)).toEqual(['overflow'])
    expect([a!.errors, c!.errors]).toEqual([[], []])
    expect(a!.shared.getSnapshot().error).toBeNull()
  })

  // ---------------------------------------------------------------------------------------
  // Failing today: bugs in share-across-tabs.ts (and its contract with web-socket.ts).
  // ---------------------------------------------------------------------------------------

  it("the old leader's ack arriving after the lock grant: the new leader does not send its own send again (item 3)", async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    b!.shared.send!('x')
    await w.channels.deliver(w.between('B', 'A')) // A sends x, and posts its ack to B
    expect(a!.conn.sent).toEqual(['x'])
    a!.shared.close()
    await w.locks.tasks.run() // the grant reaches B before A's ack does
    expect(b!.made).toHaveLength(1)
    await w.run() // the ack arrives, during B's grace
    w.timers.advance(HEARTBEAT * 3)
    await w.run()
    expect(b!.conn.sent).toEqual([])
  })

  it("the old leader's ack arriving after the lock grant: a follower's send is not sent again by the new leader (item 3)", async () => {
    const w = world()
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    c!.shared.send!('x')
    await w.channels.deliver(w.between('C', 'A')) // A sends x, and posts its ack to B and C
    expect(a!.conn.sent).toEqual(['x'])
    a!.shared.close()
    await w.locks.tasks.run() // B leads before it hears A's ack
    await w.channels.deliver(w.between('B', 'C')) // C hears B first, and sends x to it again
    await w.channels.deliver(w.between('C', 'B'))
    await w.run() // now A's ack reaches B (during its grace) and C
    w.timers.advance(HEARTBEAT * 3)
    await w.run()
    expect(b!.conn.sent).toEqual([])
    expect(c!.errors).toEqual([])
  })

  it('a lone tab that sends before it knows any leader sends at once when it leads: nobody else can have taken its send, so it has no grace', async () => {
    const w = world()
    const a = w.open('A')
    a.shared.connect()
    a.shared.send!('subscribe') // from a mount effect: the lock is not granted yet
    expect(w.channels.posted.filter((p) => (p.data as { t: string }).t === 'send')).toEqual([])
    await w.run()
    expect(a.conn.sent).toEqual(['subscribe'])
  })

  it('a tab that sends before it heard any leader posts the send once it hears one', async () => {
    const w = world()
    const [a] = await started(w, 'A')
    const b = w.open('B')
    b.shared.connect()
    b.shared.send!('x') // B knows no leader yet: the send waits in B
    await w.channels.deliver(w.between('B', 'A')) // B's hello
    expect(a!.conn.sent).toEqual([])
    await w.run() // A answers; B hears a leader and posts the send
    expect(a!.conn.sent).toEqual(['x'])
    expect(b.errors).toEqual([])
  })

  it('a tab that sends right after it heard its first leader, then gets the lock before the ack: no second send (item 3)', async () => {
    const w = world()
    const [a] = await started(w, 'A')
    const b = w.open('B')
    b.shared.connect()
    await w.channels.deliver(w.between('B', 'A')) // B's hello
    await w.channels.deliver(w.between('A', 'B')) // A's answer: B knows its leader
    b.shared.send!('x')
    await w.channels.deliver(w.between('B', 'A'))
    expect(a!.conn.sent).toEqual(['x'])
    a!.shared.close()
    await w.locks.tasks.run() // B leads (after A: with a grace, in which A's ack arrives)
    await w.run()
    w.timers.advance(HEARTBEAT * 3)
    await w.run()
    expect(b.conn.sent).toEqual([])
  })

  it("one uncloneable message in a batch costs that message only: the batch's other messages reach the followers", async () => {
    const w = world()
    const [a, b] = await started(w, 'A', 'B')
    a!.conn.emit({ data: 'd1', event: 'message', id: '1' })
    a!.conn.emit({ data: () => 'not cloneable', event: 'message', id: '2' })
    a!.conn.emit({ data: 'd3', event: 'message', id: '3' })
    a!.conn.emit({ data: 'd4', event: 'message', id: '4' })
    await w.run()
    expect(a!.errors.map((e) => e.kind)).toEqual(['protocol'])
    expect(b!.ids).toEqual(['1', '3', '4'])
    a!.conn.emit({ data: 'd5', event: 'message', id: '5' })
    await w.run()
    expect(b!.ids).toEqual(['1', '3', '4', '5'])
  })

  it("with a real WebSocket leading: a follower's send it cannot serialize (a BigInt) is one protocol error, in the sender only (item 13)", async () => {
    const w = world()
    const sockets = fakeWebSockets()
    const make = () =>
      createWebSocket('ws://test.local/socket', {
        WebSocket: sockets.WebSocket,
        environment: fakeEnvironment(),
        timers: w.timers,
        scheduleFrame: manualFrames().schedule,
        random: () => 0.5,
      }) as unknown as FakeShareable
    const a = w.open('A', {}, make)
    const b = w.open('B', {}, make)
    const c = w.open('C', {}, make)
    for (const t of [a, b, c]) t.shared.connect()
    await w.run()
    expect(b.shared.send!({ n: 10n })).toBe('queued') // a BigInt clones, but JSON cannot write it
    await w.run()
    expect(b.errors.map((e) => e.kind)).toEqual(['protocol'])
    expect(a.errors).toEqual([])
    expect(c.errors).toEqual([])
    expect(a.shared.getSnapshot().error).toBeNull()
    expect(c.shared.getSnapshot().error).toBeNull()
  })

  it("a follower's sends across a leader change reach the new leader's socket in the order the follower sent them, each once", async () => {
    const w = world()
    const [a, b, c] = await started(w, 'A', 'B', 'C')
    a!.conn.sendWith = () => 'queued' // A's socket only queues: 1 is never acknowledged
    c!.shared.send!('1')
    await w.channels.deliver((d) => d.from === 'C') // A takes 1; B, a follower, lets it pass
    a!.shared.close()
    await w.locks.tasks.run() // B leads, in its grace
    c!.shared.send!('2') // C has not heard of B yet: 2 goes straight to it
    await w.channels.deliver(w.between('C', 'B'))
    await w.run() // C hears B and posts what is unacknowledged (1, 2) again
    w.timers.advance(HEARTBEAT * 3)
    await w.run()
    b!.conn.setStatus('open')
    c!.shared.send!('3')
    await w.run()
    expect(b!.conn.sent).toEqual(['1', '2', '3'])
    expect(c!.errors).toEqual([])
  })
})

describe('what each tab shows of the shared connection: retryAt, paused, role', () => {
  it("the follower shows the leader's retry time and pause reason, each tab its own role (whole sequences, a real engine)", async () => {
    const w = world()
    const transport = fakeTransport()
    const env = fakeEnvironment()
    const tab = (label: string) => {
      const frames = manualFrames()
      const shared = shareAcrossTabs<unknown>(
        'stream',
        () =>
          createConnection({ transport: transport.factory, environment: env, timers: w.timers, now: w.now, random: () => 0.5, scheduleFrame: frames.schedule, idleTimeout: 0 }),
        { locks: w.locks, channel: w.channels.factory(label), timers: w.timers, now: w.now, random: () => 0.5, scheduleFrame: frames.schedule, page: fakePage(), heartbeat: HEARTBEAT, timeout: TIMEOUT },
      )
      const seen: string[] = []
      shared.subscribe(() => {
        const { status, role, retryAt, paused } = shared.getSnapshot()
        seen.push(`${status} ${role}${retryAt === null ? '' : ` retry at +${retryAt - BASE}`}${paused ? ` (${paused})` : ''}`)
      })
      return { shared, seen }
    }
    /** Lets `ms` pass in heartbeat-sized steps, delivering frames as they go (so nobody's watchdog fires). */
    const pass = async (ms: number) => {
      for (let t = 0; t < ms; t += HEARTBEAT / 2) w.timers.advance(HEARTBEAT / 2), await w.run()
    }
    const a = tab('A')
    a.shared.connect()
    await w.run()
    const b = tab('B')
    b.shared.connect()
    await w.run()
    transport.last.sink.open()
    await w.run()
    // At +0: the first retry in 500 ms (random 0.5 of 1000).
    transport.last.sink.fail(new RealtimeError('network', 'lost'), true)
    await w.run()
    expect(b.shared.getSnapshot().retryAt).toBe(BASE + 500)
    await pass(500)
    expect(transport.attempts).toHaveLength(2)
    // At +500: the second attempt failed; the next in 1000 ms (0.5 of 2000).
    transport.last.sink.fail(new RealtimeError('network', 'lost'), true)
    await w.run()
    // Offline, then the leader's page hides for the back/forward cache (its engine hears it;
    // the layer does not here): back online, it stays paused for the other reason.
    for (const signal of ['offline', 'pagehide', 'online', 'pageshow'] as const) {
      env.emit(signal)
      await w.run()
    }
    transport.last.sink.open()
    await w.run()
    expect(a.seen).toEqual([
      'connecting solo',
      'connecting leader',
      'open leader',
      'reconnecting leader retry at +500',
      'reconnecting leader retry at +1500',
      'paused leader (offline)',
      'paused leader (pagehide)',
      'reconnecting leader',
      'open leader',
    ])
    // B heard nobody yet when it connected; the leader's state made it a follower.
    expect(b.seen).toEqual([
      'connecting solo',
      'connecting follower',
      'open follower',
      'reconnecting follower retry at +500',
      'reconnecting follower retry at +1500',
      'paused follower (offline)',
      'paused follower (pagehide)',
      'reconnecting follower',
      'open follower',
    ])
    b.shared.close()
    a.shared.close()
    expect([a.shared.getSnapshot(), b.shared.getSnapshot()].map((s) => [s.status, s.role, s.retryAt, s.paused])).toEqual([
      ['closed', 'solo', null, null],
      ['closed', 'solo', null, null],
    ])
  })
})
