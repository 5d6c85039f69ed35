import { describe, expect, it } from 'vitest'
import { RealtimeError } from '../../src/core/errors'
import {
  type ConnectionStatus,
  type Effect,
  initialState,
  type MachineConfig,
  type MachineEvent,
  type MachineState,
  transition,
} from '../../src/core/machine'

const STATUSES: ConnectionStatus[] = ['idle', 'connecting', 'open', 'reconnecting', 'paused', 'closed']
const EVENT_TYPES: MachineEvent['type'][] = [
  'connect',
  'reconnect',
  'close',
  'opened',
  'stable',
  'failed',
  'retry',
  'auth-answered',
  'pause',
  'resume',
  'wake',
]

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key])
  }
  return value
}

const previous = deepFreeze(new RealtimeError('network', 'previous failure'))
const net = deepFreeze(new RealtimeError('network', 'connection reset'))
const http = deepFreeze(new RealtimeError('http', 'bad request', { status: 400 }))
const auth = deepFreeze(new RealtimeError('auth', 'unauthorized', { status: 401 }))

/**
 * A representative state for each status: two failed attempts behind it, an error
 * (except idle), and `offline` as the pause reason of a paused one.
 */
function st(status: ConnectionStatus, patch: Partial<MachineState> = {}): MachineState {
  return deepFreeze({
    ...initialState,
    status,
    attempt: 2,
    error: status === 'idle' ? null : previous,
    paused: status === 'paused' ? ['offline'] : [],
    ...patch,
  })
}

const ev = {
  connect: { type: 'connect' },
  reconnect: { type: 'reconnect' },
  close: { type: 'close' },
  opened: { type: 'opened' },
  stable: { type: 'stable' },
  failNet: { type: 'failed', error: net, retryable: true },
  failHttp: { type: 'failed', error: http, retryable: false },
  failAuth: { type: 'failed', error: auth, retryable: false },
  retry: { type: 'retry' },
  authYes: { type: 'auth-answered', retry: true, error: auth },
  authNo: { type: 'auth-answered', retry: false, error: auth },
  pauseOffline: { type: 'pause', reason: 'offline' },
  pauseHidden: { type: 'pause', reason: 'hidden' },
  resumeOffline: { type: 'resume', reason: 'offline' },
  resumeHidden: { type: 'resume', reason: 'hidden' },
  wake: { type: 'wake' },
} satisfies Record<string, MachineEvent>
deepFreeze(ev)

/** The state object itself must come back unchanged (the engine relies on identity). */
const SAME = 'same' as const
const defaults: MachineConfig = { maxRetries: 3, hasAuthHook: false }
const withHook: MachineConfig = { maxRetries: 3, hasAuthHook: true }

type Row = [
  from: MachineState,
  event: MachineEvent,
  status: ConnectionStatus,
  effects: Effect[],
  /** Other fields of the next state that differ from `from`, or SAME for the identical object. */
  expected?: Partial<MachineState> | typeof SAME,
  config?: MachineConfig,
]

const retry = (n: number, retryAfter?: number): Effect => ({ retry: n, retryAfter })

// The full status × event matrix, with representative states from st().
const matrix: Row[] = [
  // connect: starts only from idle or closed
  [st('idle'), ev.connect, 'connecting', ['open']],
  [st('connecting'), ev.connect, 'connecting', [], SAME],
  [st('open'), ev.connect, 'open', [], SAME],
  [st('reconnecting'), ev.connect, 'reconnecting', [], SAME],
  [st('paused'), ev.connect, 'paused', [], SAME],
  [st('closed'), ev.connect, 'connecting', ['open'], { error: null }],

  // reconnect: from every status, attempt reset, anything in flight stopped
  [st('idle'), ev.reconnect, 'connecting', ['stop', 'open'], { attempt: 0 }],
  [st('connecting'), ev.reconnect, 'connecting', ['stop', 'open'], { attempt: 0, error: null }],
  [st('open'), ev.reconnect, 'connecting', ['stop', 'open'], { attempt: 0, error: null }],
  [st('reconnecting'), ev.reconnect, 'connecting', ['stop', 'open'], { attempt: 0, error: null }],
  [st('paused'), ev.reconnect, 'paused', ['stop'], { attempt: 0, error: null }], // a pause still holds
  [st('closed'), ev.reconnect, 'connecting', ['stop', 'open'], { attempt: 0, error: null }],

  // close
  [st('idle'), ev.close, 'closed', ['stop']],
  [st('connecting'), ev.close, 'closed', ['stop'], { error: null }],
  [st('open'), ev.close, 'closed', ['stop'], { error: null }],
  [st('reconnecting'), ev.close, 'closed', ['stop'], { error: null }],
  // pause reasons are forgotten on close (nothing watches them while closed)
  [st('paused'), ev.close, 'closed', ['stop'], { error: null, paused: [] }],
  // closing a closed machine still stops everything and forgets pause reasons, but keeps a final error
  [st('closed'), ev.close, 'closed', ['stop'], {}],
  [st('closed', { paused: ['pagehide'], error: http }), ev.close, 'closed', ['stop'], { paused: [] }],

  // opened: only a live status opens; otherwise the stray connection is dropped
  [st('idle'), ev.opened, 'idle', ['drop'], SAME],
  [st('connecting'), ev.opened, 'open', ['uptime'], { error: null }],
  [st('open'), ev.opened, 'open', ['uptime'], { error: null }],
  [st('reconnecting'), ev.opened, 'open', ['uptime'], { error: null }], // attempt kept until stable
  [st('paused'), ev.opened, 'paused', ['drop'], SAME],
  [st('closed'), ev.opened, 'closed', ['drop'], SAME],

  // stable: resets the attempt count only while open
  [st('idle'), ev.stable, 'idle', [], SAME],
  [st('connecting'), ev.stable, 'connecting', [], SAME],
  [st('open'), ev.stable, 'open', [], { attempt: 0 }],
  [st('reconnecting'), ev.stable, 'reconnecting', [], SAME],
  [st('paused'), ev.stable, 'paused', [], SAME],
  [st('closed'), ev.stable, 'closed', [], SAME],

  // failed, retryable
  [st('idle'), ev.failNet, 'idle', [], SAME],
  [st('connecting'), ev.failNet, 'reconnecting', ['drop', retry(3)], { attempt: 3, error: net }],
  [st('open'), ev.failNet, 'reconnecting', ['drop', retry(3)], { attempt: 3, error: net }],
  [st('reconnecting'), ev.failNet, 'reconnecting', ['drop', retry(3)], { attempt: 3, error: net }],
  [st('paused'), ev.failNet, 'paused', [], SAME],
  [st('closed'), ev.failNet, 'closed', [], SAME],

  // failed, not retryable
  [st('idle'), ev.failHttp, 'idle', [], SAME],
  [st('connecting'), ev.failHttp, 'closed', ['drop'], { error: http }],
  [st('open'), ev.failHttp, 'closed', ['drop'], { error: http }],
  [st('reconnecting'), ev.failHttp, 'closed', ['drop'], { error: http }],
  [st('paused'), ev.failHttp, 'paused', [], SAME],
  [st('closed'), ev.failHttp, 'closed', [], SAME],

  // retry: the backoff is over; only a reconnecting machine opens
  [st('idle'), ev.retry, 'idle', [], SAME],
  [st('connecting'), ev.retry, 'connecting', [], SAME],
  [st('open'), ev.retry, 'open', [], SAME],
  [st('reconnecting'), ev.retry, 'reconnecting', ['open'], SAME],
  [st('paused'), ev.retry, 'paused', [], SAME],
  [st('closed'), ev.retry, 'closed', [], SAME],

  // auth-answered: only while waiting for the hook (reconnecting)
  [st('idle'), ev.authYes, 'idle', [], SAME],
  [st('connecting'), ev.authYes, 'connecting', [], SAME],
  [st('open'), ev.authYes, 'open', [], SAME],
  [st('reconnecting'), ev.authYes, 'reconnecting', ['open'], SAME],
  [st('paused'), ev.authYes, 'paused', [], SAME],
  [st('closed'), ev.authYes, 'closed', [], SAME],
  [st('idle'), ev.authNo, 'idle', [], SAME],
  [st('connecting'), ev.authNo, 'connecting', [], SAME],
  [st('open'), ev.authNo, 'open', [], SAME],
  [st('reconnecting'), ev.authNo, 'closed', [], { error: auth }],
  [st('paused'), ev.authNo, 'paused', [], SAME],
  [st('closed'), ev.authNo, 'closed', [], SAME],

  // pause: a live machine stops and waits; idle/closed only remember the reason
  [st('idle'), ev.pauseOffline, 'idle', [], { paused: ['offline'] }],
  [st('connecting'), ev.pauseOffline, 'paused', ['stop'], { paused: ['offline'] }],
  [st('open'), ev.pauseOffline, 'paused', ['stop'], { paused: ['offline'] }],
  [st('reconnecting'), ev.pauseOffline, 'paused', ['stop'], { paused: ['offline'] }],
  [st('paused'), ev.pauseOffline, 'paused', [], SAME], // reason already held
  [st('closed'), ev.pauseOffline, 'closed', [], { paused: ['offline'] }],

  // resume: only the held reason, only the last one, restarts at once
  [st('idle'), ev.resumeOffline, 'idle', [], SAME],
  [st('connecting'), ev.resumeOffline, 'connecting', [], SAME],
  [st('open'), ev.resumeOffline, 'open', [], SAME],
  [st('reconnecting'), ev.resumeOffline, 'reconnecting', [], SAME],
  [st('paused'), ev.resumeOffline, 'reconnecting', ['open'], { paused: [] }], // attempt 2 > 0
  [st('closed'), ev.resumeOffline, 'closed', [], SAME],

  // wake: an open or waiting machine checks at once with a fresh connection
  [st('idle'), ev.wake, 'idle', [], SAME],
  [st('connecting'), ev.wake, 'connecting', [], SAME],
  [st('open'), ev.wake, 'reconnecting', ['stop', 'open']],
  [st('reconnecting'), ev.wake, 'reconnecting', ['stop', 'open']],
  [st('paused'), ev.wake, 'paused', [], SAME],
  [st('closed'), ev.wake, 'closed', [], SAME],
]

const scenarios: Row[] = [
  // connect / reconnect while a pause holds: wait in 'paused', open nothing
  [st('idle', { paused: ['offline'] }), ev.connect, 'paused', []],
  [st('closed', { paused: ['hidden'] }), ev.connect, 'paused', [], { error: null }],
  [st('open', { paused: ['pagehide'] }), ev.reconnect, 'paused', ['stop'], { attempt: 0, error: null }],
  // reconnect clears authRetried too
  [st('closed', { authRetried: true, error: auth }), ev.reconnect, 'connecting', ['stop', 'open'], { attempt: 0, authRetried: false, error: null }],

  // several pause reasons: kept in arrival order, resume only when the last lifts
  [st('paused'), ev.pauseHidden, 'paused', ['stop'], { paused: ['offline', 'hidden'] }],
  [st('paused', { paused: ['offline', 'hidden'] }), ev.resumeOffline, 'paused', [], { paused: ['hidden'] }],
  [st('paused', { paused: ['offline', 'hidden'] }), ev.resumeHidden, 'paused', [], { paused: ['offline'] }],
  [st('paused', { paused: ['hidden'], attempt: 0 }), ev.resumeHidden, 'connecting', ['open'], { paused: [] }],
  [st('paused', { paused: ['hidden'], attempt: 1 }), ev.resumeHidden, 'reconnecting', ['open'], { paused: [] }],
  [st('paused', { paused: ['offline'] }), ev.resumeHidden, 'paused', [], SAME], // not held
  [st('open', { paused: ['offline'] }), ev.pauseOffline, 'open', [], SAME],
  // a reason lifting while closed is forgotten without starting anything
  [st('closed', { paused: ['offline', 'hidden'] }), ev.resumeOffline, 'closed', [], { paused: ['hidden'] }],
  [st('closed', { paused: ['offline'] }), ev.resumeOffline, 'closed', [], { paused: [] }],

  // stable resets the auth retry as well; opened does not (the hook runs once per stable period)
  [st('open', { authRetried: true }), ev.stable, 'open', [], { attempt: 0, authRetried: false }],
  [st('reconnecting', { authRetried: true }), ev.opened, 'open', ['uptime'], { error: null }],

  // failed: Retry-After is passed on; the first failure is attempt 1
  [st('open', { attempt: 0, error: null }), { type: 'failed', error: net, retryable: true, retryAfter: 2500 }, 'reconnecting', ['drop', retry(1, 2500)], { attempt: 1, error: net }],
  // maxRetries reached: give up with 'max-retries', the last error as the cause
  [
    st('reconnecting', { attempt: 3 }),
    ev.failNet,
    'closed',
    ['drop'],
    { error: expect.objectContaining({ kind: 'max-retries', cause: net, message: 'gave up: connection reset' }) },
  ],
  [st('connecting', { attempt: 0 }), ev.failNet, 'closed', ['drop'], { error: expect.objectContaining({ kind: 'max-retries', cause: net }) }, { maxRetries: 0, hasAuthHook: false }],
  [st('reconnecting', { attempt: 1000 }), ev.failNet, 'reconnecting', ['drop', retry(1001)], { attempt: 1001, error: net }, { maxRetries: Infinity, hasAuthHook: false }],
  // a final error is final even with retries left
  [st('open', { attempt: 0 }), ev.failHttp, 'closed', ['drop'], { error: http }],

  // auth: with a hook, ask it once (attempt unchanged); then or without a hook, final
  [st('open', { attempt: 0 }), ev.failAuth, 'reconnecting', ['drop', { auth }], { error: auth, authRetried: true }, withHook],
  [st('connecting', { attempt: 2 }), ev.failAuth, 'reconnecting', ['drop', { auth }], { error: auth, authRetried: true }, withHook],
  [st('open', { attempt: 0, authRetried: true }), ev.failAuth, 'closed', ['drop'], { error: auth }, withHook],
  [st('open', { attempt: 0 }), ev.failAuth, 'closed', ['drop'], { error: auth }, defaults],
  [st('paused'), ev.failAuth, 'paused', [], SAME, withHook],
  // the hook's question does not use up a retry when maxRetries is reached
  [st('open', { attempt: 3 }), ev.failAuth, 'reconnecting', ['drop', { auth }], { error: auth, authRetried: true }, withHook],
]

// Every event in the tables is deep-frozen, like every state from st().
for (const [, event] of [...matrix, ...scenarios]) deepFreeze(event)

function check([from, event, status, effects, expected, config = defaults]: Row) {
  const [next, actual] = transition(from, event, config)
  expect(next.status).toBe(status)
  expect(actual).toEqual(effects)
  if (expected === SAME) expect(next).toBe(from)
  else expect(next).toEqual({ ...from, status, ...expected })
}

const label = ([from, event]: Row) =>
  `${from.status} (attempt ${from.attempt}, paused [${from.paused.join(',')}]${from.authRetried ? ', authRetried' : ''}) + ${JSON.stringify(event, (k, v) => (k === 'error' ? v.kind : v))}`

describe('transition: status × event matrix', () => {
  it.each(matrix.map((row) => [label(row), row] as const))('%s', (_, row) => check(row))

  it('covers every status × event type', () => {
    const seen = new Set(matrix.map(([from, event]) => `${from.status}:${event.type}`))
    const missing = STATUSES.flatMap((s) => EVENT_TYPES.map((e) => `${s}:${e}`)).filter((cell) => !seen.has(cell))
    expect(missing).toEqual([])
  })
})

describe('transition: scenarios', () => {
  it.each(scenarios.map((row) => [label(row), row] as const))('%s', (_, row) => check(row))

  it('gives up after exactly maxRetries retries, then reconnect starts from 0', () => {
    const config: MachineConfig = { maxRetries: 2, hasAuthHook: false }
    let s = transition(initialState, ev.connect, config)[0]
    const effects: Effect[][] = []
    for (let i = 0; i < 3; i++) {
      const [next, fx] = transition(s, ev.failNet, config)
      effects.push([...fx])
      s = next
      if (s.status === 'reconnecting') s = transition(s, ev.retry, config)[0]
    }
    expect(effects).toEqual([['drop', retry(1)], ['drop', retry(2)], ['drop']])
    expect(s.status).toBe('closed')
    expect(s.error?.kind).toBe('max-retries')
    expect(s.error?.cause).toBe(net)
    const [again, fx] = transition(s, ev.reconnect, config)
    expect([again.status, again.attempt, again.error, fx]).toEqual(['connecting', 0, null, ['stop', 'open']])
  })

  it('asks the auth hook once per stable period', () => {
    let s = transition(initialState, ev.connect, withHook)[0]
    s = transition(s, ev.opened, withHook)[0]
    const [asked, fx1] = transition(s, ev.failAuth, withHook)
    expect([asked.status, fx1]).toEqual(['reconnecting', ['drop', { auth }]])
    const [retrying, fx2] = transition(asked, ev.authYes, withHook)
    expect([retrying.status, fx2]).toEqual(['reconnecting', ['open']])
    const reopened = transition(retrying, ev.opened, withHook)[0]
    const [final, fx3] = transition(reopened, ev.failAuth, withHook)
    expect([final.status, final.error, fx3]).toEqual(['closed', auth, ['drop']])
    // after the connection proved stable, the hook may be asked again
    const stable = transition(reopened, ev.stable, withHook)[0]
    expect(transition(stable, ev.failAuth, withHook)[1]).toEqual(['drop', { auth }])
  })

  it('pause and resume with offline + hidden: resumes only when both lift, as reconnecting when attempt > 0', () => {
    const config = defaults
    let s = st('reconnecting', { attempt: 1, error: net })
    const log: [string, string, string[], Effect[]][] = []
    for (const event of [ev.pauseOffline, ev.pauseHidden, ev.resumeOffline, ev.pauseOffline, ev.resumeHidden, ev.resumeOffline]) {
      const [next, fx] = transition(s, event, config)
      log.push([`${event.type}:${event.reason}`, next.status, [...next.paused], [...fx]])
      s = next
    }
    expect(log).toEqual([
      ['pause:offline', 'paused', ['offline'], ['stop']],
      ['pause:hidden', 'paused', ['offline', 'hidden'], ['stop']],
      ['resume:offline', 'paused', ['hidden'], []],
      ['pause:offline', 'paused', ['hidden', 'offline'], ['stop']],
      ['resume:hidden', 'paused', ['offline'], []],
      ['resume:offline', 'reconnecting', [], ['open']],
    ])
    expect(s.attempt).toBe(1)
  })
})

describe('transition: purity', () => {
  it('never mutates its input (every row runs on deep-frozen state and events)', () => {
    for (const row of [...matrix, ...scenarios]) {
      const [from, event, , , , config = defaults] = row
      expect(Object.isFrozen(from) && Object.isFrozen(from.paused) && Object.isFrozen(event)).toBe(true)
      const copy = structuredClone({ ...from, error: from.error?.message ?? null })
      expect(() => transition(from, event, config)).not.toThrow()
      expect({ ...from, error: from.error?.message ?? null }).toEqual(copy)
    }
  })

  it('gives the same answer for the same input', () => {
    for (const [from, event, , , , config = defaults] of [...matrix, ...scenarios]) {
      const [a, fa] = transition(from, event, config)
      const [b, fb] = transition(from, event, config)
      expect(b).toEqual(a)
      expect(fb).toEqual(fa)
    }
  })

  it('never shares a mutable paused array between input and output', () => {
    const from = st('open')
    const [next] = transition(from, ev.pauseOffline, defaults)
    expect(next.paused).not.toBe(from.paused)
    expect(from.paused).toEqual([])
  })
})
