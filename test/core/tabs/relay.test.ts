// The leader's relay: what one task produces goes out as few frames as possible, in order,
// with consecutive sequence numbers; nothing after stop().
import { describe, expect, it } from 'vitest'
import { type Frame, PROTOCOL, readFrame } from '../../../src/core/tabs/frames'
import { createRelay } from '../../../src/core/tabs/relay'
import type { WireMessage } from '../../../src/core/transport'
import { settle } from './fakes'

const EPOCH = 1_700_000_000_000
const m = (id: string | undefined): WireMessage => ({ data: `d${id}`, event: 'message', id })
const open = { status: 'open' as const, attempt: 0, lastEventId: undefined, error: null }

function relay(from?: string) {
  const frames: Frame[] = []
  const sent: string[][] = []
  const r = createRelay(
    (f) => frames.push(f),
    EPOCH,
    from,
    (ms) => sent.push(ms.map((x) => x.id ?? '-')),
    () => undefined, // its timers ran on time: it posts at once
    () => {},
    queueMicrotask,
  )
  /** Frames in a compact form: 'msgs 1 2', 'state open', 'err http', 'beat'; with their s. */
  const shown = () =>
    frames.map((f) =>
      f.t === 'msgs' ? `${f.s}: msgs ${f.ms.map((x) => x.id ?? '-').join(' ')}` : f.t === 'state' ? `${f.s}: state ${f.state.status}` : f.t === 'err' ? `${f.s}: err ${f.error.kind}` : `beat ${'s' in f ? f.s : ''}`,
    )
  return { r, frames, sent, shown }
}

describe('relay', () => {
  it("one task's messages go out as one 'msgs' frame, in order, after the task", async () => {
    const { r, frames, sent, shown } = relay()
    for (const id of ['1', '2', undefined, '3']) r._msg(m(id))
    expect(frames).toEqual([]) // nothing inside the task
    await settle()
    expect(shown()).toEqual(['1: msgs 1 2 - 3'])
    // The leader remembers what it relayed, as it goes out.
    expect(sent).toEqual([['1', '2', '-', '3']])
  })

  it('state and error changes keep their place between the messages', async () => {
    const { r, shown } = relay()
    r._msg(m('1'))
    r._msg(m('2'))
    r._state({ ...open, status: 'reconnecting' })
    r._msg(m('3'))
    r._err({ kind: 'http', message: 'boom' })
    r._err({ kind: 'network', message: 'again' })
    r._msg(m('4'))
    r._state(open)
    await settle()
    expect(shown()).toEqual(['1: msgs 1 2', '2: state reconnecting', '3: msgs 3', '4: err http', '5: err network', '6: msgs 4', '7: state open'])
  })

  it('states in a row go out as the last of them (a flood of hellos costs one frame a flush)', async () => {
    const { r, shown } = relay()
    for (let i = 0; i < 1000; i++) r._state({ ...open, status: 'reconnecting' })
    r._state(open)
    r._msg(m('1'))
    r._state({ ...open, status: 'reconnecting' })
    await settle()
    expect(shown()).toEqual(['1: state open', '2: msgs 1', '3: state reconnecting'])
  })

  it('sequence numbers run on across tasks; every frame carries the epoch and the resume point', async () => {
    const { r, frames, shown } = relay('41')
    r._msg(m('42'))
    await settle()
    r._state(open)
    r._msg(m('43'))
    await settle()
    r._msg(m('44'))
    await settle()
    expect(shown()).toEqual(['1: msgs 42', '2: state open', '3: msgs 43', '4: msgs 44'])
    expect(frames.every((f) => 'r' in f && f.e === EPOCH && f.r === '41')).toBe(true)
  })

  it('every frame it makes passes readFrame', async () => {
    const { r, frames } = relay('7')
    r._state(open)
    r._msg(m('8'))
    r._msg(m(undefined))
    r._err({ kind: 'protocol', message: 'too large', id: '9' })
    r._beat()
    await settle()
    expect(frames).toHaveLength(4)
    for (const f of frames) expect(readFrame({ v: PROTOCOL, ...f }, EPOCH)).toBeDefined()
  })

  it('a beat goes out at once and carries the last sequence number used', async () => {
    const { r, shown } = relay()
    r._beat()
    r._msg(m('1'))
    r._msg(m('2'))
    r._beat() // the batch is not out yet: the beat still says 0
    await settle()
    r._beat()
    expect(shown()).toEqual(['beat 0', 'beat 0', '1: msgs 1 2', 'beat 1'])
  })

  it('flush() sends what is queued now; the task end sends nothing twice', async () => {
    const { r, shown } = relay()
    r._msg(m('1'))
    r._state(open)
    r._flush()
    expect(shown()).toEqual(['1: msgs 1', '2: state open'])
    r._msg(m('2'))
    await settle()
    expect(shown()).toEqual(['1: msgs 1', '2: state open', '3: msgs 2'])
  })

  it('a flood of one task is split at the most one frame may carry, so followers accept every frame', async () => {
    const { r, frames } = relay()
    const count = 100_000 + 5
    for (let i = 1; i <= count; i++) r._msg(m(String(i)))
    await settle()
    expect(frames.length).toBeGreaterThan(1)
    expect(frames.map((f) => 's' in f && f.s)).toEqual(frames.map((_, i) => i + 1))
    for (const f of frames) expect(readFrame({ v: PROTOCOL, ...f }, EPOCH)).toBeDefined()
    const ids = frames.flatMap((f) => (f.t === 'msgs' ? f.ms.map((x) => x.id) : []))
    expect(ids).toHaveLength(count)
    expect(ids.every((id, i) => id === String(i + 1))).toBe(true)
  })

  describe('a leader whose timers ran late asks first whether it still leads', () => {
    function checked() {
      const frames: Frame[] = []
      const answers: ((leads: boolean) => void)[] = []
      let superseded = 0
      let late = true
      const r = createRelay(
        (f) => frames.push(f),
        EPOCH,
        undefined,
        () => {},
        () => (late ? new Promise<boolean>((resolve) => answers.push((leads) => ((late = false), resolve(leads)))) : undefined),
        () => void superseded++,
        queueMicrotask,
      )
      const ids = () => frames.flatMap((f) => (f.t === 'msgs' ? f.ms.map((x) => x.id) : []))
      return { r, frames, answers, ids, superseded: () => superseded }
    }

    it('frames wait for the answer (one question at a time); if it leads, they go out in order with what came meanwhile', async () => {
      const { r, frames, answers, ids } = checked()
      r._msg(m('1'))
      await settle()
      r._msg(m('2'))
      r._state(open)
      await settle()
      expect(frames).toEqual([])
      expect(answers).toHaveLength(1)
      answers[0]!(true)
      await settle()
      expect(ids()).toEqual(['1', '2'])
      expect(frames.map((f) => 's' in f && f.s)).toEqual([1, 2])
      r._msg(m('3'))
      await settle()
      expect(ids()).toEqual(['1', '2', '3'])
    })

    it('if it no longer leads, nothing goes out and it says so (superseded)', async () => {
      const { r, frames, answers, superseded } = checked()
      r._msg(m('1'))
      await settle()
      answers[0]!(false)
      await settle()
      expect(frames).toEqual([])
      expect(superseded()).toBe(1)
    })

    it("own(): this tab's deliveries and followers' sends run at once on time; while asking they wait, in order with the frames, and run if it still leads", async () => {
      const { r, answers, frames } = checked()
      const ran: string[] = []
      r._msg(m('1'))
      r._own(() => ran.push('deliver 1'))
      r._own(() => ran.push('send x'))
      expect(ran).toEqual([])
      await settle()
      answers[0]!(true)
      await settle()
      expect(ran).toEqual(['deliver 1', 'send x'])
      expect(frames).toHaveLength(1)
      r._own(() => ran.push('send y')) // on time now: at once
      expect(ran).toEqual(['deliver 1', 'send x', 'send y'])
    })

    it('own(): if it no longer leads, what waited never runs (the next leader delivers it, followers send again through it)', async () => {
      const { r, answers } = checked()
      const ran: string[] = []
      r._own(() => ran.push('send x'))
      await settle()
      answers[0]!(false)
      await settle()
      expect(ran).toEqual([])
    })

    it('stopped while asking: nothing goes out when the answer comes', async () => {
      const { r, frames, answers } = checked()
      r._msg(m('1'))
      await settle()
      r._stop()
      answers[0]!(true)
      await settle()
      expect(frames).toEqual([])
    })
  })

  describe('stop()', () => {
    it('drops what is queued: nothing goes out at the task end', async () => {
      const { r, frames, sent } = relay()
      r._msg(m('1'))
      r._state(open)
      r._stop()
      await settle()
      expect(frames).toEqual([])
      expect(sent).toEqual([])
    })

    it('nothing goes out after it: no message, state, error, flush or beat', async () => {
      const { r, frames, shown } = relay()
      r._msg(m('1'))
      await settle()
      r._stop()
      r._msg(m('2'))
      r._state(open)
      r._err({ kind: 'http', message: 'x' })
      r._flush()
      r._beat()
      await settle()
      expect(shown()).toEqual(['1: msgs 1'])
      expect(frames).toHaveLength(1)
    })
  })
})
