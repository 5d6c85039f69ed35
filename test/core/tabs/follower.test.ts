// The follower reducer, tested like a parser: a sequence of frames in, the deliveries and
// the final state out. Pure, so every case is a table row.
import { describe, expect, it } from 'vitest'
import { type Delivery, FOLLOWER, type FollowerState, follow, remember, sift } from '../../../src/core/tabs/follower'
import type { LeaderFrame, Sequenced } from '../../../src/core/tabs/frames'
import type { WireMessage } from '../../../src/core/transport'

type Led = LeaderFrame

const m = (id: string | undefined, data = `d${id}`): WireMessage => ({ data, event: 'message', id })
/** A batch; `'~2'` stands for an id-less event after event 2 (it carries that id, as SSE does). */
const msgs = (e: number, s: number, ids: string[], r?: string): Sequenced => ({
  t: 'msgs',
  e,
  s,
  r,
  ms: ids.map((id) => (id.startsWith('~') ? m(id.slice(1), `idless${id.slice(1)}`) : m(id))),
})
const beat = (e: number, s: number, r?: string): Led => ({ t: 'beat', e, s, r })
const state = (e: number, s: number, status: 'open' | 'reconnecting' = 'open', r?: string): Sequenced => ({
  t: 'state',
  e,
  s,
  r,
  state: { status, attempt: 0, lastEventId: undefined, error: null },
})
const err = (e: number, s: number, r?: string): Sequenced => ({ t: 'err', e, s, r, error: { kind: 'http', message: 'boom', status: 503 } })

/** Deliveries in a compact form: 'leader', 'msg 1' (data for id-less ones), 'state open', 'err http'. */
const show = (d: Delivery) =>
  d.t === 'leader' ? 'leader' : d.t === 'msg' ? `msg ${d.m.data === `d${d.m.id}` ? d.m.id : d.m.data}` : d.t === 'state' ? `state ${d.state.status}` : `err ${d.error.kind}`

/** Deeply frozen, so a reducer that mutates its input throws. */
const frozen = <T>(value: T): T => {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) frozen(v)
    Object.freeze(value)
  }
  return value
}

function run(frames: Led[], from: FollowerState = FOLLOWER): { state: FollowerState; out: string[] } {
  let s = frozen(from)
  const out: string[] = []
  for (const frame of frames) {
    const [next, deliveries] = follow(s, frozen(frame))
    s = frozen(next)
    out.push(...deliveries.map(show))
  }
  return { state: s, out }
}

/** The state of a tab that followed epoch 1 up to `seq`, having delivered `recent`. */
const at = (seq: number, recent: string[] = [], epoch = 1): FollowerState => ({ ...FOLLOWER, _epoch: epoch, _seq: seq, _recent: recent, _prev: undefined })

describe('follow', () => {
  const cases: [string, FollowerState, Led[], string[], Partial<Record<keyof FollowerState, unknown>>?][] = [
    // a leader's first frames
    ['the first frame of the first leader: a new leader, then its messages', FOLLOWER, [beat(1, 0), msgs(1, 1, ['1', '2'])], ['leader', 'msg 1', 'msg 2'], { _epoch: 1, _seq: 1, _recent: ['1', '2'] }],
    ['a late tab: the first frame it hears may be far into the sequence', FOLLOWER, [state(1, 40), msgs(1, 41, ['9'])], ['leader', 'state open', 'msg 9'], { _seq: 41 }],
    ['a beat first: the leader is known, its sequence taken from the beat', FOLLOWER, [beat(1, 5), msgs(1, 6, ['6'])], ['leader', 'msg 6'], { _seq: 6 }],
    ['a beat first: frames up to its s are old and dropped', FOLLOWER, [beat(1, 5), msgs(1, 5, ['5']), msgs(1, 6, ['6'])], ['leader', 'msg 6']],

    // exact sequence
    ['frames in sequence are each taken once, in order', FOLLOWER, [msgs(1, 1, ['1']), state(1, 2), msgs(1, 3, ['2']), err(1, 4), msgs(1, 5, ['3'])], ['leader', 'msg 1', 'state open', 'msg 2', 'err http', 'msg 3'], { _seq: 5, _held: undefined }],
    ['a batch is delivered whole, in order', at(1), [msgs(1, 2, ['2', '3', '4', '5'])], ['msg 2', 'msg 3', 'msg 4', 'msg 5'], { _seq: 2 }],
    ['beats in sequence deliver nothing', at(3), [beat(1, 3), beat(1, 3)], [], { _seq: 3 }],

    // stale epochs
    ['frames of an older epoch are dropped, whatever their s', at(2, [], 5), [msgs(4, 3, ['x']), state(4, 1), err(4, 99), beat(4, 7)], [], { _epoch: 5, _seq: 2 }],
    [
      'an old leader that wakes up after the new one carried on is not heard',
      FOLLOWER,
      [msgs(1, 1, ['1']), msgs(1, 2, ['2']), msgs(2, 1, ['3'], '2'), beat(2, 1, '2'), msgs(1, 3, ['stale']), beat(1, 3)],
      ['leader', 'msg 1', 'msg 2', 'leader', 'msg 3'],
      { _epoch: 2, _prev: undefined },
    ],

    // duplicates
    ['a frame posted twice is taken once', at(1), [msgs(1, 2, ['2']), msgs(1, 2, ['2']), beat(1, 2), msgs(1, 3, ['3'])], ['msg 2', 'msg 3'], { _seq: 3, _held: undefined }],
    ['frames at or below seq are dropped', at(5), [msgs(1, 5, ['5']), msgs(1, 1, ['1']), state(1, 3)], [], { _seq: 5 }],

    // a newer epoch and the resume point
    ['a newer epoch: what the tab delivered after the resume point is skipped once', at(4, ['1', '2', '3', '4']), [beat(2, 0, '2'), msgs(2, 1, ['3', '4', '5'], '2')], ['leader', 'msg 5'], { _epoch: 2, _seq: 1, _ahead: [], _recent: ['1', '2', '3', '4', '5'] }],
    ['a newer epoch announced by a beat sets ahead for the messages that follow', at(4, ['1', '2', '3', '4']), [beat(2, 0, '2'), msgs(2, 1, ['3']), msgs(2, 2, ['4', '5'])], ['leader', 'msg 5'], { _ahead: [] }],
    ['repeats are skipped once: the same id again later is a new delivery', at(3, ['1', '2', '3']), [msgs(2, 1, ['2', '3'], '1'), msgs(2, 2, ['2'], '1')], ['leader', 'msg 2']],
    ['a repeat skips the ones before it too (a paused page missed some)', at(4, ['1', '2', '3', '4']), [msgs(2, 1, ['3'], '1'), msgs(2, 2, ['5'], '1')], ['leader', 'msg 5'], { _ahead: [] }],
    ['a message that is no repeat ends the skipping: what comes after is delivered', at(3, ['1', '2', '3']), [beat(2, 0, '1'), msgs(2, 1, ['9', '2', '3'], '1')], ['leader', 'msg 9', 'msg 2', 'msg 3']],
    ['a resume point the tab never saw skips nothing', at(2, ['1', '2']), [beat(2, 0, '7'), msgs(2, 1, ['1', '2'], '7')], ['leader', 'msg 1', 'msg 2']],
    ['no resume point (the new leader started afresh) skips nothing', at(2, ['1', '2']), [beat(2, 0), msgs(2, 1, ['1', '2'])], ['leader', 'msg 1', 'msg 2']],
    ['a server that repeats the resume event itself: delivered again, as in the new leader', at(2, ['1', '2']), [beat(2, 0, '2'), msgs(2, 1, ['2', '3'], '2')], ['leader', 'msg 2', 'msg 3']],
    ['a new leader that resumed from the last delivery skips nothing', at(2, ['1', '2']), [beat(2, 0, '2'), msgs(2, 1, ['3'], '2')], ['leader', 'msg 3'], { _ahead: [] }],
    // id-less events carry the id before them: the first delivery with the resume id is the point
    [
      'id-less events after the resume point are skipped with the rest',
      FOLLOWER,
      [beat(1, 0), msgs(1, 1, ['1', '2', '~2', '3']), beat(2, 0, '1'), msgs(2, 1, ['2', '~2', '3', '4'], '1')],
      ['leader', 'msg 1', 'msg 2', 'msg idless2', 'msg 3', 'leader', 'msg 4'],
    ],
    [
      'an id-less event right after the resume point is skipped when the server repeats it',
      FOLLOWER,
      [beat(1, 0), msgs(1, 1, ['1', '2', '~2', '3']), beat(2, 0, '2'), msgs(2, 1, ['~2', '3', '4'], '2')],
      ['leader', 'msg 1', 'msg 2', 'msg idless2', 'msg 3', 'leader', 'msg 4'],
    ],
    [
      'an id-less event the server does not repeat: the next repeat still skips',
      FOLLOWER,
      [beat(1, 0), msgs(1, 1, ['1', '2', '~2', '3']), beat(2, 0, '2'), msgs(2, 1, ['3', '4'], '2')],
      ['leader', 'msg 1', 'msg 2', 'msg idless2', 'msg 3', 'leader', 'msg 4'],
    ],
    [
      'three leaders in a row: each skips what the tab already had from the one before',
      FOLLOWER,
      [beat(1, 0), msgs(1, 1, ['1', '2', '3']), beat(2, 0, '1'), msgs(2, 1, ['2', '3', '4'], '1'), beat(3, 0, '3'), msgs(3, 1, ['4', '5'], '3')],
      ['leader', 'msg 1', 'msg 2', 'msg 3', 'leader', 'msg 4', 'leader', 'msg 5'],
    ],

    // a forged frame with a huge s (issue item 11): held, and dropped when the real next one comes
    ['one forged frame with a huge s is held, not delivered', at(2), [msgs(1, 1e9, ['forged'])], [], { _seq: 2 }],
    ['the real next frame drops the forged one: the tab is not deaf', at(2), [msgs(1, 1e9, ['forged']), msgs(1, 3, ['3']), msgs(1, 4, ['4']), beat(1, 4)], ['msg 3', 'msg 4'], { _seq: 4, _held: undefined }],
    ['a forged state or err with a huge s is dropped the same way', at(2), [state(1, 1e9, 'reconnecting'), msgs(1, 3, ['3']), err(1, 1e9 + 7), state(1, 4)], ['msg 3', 'state open'], { _seq: 4 }],
    ['a forged frame that guesses s = seq + 2 is replaced by the real one', at(2), [msgs(1, 4, ['forged']), msgs(1, 3, ['3']), msgs(1, 4, ['4'])], ['msg 3', 'msg 4']],
    ['beats of the real leader never release a forged frame', at(2), [msgs(1, 1e9, ['forged']), beat(1, 2), beat(1, 3), msgs(1, 3, ['3'])], ['msg 3'], { _seq: 3 }],

    // a newer epoch leads once it carries on past its first frame (the issue's forged-epoch finding)
    [
      'one forged frame of a newer epoch is held, not delivered; the leader before carries on, and the tab goes back to it',
      at(2, ['1', '2']),
      [msgs(9e12, 1, ['forged'], 'x'), msgs(1, 3, ['3']), beat(1, 3), msgs(1, 4, ['4'])],
      ['leader', 'msg 3', 'msg 4'],
      { _epoch: 1, _seq: 4, _prev: undefined, _held: undefined, _ahead: [], _recent: ['1', '2', '3', '4'] },
    ],
    ['a forged beat of a newer epoch: the leader\'s next beat takes the tab back', at(2), [beat(9e12, 0), beat(1, 2), msgs(1, 3, ['3'])], ['leader', 'msg 3'], { _epoch: 1, _seq: 3, _prev: undefined }],
    ['an old frame of the leader before takes the tab back (a repeat, dropped); the new leader\'s next frames take it again', at(2, ['1', '2']), [beat(5, 0, '2'), msgs(1, 2, ['2']), state(5, 1), msgs(5, 2, ['3'], '2')], ['leader', 'leader', 'state open', 'msg 3'], { _epoch: 5, _seq: 2, _prev: undefined }],
    ['a forged state of a newer epoch is never shown (the leader only relays its state when it changes)', at(2), [state(9e12, 1, 'reconnecting'), beat(1, 2), msgs(1, 3, ['3'])], ['leader', 'msg 3'], { _epoch: 1, _prev: undefined, _held: undefined }],
    ['a forged first frame leaves what the tab would resume from as it was', at(2, ['1', '2']), [msgs(9e12, 1, ['forged']), beat(1, 2)], ['leader'], { _epoch: 1, _recent: ['1', '2'] }],
    ['a new leader that carries on past its first frame leads: the one before is not heard again', at(2, ['1', '2']), [beat(5, 0, '2'), state(5, 1), msgs(1, 3, ['stale']), beat(1, 3)], ['leader', 'state open'], { _epoch: 5, _seq: 1, _prev: undefined }],
    [
      'a new leader\'s first frame that overtook the old one\'s last: the old one\'s comes once, the new one skips it',
      at(2, ['1', '2']),
      [beat(5, 0, '2'), msgs(1, 3, ['3']), msgs(5, 1, ['3'], '2'), msgs(5, 2, ['4'], '2'), msgs(5, 3, ['5'], '2')],
      ['leader', 'msg 3', 'leader', 'msg 4', 'msg 5'],
      { _epoch: 5, _seq: 3, _prev: undefined },
    ],
    [
      'a real new leader below a forged epoch: the tab follows it (the forged one never carried on)',
      at(2, ['1', '2']),
      [msgs(9e12, 1, ['forged'], 'x'), beat(5, 0, '2'), msgs(5, 1, ['3'], '2'), msgs(5, 2, ['4'], '2')],
      ['leader', 'leader', 'msg 3', 'msg 4'],
      { _epoch: 5, _seq: 2, _prev: undefined },
    ],
    [
      'two forged epochs in a row: the tab still goes back to the last leader that carried on',
      at(2, ['1', '2']),
      [beat(9e12, 0), beat(8e12, 0), msgs(1, 3, ['3'])],
      ['leader', 'leader', 'msg 3'],
      { _epoch: 1, _seq: 3, _prev: undefined },
    ],
    ['a fresh tab taken by a forged first frame follows the real leader at its first frame', FOLLOWER, [msgs(9e12, 1, ['forged']), state(7, 40), msgs(7, 41, ['9'])], ['leader', 'leader', 'state open', 'msg 9'], { _epoch: 7, _seq: 41, _prev: undefined }],

    ['the first frame of a newer epoch is held: taken with the next one that carries on', at(2, ['1', '2']), [msgs(5, 1, ['3'], '2')], ['leader'], { _epoch: 5, _seq: 0, _held: { s: 1 }, _prev: { _epoch: 1 } }],
    ['the first frame of a newer epoch is taken when a beat reaches it', at(2, ['1', '2']), [msgs(5, 1, ['3'], '2'), beat(5, 1, '2')], ['leader', 'msg 3'], { _epoch: 5, _seq: 1, _held: undefined, _prev: undefined }],

    // a real gap: taken when the next frame carries on from it, or when a beat reaches it
    ['a real gap: the skipped-to frame is taken when the next one continues it', at(2), [msgs(1, 5, ['5']), msgs(1, 6, ['6']), msgs(1, 7, ['7'])], ['msg 5', 'msg 6', 'msg 7'], { _seq: 7, _held: undefined }],
    ['a real gap then silence: the beat that reaches the held s releases it', at(2), [msgs(1, 5, ['5']), beat(1, 4), beat(1, 5)], ['msg 5'], { _seq: 5, _held: undefined }],
    ['a beat past the held s releases it too (more frames were missed)', at(2), [state(1, 5, 'reconnecting'), beat(1, 8), msgs(1, 9, ['9']), msgs(1, 10, ['10'])], ['state reconnecting', 'msg 9', 'msg 10'], { _seq: 10 }],
    ['a second gap replaces the first held frame', at(2), [msgs(1, 5, ['5']), msgs(1, 8, ['8']), msgs(1, 9, ['9'])], ['msg 8', 'msg 9'], { _seq: 9 }],
    ['a held frame of an older epoch goes with its leader', at(2), [msgs(1, 5, ['5']), beat(2, 0), msgs(2, 1, ['1'])], ['leader', 'msg 1'], { _epoch: 2, _seq: 1, _held: undefined }],
  ]

  it.each(cases)('%s', (_, from, frames, expected, fields) => {
    const { state: s, out } = run(frames, from)
    expect(out).toEqual(expected)
    if (fields) expect(s).toMatchObject(fields)
  })

  it('a beat below the last sequence number taken proves that number forged: the tab goes on from the beat', () => {
    // A forged replay or frame set seq to 1e9; the leader's next beat says 4.
    const [next, out] = follow({ ...at(1e9, ['1', '2']) }, beat(1, 4))
    expect(out).toEqual([])
    expect(next).toMatchObject({ _seq: 4, _held: undefined })
    expect(follow(next, msgs(1, 5, ['5']))[1]).toEqual([{ t: 'msg', m: expect.objectContaining({ id: '5' }) }])
  })

  it('is pure: the same state and frame give the same result, and nothing is mutated (inputs are frozen)', () => {
    const from = frozen(at(4, ['1', '2', '3', '4']))
    const frame = frozen(msgs(2, 1, ['3', '4', '5'], '2'))
    const [a, da] = follow(from, frame)
    const [b, db] = follow(from, frame)
    expect(a).toEqual(b)
    expect(da).toEqual(db)
    expect(from).toEqual(at(4, ['1', '2', '3', '4']))
  })

  it('a dropped frame leaves the state as it was (the same object)', () => {
    const from = at(5, ['5'], 3)
    expect(follow(from, msgs(2, 9, ['x']))[0]).toBe(from)
    expect(follow(from, msgs(3, 4, ['x']))).toEqual([from, []])
  })

  it('a flood of forged frames with random huge s never deafens the tab', () => {
    let s = at(0)
    const out: string[] = []
    for (let i = 1; i <= 200; i++) {
      for (const frame of [msgs(1, 1e6 + i * 7919, ['forged']), msgs(1, i, [String(i)]), beat(1, i)]) {
        const [next, deliveries] = follow(s, frame)
        s = next
        out.push(...deliveries.map(show))
      }
    }
    expect(out).toEqual(Array.from({ length: 200 }, (_, i) => `msg ${i + 1}`))
  })
})

describe('sift', () => {
  it('delivers what is not ahead, remembers what it delivered', () => {
    const [s, fresh] = sift({ ...FOLLOWER, _recent: ['1'], _ahead: ['2', '3'] }, [m('2'), m('3'), m('4')])
    expect(fresh.map((x) => x.id)).toEqual(['4'])
    expect(s._ahead).toEqual([])
    expect(s._recent).toEqual(['1', '4'])
  })

  it('with nothing ahead, delivers everything; id-less messages are delivered and not remembered', () => {
    const [s, fresh] = sift(FOLLOWER, [m('1'), m(undefined), m('2')])
    expect(fresh).toHaveLength(3)
    expect(s._recent).toEqual(['1', '2'])
  })
})

describe('remember', () => {
  it('appends the known ids and skips undefined ones, keeping the same array when nothing is new', () => {
    const recent = ['1']
    expect(remember(recent, ['2', undefined, '3'])).toEqual(['1', '2', '3'])
    expect(remember(recent, [undefined])).toBe(recent)
    expect(recent).toEqual(['1'])
  })

  it('keeps at most 2000 ids: past that, the newest 1000', () => {
    const many = Array.from({ length: 2000 }, (_, i) => String(i))
    expect(remember([], many)).toHaveLength(2000)
    const trimmed = remember(many, ['2000'])
    expect(trimmed).toHaveLength(1000)
    expect(trimmed.at(0)).toBe('1001')
    expect(trimmed.at(-1)).toBe('2000')
  })

  it('a resume point among the last 1000 deliveries is still found after a long run', () => {
    let s = at(0)
    for (let i = 1; i <= 5000; i += 100) {
      const ids = Array.from({ length: 100 }, (_, k) => String(i + k))
      s = follow(s, msgs(1, s._seq + 1, ids))[0]
    }
    // 5000 delivered; the new leader resumed 900 back.
    const [held, out] = follow(s, beat(2, 0, '4100'))
    expect(out.map(show)).toEqual(['leader'])
    expect(follow(held, msgs(2, 1, ['4101', '4102', '5000', '5001'], '4100'))[1].map(show)).toEqual(['msg 5001'])
  })
})
