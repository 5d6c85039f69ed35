import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { BackoffOptions } from '../../src/core/backoff'
import { type Connection, type ConnectionConfig, createConnection, type RealtimeMessage } from '../../src/core/connection'
import type { EnvironmentSignal } from '../../src/core/environment'
import type { RealtimeError } from '../../src/core/errors'
import type { WireMessage } from '../../src/core/transport'
import { failure, fakeEnvironment, fakeTransport, flushMicrotasks, manualFrames, manualTimers, recordSnapshots, recordStatuses, seededRandom, sequence } from './fakes'

// The engine keeps a wake-detection timer ticking every 10 s while started: never
// vi.runAllTimers() here, only advanceTimersByTime.
const open: Connection<unknown>[] = []

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  for (const connection of open.splice(0)) connection.close()
  vi.useRealTimers()
})

/**
 * A connection over a fake transport and environment, with a manual frame scheduler,
 * `random` fixed at 0.5 (so every delay is half its ceiling) and every notification's
 * status recorded.
 */
function setup<T = unknown>(options: Partial<ConnectionConfig<T>> = {}, initial: EnvironmentSignal[] = []) {
  const transport = fakeTransport()
  const env = fakeEnvironment(initial)
  const frames = manualFrames()
  const connection = createConnection<T>({
    transport: transport.factory,
    environment: env,
    scheduleFrame: frames.schedule,
    random: () => 0.5,
    ...options,
  })
  open.push(connection as Connection<unknown>)
  const statuses = recordStatuses(connection as Connection<unknown>)
  const snapshots = recordSnapshots(connection as Connection<unknown>)
  const messages: RealtimeMessage<T>[] = []
  connection.onMessage((message) => messages.push(message))
  const errors: RealtimeError[] = []
  connection.onError((error) => errors.push(error))
  return {
    connection,
    transport,
    env,
    frames,
    statuses,
    snapshots,
    /** The pause reason of every snapshot published, in order. */
    reasons: () => snapshots.map((s) => s.paused),
    messages,
    errors,
    snap: () => connection.getSnapshot(),
  }
}

const wire = (data: unknown, event = 'message', id?: string) => ({ data, event, id })

/** Advances until one ms before `ms`, checks nothing new started, then the last ms. */
function expectNextAttemptAfter(transport: ReturnType<typeof fakeTransport>, ms: number) {
  const before = transport.attempts.length
  if (ms > 0) vi.advanceTimersByTime(ms - 1)
  expect(transport.attempts.length, `no attempt before ${ms} ms`).toBe(before)
  vi.advanceTimersByTime(ms > 0 ? 1 : 0)
  expect(transport.attempts.length, `an attempt at ${ms} ms`).toBe(before + 1)
}

describe('status sequences', () => {
  it('connects, opens, drops and comes back', () => {
    const { connection, transport, statuses, snap } = setup()
    expect(snap().status).toBe('idle')
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.fail(failure('network'), true)
    expect(transport.attempts[0]!.closed).toBe(true)
    vi.advanceTimersByTime(500)
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(transport.attempts.map((a) => a.attempt)).toEqual([0, 1])
    expect(transport.live).toEqual([transport.attempts[1]])
    expect(snap()).toMatchObject({ status: 'open', error: null, attempt: 1 })
  })

  it('ignores connect() while live', () => {
    const { connection, transport, statuses } = setup()
    connection.connect()
    connection.connect()
    transport.last.sink.open()
    connection.connect()
    expect(transport.attempts).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'open'])
  })

  it('reports a failure as the error in the snapshot and to onError, and clears it on open', () => {
    const { connection, transport, errors, snap } = setup()
    connection.connect()
    const error = failure('http', 'server error', 503)
    transport.last.sink.fail(error, true)
    expect(snap().error).toBe(error)
    expect(errors).toEqual([error])
    vi.advanceTimersByTime(500)
    transport.last.sink.open()
    expect(snap().error).toBeNull()
  })

  it('turns a throwing transport factory into a retried network error', () => {
    let calls = 0
    const thrown = new Error('bad URL')
    const { connection, statuses, snap } = setup({
      transport: () => {
        if (++calls === 1) throw thrown
        return { close() {} }
      },
    })
    connection.connect()
    expect(snap().error).toMatchObject({ kind: 'network', message: 'could not start', cause: thrown })
    expect(snap().status).toBe('reconnecting')
    vi.advanceTimersByTime(500)
    expect(calls).toBe(2)
    expect(statuses).toEqual(['reconnecting'])
  })

  it('resumes from config.lastEventId, then from the last id the server set', () => {
    const { connection, transport } = setup({ lastEventId: '41' })
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.lastEventId('42')
    transport.last.sink.message(wire('x', 'message', '42'))
    transport.last.sink.fail(failure('network'), true)
    vi.advanceTimersByTime(500)
    expect(transport.attempts.map((a) => a.lastEventId)).toEqual(['41', '42'])
  })
})

describe('backoff', () => {
  it('follows the full-jitter schedule with the injected random (0.5: half of each ceiling)', () => {
    const { connection, transport, statuses, snap } = setup()
    connection.connect()
    const delays = [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000] // attempt 6: 32 s capped at 30 s
    for (const [i, delay] of delays.entries()) {
      transport.last.sink.fail(failure('network', `fail ${i}`), true)
      expect(snap().attempt).toBe(i + 1)
      expectNextAttemptAfter(transport, delay)
    }
    expect(transport.attempts.map((a) => a.attempt)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect(statuses).toEqual(['connecting', ...delays.map(() => 'reconnecting')])
  })

  it('draws a fresh random number for each attempt', () => {
    const random = vi.fn(sequence(0, 0.25, 1 - 2 ** -53, 0.1))
    const { connection, transport } = setup({ random, initialDelay: 2000, maxDelay: 6000 })
    connection.connect()
    for (const delay of [0, 1000, 5999, 600]) {
      transport.last.sink.fail(failure('network'), true)
      expectNextAttemptAfter(transport, delay)
    }
    expect(random).toHaveBeenCalledTimes(4)
  })

  it('resets the attempt count only after the connection stayed up for minUptime', () => {
    const { connection, transport, statuses, snap } = setup()
    connection.connect()
    transport.last.sink.fail(failure('network'), true)
    expectNextAttemptAfter(transport, 500)
    transport.last.sink.open()
    vi.advanceTimersByTime(4999) // not stable yet
    expect(snap().attempt).toBe(1)
    transport.last.sink.fail(failure('network'), true)
    expect(snap().attempt).toBe(2)
    expectNextAttemptAfter(transport, 1000) // attempt 2's delay
    transport.last.sink.open()
    vi.advanceTimersByTime(5000) // stable: attempt count resets
    expect(snap().attempt).toBe(0)
    transport.last.sink.fail(failure('network'), true)
    expect(snap().attempt).toBe(1)
    expectNextAttemptAfter(transport, 500) // back to the first delay
    expect(statuses).toEqual(['connecting', 'reconnecting', 'open', 'reconnecting', 'open', 'open', 'reconnecting'])
  })

  it('honours minUptime', () => {
    const { connection, transport, snap } = setup({ minUptime: 200 })
    connection.connect()
    transport.last.sink.fail(failure('network'), true)
    vi.advanceTimersByTime(500)
    transport.last.sink.open()
    vi.advanceTimersByTime(199)
    expect(snap().attempt).toBe(1)
    vi.advanceTimersByTime(1)
    expect(snap().attempt).toBe(0)
  })

  it("takes the server's retry: as a floor, with the jitter above it", () => {
    const { connection, transport } = setup({ initialDelay: 1000 })
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.retryHint(3000)
    transport.last.sink.fail(failure('network'), true)
    expectNextAttemptAfter(transport, 3500) // 3000 + 0.5 · 1000
    transport.last.sink.fail(failure('network'), true)
    expectNextAttemptAfter(transport, 4000) // 3000 + 0.5 · 2000: the hint outlives the connection that sent it
  })

  it('waits at least Retry-After, with the jitter above it', () => {
    const { connection, transport } = setup()
    connection.connect()
    transport.last.sink.fail(failure('http', 'busy', 503), true, 7000)
    expectNextAttemptAfter(transport, 7500)
  })

  it('keeps maxDelay as the cap under a server retry:, unless the retry: itself is above it', () => {
    const { connection, transport } = setup({ maxDelay: 5000, random: () => 1 - 2 ** -53 })
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.retryHint(4000)
    for (const delay of [4999, 4999, 4999]) {
      transport.last.sink.fail(failure('network'), true)
      expectNextAttemptAfter(transport, delay)
    }
    transport.last.sink.open()
    transport.last.sink.retryHint(3_600_000) // an hour: the server asked for it
    transport.last.sink.fail(failure('network'), true)
    expectNextAttemptAfter(transport, 3_600_000)
  })

  it('gives up after maxRetries with a max-retries error, then reconnect() starts again', () => {
    const { connection, transport, statuses, snap, errors } = setup({ maxRetries: 2 })
    connection.connect()
    transport.last.sink.fail(failure('network', 'one'), true)
    expectNextAttemptAfter(transport, 500)
    transport.last.sink.fail(failure('network', 'two'), true)
    expectNextAttemptAfter(transport, 1000)
    const last = failure('network', 'three')
    transport.last.sink.fail(last, true)
    expect(snap().status).toBe('closed')
    expect(snap().error).toMatchObject({ kind: 'max-retries', cause: last })
    expect(errors.map((e) => e.kind)).toEqual(['network', 'network', 'max-retries'])
    vi.advanceTimersByTime(10 * 60_000)
    expect(transport.attempts).toHaveLength(3)
    expect(transport.live).toEqual([])

    connection.reconnect()
    expect(transport.attempts).toHaveLength(4)
    expect(transport.last.attempt).toBe(0)
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'reconnecting', 'reconnecting', 'closed', 'connecting', 'open'])
    expect(snap()).toMatchObject({ status: 'open', error: null, attempt: 0 })
  })

  it('closes at once on a final (not retryable) error; reconnect() works', () => {
    const { connection, transport, statuses, snap } = setup()
    connection.connect()
    transport.last.sink.fail(failure('http', 'not found', 404), false)
    vi.advanceTimersByTime(60_000)
    expect(transport.attempts).toHaveLength(1)
    expect(snap().error).toMatchObject({ kind: 'http', status: 404 })
    connection.reconnect()
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'closed', 'connecting', 'open'])
  })
})

describe('retryAt: when the next attempt starts', () => {
  it('set with each failure (the backoff delay on the clock), kept while that attempt runs, null when it opens, pauses, reconnects or closes', () => {
    const { connection, transport, env, snapshots } = setup()
    const t0 = Date.now()
    const seen = () => snapshots.map((s) => `${s.status} ${s.attempt} ${s.retryAt === null ? '-' : s.retryAt - t0}`)
    connection.connect()
    transport.last.sink.open()
    vi.advanceTimersByTime(100)
    transport.last.sink.fail(failure('network'), true) // at +100: the first retry 500 ms later
    expectNextAttemptAfter(transport, 500)
    expect(connection.getSnapshot().retryAt).toBe(t0 + 600) // past now, until the attempt opens or fails
    transport.last.sink.fail(failure('network'), true) // at +600: 0.5 of 2000
    env.emit('offline')
    env.emit('online')
    transport.last.sink.fail(failure('network'), true) // at +600: attempt 3, 0.5 of 4000
    connection.reconnect()
    transport.last.sink.fail(failure('http', 'busy', 503), true) // attempt 1 again: 500
    transport.last.sink.fail(failure('auth', 'no', 401), false) // a retry the engine would not make: closed
    expect(seen()).toEqual([
      'connecting 0 -',
      'open 0 -',
      'reconnecting 1 600',
      'reconnecting 2 1600',
      'paused 2 -',
      'reconnecting 2 -',
      'reconnecting 3 2600',
      'connecting 0 -',
      'reconnecting 1 1100',
    ])
    expect(transport.attempts).toHaveLength(4)
    vi.advanceTimersByTime(500)
    transport.last.sink.open()
    connection.close()
    expect(seen().slice(9)).toEqual(['open 1 -', 'closed 1 -'])
  })

  it('includes the wait of the rate bound (4 attempts in any second): it is when the attempt really starts', () => {
    const { connection, transport, snap } = setup({ random: () => 0 }) // every backoff delay 0
    const t0 = Date.now()
    connection.connect()
    for (let i = 0; i < 3; i++) {
      transport.last.sink.fail(failure('network'), true)
      expect(snap()).toMatchObject({ status: 'reconnecting', attempt: i + 1, retryAt: t0 })
      vi.advanceTimersByTime(0)
    }
    expect(transport.attempts).toHaveLength(4) // all at t0
    transport.last.sink.fail(failure('network'), true)
    expect(snap()).toMatchObject({ status: 'reconnecting', attempt: 4, retryAt: t0 + 1000 })
    expectNextAttemptAfter(transport, 1000)
  })
})

describe('at most 4 attempts in any second', () => {
  /** Attempt start times that put more than 4 in one 1000 ms window. */
  const crowded = (times: number[]) => times.slice(4).filter((t, i) => t - times[i]! < 1000)

  it.each<[string, BackoffOptions, () => number]>([
    ['random 0: every delay is the 1 ms floor', {}, () => 0],
    ['a tiny backoff that does not grow, and a seeded random', { initialDelay: 10, factor: 1 }, seededRandom(0x5eed)],
  ])('holds against a server that sends retry: 1 and drops at once, for 10 s (%s)', (_what, backoff, random) => {
    const timers = manualTimers()
    const times: number[] = []
    const transport = fakeTransport(({ sink }) => {
      times.push(timers.now)
      sink.open()
      sink.retryHint(1)
      sink.fail(failure('network'), true)
    })
    const connection = createConnection({
      ...backoff,
      transport: transport.factory,
      timers,
      now: () => timers.now,
      random,
      environment: fakeEnvironment(),
      scheduleFrame: manualFrames().schedule,
    })
    open.push(connection)
    connection.connect()
    timers.advance(10_000)
    expect(crowded(times)).toEqual([])
    // Without the bound: thousands. With it: 4 a second, and not fewer (bounded, not stopped).
    expect(times.length).toBeGreaterThanOrEqual(40)
    expect(times.length).toBeLessThanOrEqual(44)
    expect(connection.getSnapshot().status).toBe('reconnecting')
  })

  it('holds against reconnect() called in a loop: the fifth waits, as connecting, and the latest call wins', () => {
    const { connection, transport, statuses } = setup()
    connection.connect()
    for (let i = 0; i < 9; i++) connection.reconnect()
    expect(transport.attempts).toHaveLength(4)
    expect(transport.live).toEqual([])
    expect(connection.getSnapshot().status).toBe('connecting')
    vi.advanceTimersByTime(999)
    expect(transport.attempts).toHaveLength(4)
    vi.advanceTimersByTime(1)
    expect(transport.attempts).toHaveLength(5)
    expect(transport.live).toEqual([transport.last])
    transport.last.sink.open()
    expect(statuses.at(-1)).toBe('open')
  })

  it('a wait is cancelled by close() and by a pause', () => {
    const { connection, transport, env } = setup()
    connection.connect()
    for (let i = 0; i < 4; i++) connection.reconnect()
    expect(transport.attempts).toHaveLength(4)
    connection.close()
    vi.advanceTimersByTime(5000)
    expect(transport.attempts).toHaveLength(4)
    expect(vi.getTimerCount()).toBe(0)
    connection.connect()
    for (let i = 0; i < 4; i++) connection.reconnect()
    const made = transport.attempts.length
    env.emit('offline')
    vi.advanceTimersByTime(5000)
    expect(transport.attempts).toHaveLength(made)
    env.emit('online')
    expect(transport.attempts).toHaveLength(made + 1) // the second is long over
  })
})

describe('close() and stale transports', () => {
  it('cancels every timer, unsubscribes from the environment, and ignores late sink calls', () => {
    const { connection, transport, env, statuses, messages, snap } = setup({
      scheduleFrame: undefined, // the default: a 16 ms timer in Node
      pauseWhenHidden: 1000,
    })
    connection.connect()
    const sink = transport.last.sink
    sink.open() // arms the idle and minUptime timers
    sink.message(wire('a')) // schedules a frame
    env.emit('hidden') // arms the pauseWhenHidden timer
    expect(vi.getTimerCount()).toBe(5) // + the wake tick
    expect(env.listenerCount).toBe(1)

    connection.close()
    expect(vi.getTimerCount()).toBe(0)
    expect(env.listenerCount).toBe(0)
    expect(transport.last.closed).toBe(true)
    const closed = snap()
    expect(closed).toMatchObject({ status: 'closed', data: 'a' })

    sink.open()
    sink.message(wire('late'))
    sink.activity()
    sink.lastEventId('99')
    sink.retryHint(1)
    sink.fail(failure('network'), true)
    env.emit('hidden')
    env.emit('offline')
    vi.advanceTimersByTime(10 * 60_000)
    expect(snap()).toBe(closed)
    expect(statuses).toEqual(['connecting', 'open', 'closed'])
    expect(messages.map((m) => m.data)).toEqual(['a'])
    expect(transport.attempts).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('cancels a pending retry', () => {
    const { connection, transport, statuses } = setup()
    connection.connect()
    transport.last.sink.fail(failure('network'), true)
    expect(vi.getTimerCount()).toBe(2) // retry + wake tick
    connection.close()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(10 * 60_000)
    expect(transport.attempts).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'reconnecting', 'closed'])
  })

  it('can connect again after close()', () => {
    const { connection, transport, env, statuses } = setup()
    connection.connect()
    connection.close()
    connection.connect()
    transport.last.sink.open()
    expect(env.listenerCount).toBe(1)
    expect(transport.attempts.map((a) => a.closed)).toEqual([true, false])
    expect(statuses).toEqual(['connecting', 'closed', 'connecting', 'open'])
  })

  it('ignores every sink call of a transport replaced by reconnect()', () => {
    const { connection, transport, statuses, messages, snap } = setup()
    connection.connect()
    const stale = transport.last.sink
    stale.open()
    connection.reconnect()
    expect(transport.attempts[0]!.closed).toBe(true)
    const before = snap()
    stale.open()
    stale.message(wire('stale'))
    stale.lastEventId('stale-id')
    stale.retryHint(60_000)
    stale.activity()
    stale.fail(failure('network'), true)
    expect(snap()).toBe(before)
    expect(messages).toEqual([])
    expect(statuses).toEqual(['connecting', 'open', 'connecting'])

    transport.last.sink.open()
    transport.last.sink.fail(failure('network'), true)
    expectNextAttemptAfter(transport, 500) // not the stale retry: hint
    expect(transport.last.lastEventId).toBeUndefined() // not the stale id
  })

  it("a transport's report (a skipped message) goes to the snapshot and onError; the stream goes on; a replaced transport's is ignored", () => {
    const { connection, transport, frames, statuses, errors, snap } = setup()
    connection.connect()
    const first = transport.last.sink
    first.open()
    const skipped = failure('protocol', 'a message passed maxMessageSize')
    first.report(skipped)
    expect(errors).toEqual([skipped])
    frames.flush()
    expect(snap()).toMatchObject({ status: 'open', error: skipped })
    first.message(wire('next'))
    expect(transport.live).toEqual([transport.attempts[0]])
    connection.reconnect()
    first.report(failure('protocol', 'stale'))
    frames.flush()
    expect(errors).toEqual([skipped])
    expect(snap().error).toBe(skipped)
    transport.last.sink.open() // a fresh stream starts clean
    expect(snap().error).toBeNull()
    expect(statuses).toEqual(['connecting', 'open', 'open', 'connecting', 'open'])
  })

  it('ignores a failed attempt that reports again after its retry started', () => {
    const { connection, transport, statuses } = setup()
    connection.connect()
    const first = transport.last.sink
    first.fail(failure('network'), true)
    vi.advanceTimersByTime(500)
    first.open()
    first.fail(failure('network'), false)
    expect(statuses).toEqual(['connecting', 'reconnecting'])
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'reconnecting', 'open'])
  })
})

describe('idle timeout', () => {
  it('fires only when neither messages nor activity arrive, then reconnects with the last event id', () => {
    const { connection, transport, statuses, snap } = setup({ idleTimeout: 1000 })
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.lastEventId('7')
    vi.advanceTimersByTime(900)
    transport.last.sink.message(wire('m', 'message', '7'))
    vi.advanceTimersByTime(900)
    transport.last.sink.activity() // a comment / heartbeat
    vi.advanceTimersByTime(999)
    expect(snap().status).toBe('open')
    vi.advanceTimersByTime(1)
    expect(snap().status).toBe('reconnecting')
    expect(snap().error).toMatchObject({ kind: 'timeout' })
    expect(transport.attempts[0]!.closed).toBe(true)
    expectNextAttemptAfter(transport, 500)
    expect(transport.last.lastEventId).toBe('7')
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
  })

  it('defaults to 45 s', () => {
    const { connection, transport, snap } = setup()
    connection.connect()
    transport.last.sink.open()
    vi.advanceTimersByTime(44_999)
    expect(snap().status).toBe('open')
    vi.advanceTimersByTime(1)
    expect(snap().error?.kind).toBe('timeout')
  })

  it('is off with idleTimeout 0', () => {
    const { connection, transport, snap } = setup({ idleTimeout: 0 })
    connection.connect()
    transport.last.sink.open()
    vi.advanceTimersByTime(60 * 60_000)
    expect(snap().status).toBe('open')
    expect(transport.attempts).toHaveLength(1)
  })

  it('counts the idle window from the open, not from the start of the attempt', () => {
    const { connection, transport, snap } = setup({ idleTimeout: 1000 })
    connection.connect()
    vi.advanceTimersByTime(800) // slow TLS handshake / server
    transport.last.sink.open()
    vi.advanceTimersByTime(999)
    expect(snap().status).toBe('open')
  })
})

describe('message delivery', () => {
  it('delivers every message to onMessage synchronously and in order, and coalesces data notifications', () => {
    const { connection, transport, frames, statuses, messages, snap } = setup<string>()
    connection.connect()
    transport.last.sink.open()
    const notifications = statuses.length
    for (let i = 0; i < 100; i++) {
      transport.last.sink.message(wire(`m${i}`, 'tick', String(i)))
      expect(messages).toHaveLength(i + 1) // synchronously
    }
    expect(messages.map((m) => m.data)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`))
    expect(messages[42]).toEqual({ data: 'm42', event: 'tick', id: '42', raw: 'm42' })
    expect(statuses.length).toBe(notifications) // nothing rendered yet
    expect(snap().data).toBeUndefined()
    expect([frames.scheduled, frames.pending]).toEqual([1, 1])

    frames.flush()
    expect(statuses.length).toBe(notifications + 1) // one notification for 100 messages
    expect(snap().data).toBe('m99')
    frames.flush()
    expect(statuses.length).toBe(notifications + 1)
  })

  it('notifies status changes at once, carrying pending data with them', () => {
    const { connection, transport, frames, statuses, snap } = setup<string>()
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.message(wire('latest'))
    expect(frames.pending).toBe(1)
    transport.last.sink.fail(failure('network'), true)
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting'])
    expect(snap()).toMatchObject({ status: 'reconnecting', data: 'latest' })
    expect(frames.pending).toBe(0) // the frame was folded into the urgent notification
  })

  it('publishes lastEventId with the data', () => {
    const { connection, transport, frames, snap } = setup()
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.lastEventId('9')
    transport.last.sink.message(wire('x', 'message', '9'))
    frames.flush()
    expect(snap()).toMatchObject({ data: 'x', lastEventId: '9' })
  })

  it('publishes an id that came without a message (on an event it does not accept) in the next frame', () => {
    const { connection, transport, frames, statuses, snap } = setup({ accepts: (event) => event === 'quote' })
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.lastEventId('5')
    transport.last.sink.message(wire('beat', 'ping', '5'))
    expect(snap().lastEventId).toBeUndefined()
    frames.flush()
    expect(snap()).toMatchObject({ lastEventId: '5', data: undefined })
    expect(statuses).toEqual(['connecting', 'open', 'open'])
    transport.last.sink.fail(failure('network'), true)
    vi.advanceTimersByTime(500)
    expect(transport.last.lastEventId).toBe('5')
  })

  it('turns a decode throw into a parse error that keeps the raw text; the stream goes on and the next good message clears it', () => {
    const decode = (m: { data: unknown }) => JSON.parse(m.data as string) as { n: number }
    const { connection, transport, frames, messages, errors, snap, statuses } = setup<{ n: number }>({ decode })
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.message(wire('{"n":1}'))
    transport.last.sink.message(wire('{not json', 'quote'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ kind: 'parse', raw: '{not json', id: undefined })
    expect(errors[0]!.message).toContain("'quote'")
    expect(errors[0]!.cause).toBeInstanceOf(SyntaxError)
    frames.flush()
    expect(snap()).toMatchObject({ status: 'open', data: { n: 1 }, error: { kind: 'parse', raw: '{not json' } })

    transport.last.sink.message(wire('{"n":2}'))
    frames.flush()
    expect(snap()).toMatchObject({ status: 'open', data: { n: 2 }, error: null })
    expect(messages.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }])
    expect(messages[1]!.raw).toBe('{"n":2}')
    expect(transport.attempts).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'open', 'open', 'open'])
  })

  it('a parse error carries the id of the message it is about', () => {
    const decode = (m: WireMessage) => JSON.parse(m.data as string) as unknown
    const { connection, transport, errors } = setup({ decode })
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.lastEventId('17')
    transport.last.sink.message(wire('{not json', 'message', '17'))
    expect(errors).toEqual([expect.objectContaining({ kind: 'parse', id: '17', raw: '{not json' })])
  })

  it('a parse error is cleared when a new connection opens', () => {
    const decode = (m: { data: unknown }) => JSON.parse(m.data as string) as unknown
    const { connection, transport, frames, snap } = setup({ decode })
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.message(wire('{not json'))
    frames.flush()
    expect(snap().error?.kind).toBe('parse')
    connection.reconnect()
    transport.last.sink.open()
    expect(snap()).toMatchObject({ status: 'open', error: null })
  })

  it('filters event types with accepts, but filtered events still prove the connection alive', () => {
    const accepts = vi.fn((event: string) => event === 'quote')
    const { connection, transport, frames, messages, snap } = setup({ accepts, idleTimeout: 1000 })
    connection.connect()
    transport.last.sink.open()
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(800)
      transport.last.sink.message(wire(`ping${i}`, 'ping'))
    }
    expect(messages).toEqual([])
    expect(frames.scheduled).toBe(0)
    expect(snap()).toMatchObject({ status: 'open', data: undefined })
    transport.last.sink.message(wire('ACME 10', 'quote'))
    frames.flush()
    expect(messages.map((m) => [m.event, m.data])).toEqual([['quote', 'ACME 10']])
    expect(snap().data).toBe('ACME 10')
    expect(accepts.mock.calls.map(([e]) => e)).toEqual(['ping', 'ping', 'ping', 'ping', 'ping', 'quote'])
    expect(transport.attempts).toHaveLength(1)
  })

  describe('throwing listeners', () => {
    const had = Object.getOwnPropertyDescriptor(globalThis, 'reportError')
    let reportError: ReturnType<typeof vi.fn>
    beforeEach(() => {
      reportError = vi.fn()
      Object.defineProperty(globalThis, 'reportError', { value: reportError, configurable: true, writable: true })
    })
    afterEach(() => {
      if (had) Object.defineProperty(globalThis, 'reportError', had)
      else delete (globalThis as { reportError?: unknown }).reportError
    })

    it('a throwing onMessage listener stops neither other listeners nor later messages', () => {
      const { connection, transport, messages } = setup()
      const boom = new Error('listener bug')
      connection.onMessage(() => {
        throw boom
      })
      const after: unknown[] = []
      connection.onMessage((m) => after.push(m.data))
      connection.connect()
      transport.last.sink.open()
      for (const data of ['a', 'b', 'c']) transport.last.sink.message(wire(data))
      expect(messages.map((m) => m.data)).toEqual(['a', 'b', 'c'])
      expect(after).toEqual(['a', 'b', 'c'])
      expect(reportError.mock.calls).toEqual([[boom], [boom], [boom]])
    })

    it('a throwing onWire listener stops neither other wire listeners nor delivery', () => {
      const { connection, transport, messages } = setup()
      const boom = new Error('relay bug')
      connection.onWire(() => {
        throw boom
      })
      const heard: unknown[] = []
      connection.onWire((m) => heard.push(m.data))
      connection.connect()
      transport.last.sink.open()
      for (const data of ['a', 'b']) transport.last.sink.message(wire(data))
      expect(heard).toEqual(['a', 'b'])
      expect(messages.map((m) => m.data)).toEqual(['a', 'b'])
      expect(reportError.mock.calls).toEqual([[boom], [boom]])
    })

    it('a throwing subscriber or onError listener does not stop the others', () => {
      const { connection, transport, statuses, errors } = setup()
      connection.subscribe(() => {
        throw new Error('render bug')
      })
      connection.onError(() => {
        throw new Error('logger bug')
      })
      const later: string[] = []
      connection.subscribe(() => later.push(connection.getSnapshot().status))
      connection.connect()
      transport.last.sink.fail(failure('network'), true)
      expect(statuses).toEqual(['connecting', 'reconnecting'])
      expect(later).toEqual(['connecting', 'reconnecting'])
      expect(errors).toHaveLength(1)
      connection.close()
      expect(later).toEqual(['connecting', 'reconnecting', 'closed'])
      // onError runs after the status notification of the same failure (the transition is settled)
      expect(reportError.mock.calls.map(([e]) => (e as Error).message)).toEqual(['render bug', 'render bug', 'logger bug', 'render bug'])
    })

    it('unsubscribed listeners get nothing more', () => {
      const { connection, transport } = setup()
      const got: unknown[] = []
      const off = connection.onMessage((m) => got.push(m.data))
      connection.connect()
      transport.last.sink.message(wire('a'))
      off()
      transport.last.sink.message(wire('b'))
      expect(got).toEqual(['a'])
      expect(reportError).not.toHaveBeenCalled()
    })
  })
})

describe('wire tap (onWire)', () => {
  it('hears every accepted message as it came off the wire, synchronously, in order and with its id, before decoding: also one that then fails to decode', () => {
    const decode = (m: WireMessage) => JSON.parse(m.data as string) as number
    const { connection, transport, messages, errors } = setup<number>({ decode, accepts: (event) => event !== 'ping' })
    const heard: WireMessage[] = []
    const order: string[] = []
    connection.onWire((m) => {
      heard.push(m)
      order.push(`wire ${String(m.data)}`)
    })
    connection.onMessage((m) => order.push(`message ${m.data}`))
    connection.connect()
    const sink = transport.last.sink
    sink.open()
    const first = wire('1', 'message', 'a')
    sink.message(first)
    expect(heard).toHaveLength(1) // synchronously
    expect(heard[0]).toBe(first) // as it came, not a copy
    sink.message(wire('beat', 'ping', 'a')) // not accepted: not a message, not on the tap
    sink.message(wire('{bad', 'quote', 'b'))
    sink.message(wire('3', 'quote', 'c'))
    expect(heard).toEqual([first, wire('{bad', 'quote', 'b'), wire('3', 'quote', 'c')])
    expect(order).toEqual(['wire 1', 'message 1', 'wire {bad', 'wire 3', 'message 3'])
    expect(errors.map((e) => [e.kind, e.id])).toEqual([['parse', 'b']]) // the id of the message it is about
    expect(messages.map((m) => m.data)).toEqual([1, 3])
  })

  it('hears nothing from a replaced transport, after close(), or once unsubscribed', () => {
    const { connection, transport } = setup()
    const heard: unknown[] = []
    const off = connection.onWire((m) => heard.push(m.data))
    connection.connect()
    const stale = transport.last.sink
    stale.open()
    stale.message(wire('a'))
    connection.reconnect()
    stale.message(wire('stale'))
    transport.last.sink.open()
    transport.last.sink.message(wire('b'))
    off()
    transport.last.sink.message(wire('unheard'))
    const again = connection.onWire((m) => heard.push(m.data))
    connection.close()
    transport.last.sink.message(wire('after close'))
    again()
    expect(heard).toEqual(['a', 'b'])
  })
})

describe('environment', () => {
  it('pauses offline (closing the transport), makes no attempts, and reconnects at once when online', () => {
    const { connection, transport, env, statuses } = setup()
    connection.connect()
    transport.last.sink.open()
    env.emit('offline')
    expect(transport.attempts[0]!.closed).toBe(true)
    vi.advanceTimersByTime(10 * 60_000)
    expect(transport.attempts).toHaveLength(1)
    env.emit('online')
    expect(transport.attempts).toHaveLength(2) // at once, no backoff
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'connecting', 'open'])
  })

  it('going offline cancels a pending retry; online resumes as reconnecting with the attempt count kept', () => {
    const { connection, transport, env, statuses, snap } = setup()
    connection.connect()
    transport.last.sink.fail(failure('network'), true)
    vi.advanceTimersByTime(500)
    transport.last.sink.fail(failure('network'), true)
    env.emit('offline')
    vi.advanceTimersByTime(10 * 60_000)
    expect(transport.attempts).toHaveLength(2)
    env.emit('online')
    expect(transport.attempts).toHaveLength(3)
    expect(transport.last.attempt).toBe(2)
    expect(snap().status).toBe('reconnecting')
    expect(statuses).toEqual(['connecting', 'reconnecting', 'reconnecting', 'paused', 'reconnecting'])
  })

  it('starts paused when offline, and connects when online', () => {
    const { connection, transport, env, statuses } = setup({}, ['offline'])
    connection.connect()
    expect(transport.attempts).toHaveLength(0)
    vi.advanceTimersByTime(60_000)
    expect(transport.attempts).toHaveLength(0)
    env.emit('online')
    transport.last.sink.open()
    expect(statuses).toEqual(['paused', 'connecting', 'open'])
  })

  it('pauses on pagehide and comes back on pageshow', () => {
    const { connection, transport, env, statuses } = setup()
    connection.connect()
    transport.last.sink.open()
    env.emit('pagehide')
    expect(transport.live).toEqual([])
    env.emit('pageshow')
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'connecting', 'open'])
  })

  it('resumes only when every pause reason lifted (offline + pagehide); `paused` says the first that holds', () => {
    const { connection, transport, env, statuses, reasons } = setup()
    connection.connect()
    transport.last.sink.open()
    env.emit('offline')
    env.emit('pagehide')
    env.emit('online')
    expect(transport.attempts).toHaveLength(1)
    env.emit('pageshow')
    expect(transport.attempts).toHaveLength(2)
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'paused', 'connecting'])
    expect(reasons()).toEqual([null, null, 'offline', 'pagehide', null])
  })

  it('ignores the page being hidden by default', () => {
    const { connection, transport, env, statuses } = setup()
    connection.connect()
    transport.last.sink.open()
    env.emit('hidden')
    vi.advanceTimersByTime(30_000)
    env.emit('visible')
    expect(statuses).toEqual(['connecting', 'open'])
    expect(transport.attempts).toHaveLength(1)
  })

  it('pauseWhenHidden: true pauses when hidden and reconnects when visible', () => {
    const { connection, transport, env, statuses } = setup({ pauseWhenHidden: true })
    connection.connect()
    transport.last.sink.open()
    env.emit('hidden')
    vi.advanceTimersByTime(0)
    expect(transport.live).toEqual([])
    env.emit('visible')
    expect(transport.attempts).toHaveLength(2)
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'connecting'])
  })

  it('pauseWhenHidden: true on a page that starts hidden opens no transport', () => {
    const { connection, transport, statuses } = setup({ pauseWhenHidden: true }, ['hidden'])
    connection.connect()
    vi.advanceTimersByTime(0)
    expect(transport.attempts).toHaveLength(0)
    expect(statuses).toEqual(['paused'])
  })

  it('pauseWhenHidden: 1000 pauses only after 1 s hidden', () => {
    const { connection, transport, env, statuses } = setup({ pauseWhenHidden: 1000 })
    connection.connect()
    transport.last.sink.open()
    env.emit('hidden')
    vi.advanceTimersByTime(999)
    expect(transport.live).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(transport.live).toHaveLength(0)
    env.emit('visible')
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'connecting', 'open'])
  })

  it('pauseWhenHidden: 1000 is cancelled when the page is visible again sooner', () => {
    const { connection, transport, env, statuses } = setup({ pauseWhenHidden: 1000, idleTimeout: 0 })
    connection.connect()
    transport.last.sink.open()
    env.emit('hidden')
    vi.advanceTimersByTime(600)
    env.emit('visible')
    vi.advanceTimersByTime(60_000)
    env.emit('hidden')
    vi.advanceTimersByTime(999)
    env.emit('visible')
    vi.advanceTimersByTime(60_000)
    expect(statuses).toEqual(['connecting', 'open'])
    expect(transport.attempts).toHaveLength(1)
    expect(transport.live).toHaveLength(1)
  })

  it('pauseWhenHidden: a page that starts hidden pauses after the delay', () => {
    const { connection, transport, env, statuses } = setup({ pauseWhenHidden: 1000 }, ['hidden'])
    connection.connect()
    transport.last.sink.open()
    vi.advanceTimersByTime(1000)
    expect(transport.live).toEqual([])
    env.emit('visible')
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'connecting'])
  })

  it('hidden and offline together: resumes only when visible and online', () => {
    const { connection, transport, env, statuses, reasons } = setup({ pauseWhenHidden: true })
    connection.connect()
    transport.last.sink.open()
    env.emit('hidden')
    vi.advanceTimersByTime(0)
    env.emit('offline')
    env.emit('visible')
    expect(transport.attempts).toHaveLength(1)
    env.emit('online')
    expect(transport.attempts).toHaveLength(2)
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'paused', 'connecting'])
    expect(reasons()).toEqual([null, null, 'hidden', 'offline', null])
  })

  it('re-reads the environment on connect after close (went offline while closed)', () => {
    const { connection, transport, env, statuses } = setup()
    connection.connect()
    connection.close()
    env.emit('offline') // nobody listens now
    connection.connect()
    expect(transport.attempts).toHaveLength(1)
    env.emit('online')
    expect(transport.attempts).toHaveLength(2)
    expect(statuses).toEqual(['connecting', 'closed', 'paused', 'connecting'])
  })

  it('re-reads the environment on connect after close (came online while closed)', () => {
    const { connection, transport, env, statuses } = setup({}, ['offline'])
    connection.connect()
    connection.close()
    env.emit('online') // nobody listens now
    connection.connect()
    expect(transport.attempts).toHaveLength(1)
    expect(statuses).toEqual(['paused', 'closed', 'connecting'])
  })

  it('a stream closed during pagehide connects again after the page is back', () => {
    const { connection, transport, env, statuses } = setup()
    connection.connect()
    transport.last.sink.open()
    env.emit('pagehide')
    connection.close()
    env.emit('pageshow') // nobody listens now
    connection.connect()
    expect(transport.attempts).toHaveLength(2)
    expect(statuses).toEqual(['connecting', 'open', 'paused', 'closed', 'connecting'])
  })
})

describe('wake from sleep', () => {
  it('replaces an open connection at once after a big clock jump', () => {
    const { connection, transport, statuses, snap } = setup()
    connection.connect()
    transport.last.sink.open()
    vi.setSystemTime(Date.now() + 120_000) // the laptop slept; no timer ran
    vi.advanceTimersByTime(9999)
    expect(transport.attempts).toHaveLength(1)
    vi.advanceTimersByTime(1) // the first tick after waking sees the gap
    expect(transport.attempts).toHaveLength(2)
    expect(transport.attempts[0]!.closed).toBe(true)
    expect(snap().attempt).toBe(0)
    transport.last.sink.open()
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
  })

  it('does not wait out a pending retry after waking', () => {
    const { connection, transport, statuses } = setup({ random: () => 0.999 })
    connection.connect()
    for (let i = 0; i < 5; i++) {
      transport.last.sink.fail(failure('network'), true)
      vi.advanceTimersByTime(30_000)
    }
    transport.last.sink.fail(failure('network'), true) // next retry in ~29.97 s
    const attempts = transport.attempts.length
    vi.setSystemTime(Date.now() + 300_000)
    vi.advanceTimersByTime(10_000)
    expect(transport.attempts).toHaveLength(attempts + 1)
    expect(transport.last.attempt).toBe(6)
    expect(statuses.at(-1)).toBe('reconnecting')
  })

  it('does not fire in normal time', () => {
    const { connection, transport } = setup({ idleTimeout: 0 })
    connection.connect()
    transport.last.sink.open()
    vi.advanceTimersByTime(30 * 60_000)
    expect(transport.attempts).toHaveLength(1)
  })

  it('ignores a clock jump while paused or closed', () => {
    const { connection, transport, env } = setup()
    connection.connect()
    transport.last.sink.open()
    env.emit('offline')
    vi.setSystemTime(Date.now() + 120_000)
    vi.advanceTimersByTime(10_000)
    expect(transport.attempts).toHaveLength(1)
    connection.close()
    vi.setSystemTime(Date.now() + 120_000)
    vi.advanceTimersByTime(10_000)
    expect(transport.attempts).toHaveLength(1)
  })
})

describe('onAuthError', () => {
  const unauthorized = () => failure('auth', 'unauthorized', 401)

  it('retries once when the hook resolves true, then a second auth failure is final', async () => {
    const onAuthError = vi.fn(async () => true)
    const { connection, transport, statuses, snap } = setup({ onAuthError })
    connection.connect()
    transport.last.sink.open()
    const first = unauthorized()
    transport.last.sink.fail(first, false)
    expect(snap()).toMatchObject({ status: 'reconnecting', error: first })
    expect(onAuthError).toHaveBeenCalledTimes(0) // asked asynchronously
    await flushMicrotasks()
    expect(onAuthError.mock.calls).toEqual([[first]])
    expect(transport.attempts).toHaveLength(2)
    transport.last.sink.open()
    const second = unauthorized()
    transport.last.sink.fail(second, false)
    await flushMicrotasks()
    expect(onAuthError).toHaveBeenCalledTimes(1)
    expect(transport.attempts).toHaveLength(2)
    expect(snap()).toMatchObject({ status: 'closed', error: second })
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed'])
  })

  it('closes with the auth error when the hook resolves false', async () => {
    const { connection, transport, statuses, snap } = setup({ onAuthError: () => false })
    connection.connect()
    const error = unauthorized()
    transport.last.sink.fail(error, false)
    await flushMicrotasks()
    expect(snap()).toMatchObject({ status: 'closed', error })
    expect(transport.attempts).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'reconnecting', 'closed'])
  })

  it('treats a rejecting hook as false', async () => {
    const { connection, transport, snap } = setup({ onAuthError: () => Promise.reject(new Error('refresh failed')) })
    connection.connect()
    transport.last.sink.fail(unauthorized(), false)
    await flushMicrotasks()
    expect(snap()).toMatchObject({ status: 'closed', error: { kind: 'auth' } })
    expect(transport.attempts).toHaveLength(1)
  })

  it('asks again after the connection proved stable', async () => {
    const onAuthError = vi.fn(() => true)
    const { connection, transport } = setup({ onAuthError })
    connection.connect()
    transport.last.sink.fail(unauthorized(), false)
    await flushMicrotasks()
    transport.last.sink.open()
    vi.advanceTimersByTime(5000)
    transport.last.sink.fail(unauthorized(), false)
    await flushMicrotasks()
    expect(onAuthError).toHaveBeenCalledTimes(2)
    expect(transport.attempts).toHaveLength(3)
  })

  it('ignores an answer that comes after close()', async () => {
    let answer!: (retry: boolean) => void
    const { connection, transport, statuses } = setup({ onAuthError: () => new Promise<boolean>((r) => (answer = r)) })
    connection.connect()
    transport.last.sink.fail(unauthorized(), false)
    await flushMicrotasks()
    connection.close()
    answer(true)
    await flushMicrotasks()
    expect(transport.attempts).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'reconnecting', 'closed'])
  })

  it('ignores an answer to a question about a connection that was replaced meanwhile', async () => {
    let answer!: (retry: boolean) => void
    const { connection, transport, env, statuses } = setup({ onAuthError: () => new Promise<boolean>((r) => (answer = r)) })
    connection.connect()
    transport.last.sink.fail(failure('network'), true) // attempt 1: a later resume is 'reconnecting'
    vi.advanceTimersByTime(500)
    transport.last.sink.fail(unauthorized(), false)
    await flushMicrotasks()
    env.emit('offline')
    env.emit('online') // a fresh attempt, made without the hook
    expect(transport.attempts).toHaveLength(3)
    answer(false) // about the old attempt
    await flushMicrotasks()
    expect(transport.live).toEqual([transport.attempts[2]])
    expect(statuses).toEqual(['connecting', 'reconnecting', 'reconnecting', 'paused', 'reconnecting'])
  })

  it('without a hook an auth error is final at once', () => {
    const { connection, transport, statuses } = setup()
    connection.connect()
    transport.last.sink.fail(unauthorized(), false)
    vi.advanceTimersByTime(60_000)
    expect(transport.attempts).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'closed'])
  })
})

describe('snapshot identity', () => {
  it('keeps its identity while nothing changed and changes when something did', () => {
    const { connection, transport, frames, statuses } = setup()
    const idle = connection.getSnapshot()
    expect(connection.getSnapshot()).toBe(idle)
    expect(idle).toEqual({ status: 'idle', data: undefined, lastEventId: undefined, error: null, attempt: 0, retryAt: null, paused: null, role: 'solo' })

    connection.connect()
    const connecting = connection.getSnapshot()
    expect(connecting).not.toBe(idle)
    expect(idle.status).toBe('idle') // the old snapshot was not mutated
    transport.last.sink.open()
    const opened = connection.getSnapshot()
    expect(opened).not.toBe(connecting)

    vi.advanceTimersByTime(5000) // stable, but the attempt count was already 0
    transport.last.sink.activity()
    connection.connect() // no-op while open
    expect(connection.getSnapshot()).toBe(opened)

    transport.last.sink.message(wire('x'))
    expect(connection.getSnapshot()).toBe(opened) // data waits for the frame
    frames.flush()
    const withData = connection.getSnapshot()
    expect(withData).not.toBe(opened)
    expect(withData.data).toBe('x')

    transport.last.sink.message(wire('x')) // same data
    frames.flush()
    expect(connection.getSnapshot()).toBe(withData)
    expect(statuses).toEqual(['connecting', 'open', 'open'])
  })
})

describe('listeners that act on the connection', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('an onError listener that calls reconnect() on max-retries leaves a working connection ("never give up")', () => {
    const { connection, transport, statuses } = setup({ maxRetries: 0 })
    connection.onError((error) => error.kind === 'max-retries' && connection.reconnect())
    connection.connect()
    transport.last.sink.open()
    transport.last.sink.fail(failure('network'), true)
    // The give-up settled first (closed), then the listener started afresh.
    expect(statuses).toEqual(['connecting', 'open', 'closed', 'connecting'])
    expect(transport.live).toHaveLength(1)
    transport.last.sink.open()
    expect(connection.getSnapshot()).toMatchObject({ status: 'open', error: null })
  })

  it('an onError listener that calls close() leaves no retry timer behind', () => {
    const { connection, transport, statuses } = setup()
    connection.onError(() => connection.close())
    connection.connect()
    transport.last.sink.fail(failure('network'), true)
    expect(statuses).toEqual(['connecting', 'reconnecting', 'closed'])
    vi.advanceTimersByTime(120_000)
    expect(transport.attempts).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})
