import { describe, expect, it } from 'vitest'
import { checkServerFrame, readServerFrame } from '../../../src/core/realtime/protocol'
import { readRelayed } from '../../../src/core/realtime/relayed'

const event = { type: 'event', channel: 'a', id: 'e.1', data: 1 }

describe('readRelayed: what another tab posts is checked before a tab acts on it', () => {
  it('reads every kind the wire emits', () => {
    expect(readRelayed('hi', 'n')).toEqual({ t: 'hi' })
    expect(readRelayed('transport', 'sse')).toEqual({ t: 'transport', kind: 'sse' })
    expect(readRelayed('unsub', { channel: 'a' })).toEqual({ t: 'unsub', channel: 'a' })
    expect(readRelayed('last', { channel: 'a', m: { data: event } })).toEqual({ t: 'last', channel: 'a', frame: event })
    expect(readRelayed('event', event)).toEqual({ t: 'frame', frame: event })
    expect(readRelayed('ack', { type: 'ack', channel: 'a', pid: 'p', id: 'e.2' })).toMatchObject({ t: 'frame' })
  })

  it.each([
    ['event', null],
    ['event', undefined],
    ['event', 'text'],
    ['event', { ...event, channel: 5 }],
    ['event', { ...event, id: 7 }],
    ['event', { type: 'ack', channel: 'a', pid: 'p', id: 'e.2' }],
    ['snapshot', { type: 'snapshot', channel: 'a' }],
    ['reset', { type: 'reset', channel: 'a', epoch: 'e' }],
    ['error', { type: 'error', code: 'x' }],
    ['hello', { type: 'hello', session: 's', protocol: 1 }],
    ['transport', 'carrier-pigeon'],
    ['transport', null],
    ['unsub', null],
    ['unsub', { channel: '' }],
    ['unsub', { channel: 'x'.repeat(257) }],
    ['last', null],
    ['last', { channel: 'a', m: null }],
    ['last', { channel: 'a', m: { data: null } }],
    ['last', { channel: 'b', m: { data: event } }],
    ['last', { channel: 'a', m: { data: { type: 'ack', channel: 'a', pid: 'p', id: 'i' } } }],
    ['unknown', event],
    ['__proto__', {}],
  ])('ignores %s with %j', (kind, data) => {
    expect(readRelayed(kind, data)).toBeUndefined()
  })

  it('checkServerFrame agrees with readServerFrame on parsed frames, and never throws', () => {
    for (const f of [event, null, 1, [], { type: 'event' }, { type: 'subscribed', channel: 'a', head: null }, Object.create(null)]) {
      expect(checkServerFrame(f)).toEqual(readServerFrame(JSON.stringify(f)))
    }
  })
})
