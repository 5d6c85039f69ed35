// readFrame: what a tab accepts from the channel. Any script on the origin can post there,
// so every field a tab acts on is checked, and a well-formed but impossible frame (an epoch
// far ahead of the clock) is refused too.
import { describe, expect, it } from 'vitest'
import { RealtimeError } from '../../../src/core/errors'
import { EPOCH_SKEW, fromWire, fromWireState, MAX_ID, PROTOCOL, readFrame, toWire, wireState } from '../../../src/core/tabs/frames'

const NOW = 1_700_000_000_000
const m = (id?: string, data: unknown = `d${id}`) => ({ data, event: 'message', id })
const open = { status: 'open', attempt: 0, lastEventId: '1', error: null }

describe('readFrame accepts', () => {
  const valid: [string, Record<string, unknown>][] = [
    ['hello', { t: 'hello' }],
    ['a returning hello, with where it was (ids, and the sequence for messages without ids)', { t: 'hello', c: 'x', since: '41', n: 1, pe: NOW, ps: 7 }],
    ['a replay answer that says the leader dropped part of its memory', { t: 'replay', c: 'x', e: NOW, s: 9, ms: [], miss: true, gone: true }],
    ['a first beat (s = 0)', { t: 'beat', e: NOW, s: 0 }],
    ['a beat with a resume point', { t: 'beat', e: NOW, s: 7, r: '41' }],
    ['a state', { t: 'state', e: NOW, s: 1, state: open }],
    ['a state without a last event id', { t: 'state', e: 1, s: 1, state: { status: 'connecting', attempt: 2, error: null } }],
    ['a state answering a hello (the last message, undecoded)', { t: 'state', e: 1, s: 1, state: { ...open, m: m('1') } }],
    ['a state with an error', { t: 'state', e: 1, s: 1, state: { ...open, status: 'reconnecting', error: { kind: 'http', message: 'boom', status: 503 } } }],
    ['a state with the next retry time', { t: 'state', e: 1, s: 1, state: { ...open, status: 'reconnecting', retryAt: NOW + 1500, paused: null } }],
    ['a state with a fractional retry time (a performance.now clock)', { t: 'state', e: 1, s: 1, state: { ...open, status: 'reconnecting', retryAt: NOW + 0.5 } }],
    ['a state with a pause reason', { t: 'state', e: 1, s: 1, state: { ...open, status: 'paused', retryAt: null, paused: 'offline' } }],
    ...(['hidden', 'pagehide'] as const).map((paused): [string, Record<string, unknown>] => [`a state paused by ${paused}`, { t: 'state', e: 1, s: 1, state: { ...open, status: 'paused', paused } }]),
    ['a batch of one', { t: 'msgs', e: 1, s: 1, ms: [m('1')] }],
    ['a batch with id-less messages and any payload', { t: 'msgs', e: 1, s: 2, ms: [m('1'), m(undefined, { a: [1] }), m(undefined, null)] }],
    ['an err', { t: 'err', e: 1, s: 3, error: { kind: 'protocol', message: 'too large', id: '9' } }],
    ['a send', { t: 'send', id: 'a', data: { any: 'thing' } }],
    ['an ack', { t: 'ack', id: 'a' }],
    ['an ack with an error', { t: 'ack', id: 'a', error: { kind: 'overflow', message: 'full' } }],
    ['an ack with a full error', { t: 'ack', id: 'a', error: { kind: 'protocol', message: 'x', status: 1009, id: '3' } }],
    ['an epoch right at the bound, a year ahead of the clock', { t: 'beat', e: NOW + EPOCH_SKEW, s: 0 }],
    // A tab's clock may have been stepped back: an epoch ahead of it is no forgery.
    ['an epoch an hour ahead of the clock', { t: 'msgs', e: NOW + 3_600_000, s: 1, ms: [m('1')] }],
  ]
  it.each(valid)('%s', (_, frame) => {
    const data = { v: PROTOCOL, ...frame }
    expect(readFrame(data, NOW)).toBe(data)
  })

  it('a batch of 100,000 messages, the most one frame may carry', () => {
    const data = { v: PROTOCOL, t: 'msgs', e: 1, s: 1, ms: Array.from({ length: 100_000 }, (_, i) => m(String(i))) }
    expect(readFrame(data, NOW)).toBe(data)
  })
})

describe('readFrame rejects', () => {
  const batch = (ms: unknown[]) => ({ v: PROTOCOL, t: 'msgs', e: 1, s: 1, ms })
  const ack = (error: unknown) => ({ v: PROTOCOL, t: 'ack', id: 'a', error })
  const invalid: [string, unknown][] = [
    // `every` skips holes: a sparse batch would reach the followers with undefined messages.
    ['a msgs frame with holes in its batch', { v: PROTOCOL, t: 'msgs', e: 1, s: 1, ms: new Array(3) }],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'hello'],
    ['an array', [PROTOCOL, 'hello']],
    ['no version', { t: 'hello' }],
    ['an older version', { v: PROTOCOL - 1, t: 'hello' }],
    ['a newer version', { v: PROTOCOL + 1, t: 'hello' }],
    ['a version as a string', { v: String(PROTOCOL), t: 'hello' }],
    ['a hello with a negative sequence', { v: PROTOCOL, t: 'hello', c: 'x', ps: -1 }],
    ['a hello with an epoch as text', { v: PROTOCOL, t: 'hello', c: 'x', pe: '1' }],
    ['a replay whose gone is not a boolean', { v: PROTOCOL, t: 'replay', c: 'x', e: 1, s: 0, ms: [], miss: true, gone: 'yes' }],
    ['an unknown type', { v: PROTOCOL, t: 'msg', e: 1, s: 1, m: m('1') }],
    // epochs
    ['an epoch just past the bound', { v: PROTOCOL, t: 'beat', e: NOW + EPOCH_SKEW + 1, s: 0 }],
    ['a huge epoch', { v: PROTOCOL, t: 'state', e: Number.MAX_SAFE_INTEGER, s: 1, state: open }],
    ['an epoch of 0', { v: PROTOCOL, t: 'beat', e: 0, s: 0 }],
    ['a negative epoch', { v: PROTOCOL, t: 'beat', e: -1, s: 0 }],
    ['a fractional epoch', { v: PROTOCOL, t: 'beat', e: 1.5, s: 0 }],
    ['an epoch as a string', { v: PROTOCOL, t: 'beat', e: '1', s: 0 }],
    ['a beat without epoch', { v: PROTOCOL, t: 'beat', s: 0 }],
    ['a numeric resume point', { v: PROTOCOL, t: 'beat', e: 1, s: 0, r: 4 }],
    // sequence numbers
    ['a beat without s', { v: PROTOCOL, t: 'beat', e: 1 }],
    ['a negative beat s', { v: PROTOCOL, t: 'beat', e: 1, s: -1 }],
    ['a sequenced frame with s = 0', { ...batch([m('1')]), s: 0 }],
    ['a sequenced frame without s', { v: PROTOCOL, t: 'err', e: 1, error: { kind: 'http', message: 'x' } }],
    ['a fractional s', { ...batch([m('1')]), s: 1.5 }],
    ['an unsafe s', { ...batch([m('1')]), s: 2 ** 53 }],
    ['an s as a string', { ...batch([m('1')]), s: '1' }],
    // batches, element by element
    ['an empty batch', batch([])],
    ['a batch that is no array', batch({ 0: m('1'), length: 1 } as unknown as unknown[])],
    ['a frame without ms', { v: PROTOCOL, t: 'msgs', e: 1, s: 1 }],
    ['a batch with a bad first message', batch([{ data: 'x' }, m('2')])],
    ['a batch with a bad last message', batch([m('1'), m('2'), { data: 'x', event: 'message', id: 3 }])],
    ['a batch with a null in it', batch([m('1'), null])],
    ['a batch with a message whose event is not a string', batch([m('1'), { data: 'x', event: 1, id: '2' }])],
    ['a batch past 100,000 messages', batch(Array.from({ length: 100_001 }, () => m('1')))],
    // states
    ['a state without state', { v: PROTOCOL, t: 'state', e: 1, s: 1 }],
    ['a state with a bad status', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, status: 'bogus' } }],
    ['a state without attempt', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { status: 'open', error: null } }],
    ['a state with a fractional attempt', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, attempt: 0.5 } }],
    ['a state without error', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { status: 'open', attempt: 0 } }],
    ['a state with an error of an unknown kind', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, error: { kind: 'evil', message: 'x' } } }],
    ['a state with a numeric last event id', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, lastEventId: 7 } }],
    ['a state with a malformed last message', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, m: { data: 'x', id: '1' } } }],
    ['a state with a string retry time', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, retryAt: '1700000000000' } }],
    ['a state with a boolean retry time', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, retryAt: true } }],
    ['a state with a NaN retry time', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, retryAt: Number.NaN } }],
    ['a state with an infinite retry time', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, retryAt: Number.POSITIVE_INFINITY } }],
    ['a state with an unknown pause reason', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, status: 'paused', paused: 'evil' } }],
    ['a state with a list of pause reasons', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, status: 'paused', paused: ['offline'] } }],
    ['a state with a numeric pause reason', { v: PROTOCOL, t: 'state', e: 1, s: 1, state: { ...open, status: 'paused', paused: 1 } }],
    // errors
    ['an err without error', { v: PROTOCOL, t: 'err', e: 1, s: 1 }],
    ['an err without a message', { v: PROTOCOL, t: 'err', e: 1, s: 1, error: { kind: 'http' } }],
    ['an err of an unknown kind', { v: PROTOCOL, t: 'err', e: 1, s: 1, error: { kind: 'nope', message: 'x' } }],
    // sends and acks
    ['a send without id', { v: PROTOCOL, t: 'send', data: 1 }],
    ['a send with a numeric id', { v: PROTOCOL, t: 'send', id: 1, data: 1 }],
    ['an ack without id', { v: PROTOCOL, t: 'ack' }],
    ['an ack with a numeric id', { v: PROTOCOL, t: 'ack', id: 1 }],
    ['an ack whose error is a string', ack('full')],
    ['an ack whose error is null', ack(null)],
    ['an ack whose error has an unknown kind', ack({ kind: 'evil', message: 'x' })],
    ['an ack whose error has no message', ack({ kind: 'overflow' })],
    ['an ack whose error has a numeric message', ack({ kind: 'overflow', message: 1 })],
    ['an ack whose error has a string status', ack({ kind: 'http', message: 'x', status: '500' })],
    ['an ack whose error has a numeric id', ack({ kind: 'protocol', message: 'x', id: 3 })],
  ]
  it.each(invalid)('%s', (_, frame) => {
    expect(readFrame(frame, NOW)).toBeUndefined()
  })

  it("a send or ack whose id is longer than MAX_ID (tabs remember ids; a tab's own, naming its send before, has at most 45 characters)", () => {
    const longest = `${'a'.repeat(31)}.${'b'.repeat(MAX_ID - 32)}`
    for (const frame of [{ t: 'send', data: 1 }, { t: 'ack' }]) {
      const ok = { v: PROTOCOL, ...frame, id: longest }
      expect(readFrame(ok, NOW)).toBe(ok)
      expect(readFrame({ ...ok, id: `${longest}b` }, NOW)).toBeUndefined()
    }
  })
})

describe('a state across the channel', () => {
  it('carries retryAt and the pause reason, not the role; a tab of an older build sends neither and they read as null', () => {
    const s = { status: 'reconnecting', data: 'x', lastEventId: '4', error: null, attempt: 2, retryAt: NOW + 900, paused: null, role: 'leader' } as const
    const w = wireState(s)
    expect(w).toEqual({ status: 'reconnecting', attempt: 2, lastEventId: '4', error: null, retryAt: NOW + 900, paused: null })
    expect(readFrame(structuredClone({ v: PROTOCOL, t: 'state', e: 1, s: 1, state: w }), NOW)).toBeDefined()
    const follower = { ...s, role: 'follower' as const, retryAt: null }
    expect(fromWireState(w, follower)).toMatchObject({ retryAt: NOW + 900, paused: null, role: 'follower' })
    expect(fromWireState({ status: 'paused', attempt: 0, lastEventId: undefined, error: null, paused: 'offline' }, follower)).toMatchObject({ paused: 'offline' })
    const older = { status: 'open', attempt: 0, lastEventId: '5', error: null } as const
    expect(readFrame({ v: PROTOCOL, t: 'state', e: 1, s: 1, state: older }, NOW)).toBeDefined()
    expect(fromWireState(older, { ...follower, retryAt: NOW, paused: 'offline' })).toMatchObject({ retryAt: null, paused: null, role: 'follower' })
  })
})

describe('errors across the channel', () => {
  it('toWire keeps kind, message, status and id, and fromWire makes a RealtimeError of them', () => {
    const error = new RealtimeError('http', 'unavailable', { status: 503, id: '7', cause: new Error('hidden') })
    const wire = toWire(error)!
    expect(wire).toEqual({ kind: 'http', message: 'unavailable', status: 503, id: '7' })
    // It must survive structured cloning and pass the channel's check.
    expect(readFrame(structuredClone({ v: PROTOCOL, t: 'ack', id: 'a', error: wire }), NOW)).toBeDefined()
    const back = fromWire(structuredClone(wire))!
    expect(back).toBeInstanceOf(RealtimeError)
    expect([back.kind, back.message, back.status, back.id]).toEqual(['http', 'unavailable', 503, '7'])
    expect(toWire(null)).toBeNull()
    expect(fromWire(null)).toBeNull()
  })
})
