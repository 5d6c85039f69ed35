// A leader's memory of the last messages, and its answer to a returning tab's hello.
import { describe, expect, it } from 'vitest'
import { createRing } from '../../../src/core/tabs/ring'
import type { WireMessage } from '../../../src/core/transport'

const m = (id: string | undefined): WireMessage => ({ data: `d${id}`, event: 'message', id })
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => m(String(from + i)))
const EPOCH = 5

describe('ring', () => {
  it('answers with what came after the n deliveries of `since`', () => {
    const ring = createRing()
    ring._keep([m('1'), m('2'), m(undefined), m('3')])
    expect(ring._answer({ t: 'hello', c: 'c', since: '2', n: 1 }, EPOCH, 9, undefined, 0)).toEqual({ t: 'replay', c: 'c', e: EPOCH, s: 9, ms: [m(undefined), m('3')], miss: false, gone: false })
  })

  it('a since it never had, while it holds all it delivered since it led: a miss, not gone (the tab may be ahead)', () => {
    const ring = createRing()
    ring._keep(ids(10))
    ring._lead()
    ring._keep(ids(5, 11))
    expect(ring._answer({ t: 'hello', c: 'c', since: '99' }, EPOCH, 3, '10', 1)).toMatchObject({ ms: [], miss: true, gone: false })
  })

  it('keeps 1,000 to 2,000 messages; once its resume point (or, with none, anything since it led) is dropped, a miss is gone', () => {
    const ring = createRing()
    ring._keep(ids(10))
    ring._lead()
    ring._keep(ids(1995, 11))
    expect(ring._answer({ t: 'hello', c: 'c', since: '5' }, EPOCH, 3, '10', 1)).toMatchObject({ miss: true, gone: true })
    // The newest 1,000 are still there.
    expect(ring._answer({ t: 'hello', c: 'c', since: '2004' }, EPOCH, 3, '10', 1).ms.map((x) => x.id)).toEqual(['2005'])
    const fresh = createRing()
    fresh._lead()
    fresh._keep(ids(2001))
    expect(fresh._answer({ t: 'hello', c: 'c', since: 'x' }, EPOCH, 3, undefined, 1)).toMatchObject({ miss: true, gone: true })
  })

  it('messages without ids: a miss; gone only if messages went out after where the tab was in this epoch', () => {
    const ring = createRing()
    ring._keep([m(undefined), m(undefined)])
    expect(ring._answer({ t: 'hello', c: 'c', pe: EPOCH, ps: 4 }, EPOCH, 6, undefined, 4)).toMatchObject({ ms: [], miss: true, gone: false })
    expect(ring._answer({ t: 'hello', c: 'c', pe: EPOCH, ps: 4 }, EPOCH, 6, undefined, 5)).toMatchObject({ miss: true, gone: true })
    // Another epoch: any batch this leader relayed is one the tab did not get.
    expect(ring._answer({ t: 'hello', c: 'c', pe: EPOCH - 1, ps: 40 }, EPOCH, 6, undefined, 1)).toMatchObject({ gone: true })
    expect(ring._answer({ t: 'hello', c: 'c', pe: EPOCH - 1, ps: 40 }, EPOCH, 6, undefined, 0)).toMatchObject({ gone: false })
  })
})
