import { describe, expect, it, vi } from 'vitest'
import { closeCodeOutcome } from '../../src/core/close-codes'
import type { RealtimeErrorKind } from '../../src/core/errors'
import { advance, setupWebSocket, useFakeSocketClock } from './fake-web-socket'
import { flushMicrotasks } from './fakes'

// The engine keeps a wake-detection timer ticking every 10 s while started: never
// vi.runAllTimers() here, only advanceTimersByTime.
useFakeSocketClock()

/**
 * The table in the TSDoc of close-codes.ts, row by row: the codes each row names, and for
 * the ranges, both ends and a few inside. `null` = reconnect with backoff.
 */
const table: { row: string; codes: number[]; outcome: RealtimeErrorKind | null }[] = [
  {
    row: 'normal, going away, no status, abnormal, server error, restart, try again later, bad gateway',
    codes: [1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014],
    outcome: null,
  },
  {
    row: 'protocol error, unsupported data, invalid payload, too big, extension, TLS',
    codes: [1002, 1003, 1007, 1009, 1010, 1015],
    outcome: 'protocol',
  },
  { row: 'policy violation', codes: [1008], outcome: 'protocol' },
  { row: 'application unauthorized / forbidden', codes: [4401, 4403], outcome: 'auth' },
  { row: '4400–4499 otherwise', codes: [4400, 4402, 4404, 4409, 4422, 4499], outcome: 'protocol' },
  { row: '4408 and 4429 (timeout, too many requests)', codes: [4408, 4429], outcome: null },
  {
    row: 'any other code: other 4000–4999, 3000–3999, reserved ranges',
    codes: [4000, 4001, 4100, 4399, 4500, 4501, 4999, 3000, 3001, 3999, 1016, 2000, 2999, 0, 999],
    outcome: null,
  },
]

const rows = table.flatMap(({ row, codes, outcome }) => codes.map((code) => ({ row, code, outcome })))

describe('closeCodeOutcome: the documented table', () => {
  it.each(rows)('$code ($row) → $outcome', ({ code, outcome }) => {
    expect(closeCodeOutcome(code)).toBe(outcome)
  })

  it('covers every code from 1000 to 1015 in exactly one row (1004 aside, see below)', () => {
    const listed = new Set(rows.map((r) => r.code))
    for (let code = 1000; code <= 1015; code++) if (code !== 1004) expect(listed.has(code), String(code)).toBe(true)
  })

  it('reconnects on every other application code (4000–4999 outside 4400–4499)', () => {
    const outcomes = new Set<RealtimeErrorKind | null>()
    for (let code = 4000; code <= 4999; code++) if (code < 4400 || code > 4499) outcomes.add(closeCodeOutcome(code))
    expect([...outcomes]).toEqual([null])
  })

  it('finalises every 44xx but 4401/4403 (auth) and 4408/4429 (retry) as protocol', () => {
    const byCode: Record<string, RealtimeErrorKind | null> = {}
    for (let code = 4400; code <= 4499; code++) byCode[code] = closeCodeOutcome(code)
    const notProtocol = Object.entries(byCode).filter(([, outcome]) => outcome !== 'protocol')
    expect(notProtocol).toEqual([
      ['4401', 'auth'],
      ['4403', 'auth'],
      ['4408', null],
      ['4429', null],
    ])
  })

  // 1004 is reserved by RFC 6455 §7.4.1 and never sent: a peer that sends it breaks the protocol.
  it('1004 (reserved) is a final protocol error', () => {
    expect(closeCodeOutcome(1004)).toBe('protocol')
  })
})

describe('close codes end to end: a server close on an open socket', () => {
  it.each(rows)('$code → $outcome: status sequence, error kind and status, and whether it reconnects', async ({ code, outcome }) => {
    const { connection, fake, statuses, errors, snap } = setupWebSocket()
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(code, 'bye')
    const error = snap().error
    expect(error).toMatchObject({
      name: 'RealtimeError',
      kind: outcome ?? 'network',
      status: code,
      message: `the socket closed (${code}: bye)`,
    })
    expect(errors).toEqual([error])
    if (outcome === null) {
      expect(statuses).toEqual(['connecting', 'open', 'reconnecting'])
      await advance(49)
      expect(fake.sockets).toHaveLength(1)
      await advance(1) // the first backoff: 0.5 × 100 ms
      expect(fake.sockets).toHaveLength(2)
      fake.last.open()
      expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
      expect(snap()).toMatchObject({ status: 'open', error: null, attempt: 1 })
    } else {
      expect(statuses).toEqual(['connecting', 'open', 'closed'])
      await advance(10 * 60_000)
      expect(fake.sockets).toHaveLength(1)
      expect(snap()).toMatchObject({ status: 'closed', error })
    }
  })

  it('names no reason when the server gave none', async () => {
    const { connection, fake, snap } = setupWebSocket()
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(1006)
    expect(snap().error?.message).toBe('the socket closed (1006)')
  })

  it('treats a socket that closes before it opens like one that closed after (1006 → retry, 1008 → final)', async () => {
    const { connection, fake, statuses, snap } = setupWebSocket()
    connection.connect()
    await flushMicrotasks()
    fake.last.serverClose(1006)
    await advance(50)
    fake.last.serverClose(1008, 'policy')
    expect(statuses).toEqual(['connecting', 'reconnecting', 'closed'])
    expect(snap().error).toMatchObject({ kind: 'protocol', status: 1008 })
    await advance(60_000)
    expect(fake.sockets).toHaveLength(2)
  })

  it('reconnect() starts again after a final close code', async () => {
    const { connection, fake, statuses, snap } = setupWebSocket()
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(4404, 'no such room')
    connection.reconnect()
    await flushMicrotasks()
    expect(fake.sockets).toHaveLength(2)
    fake.last.open()
    expect(statuses).toEqual(['connecting', 'open', 'closed', 'connecting', 'open'])
    expect(snap().error).toBeNull()
  })
})

describe('shouldReconnect overrides the table', () => {
  it('false on a code the table retries (1006): closed, with the close code kept', async () => {
    const shouldReconnect = vi.fn(() => false)
    const { connection, fake, statuses, snap } = setupWebSocket({ shouldReconnect })
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(1006, 'gone')
    expect(statuses).toEqual(['connecting', 'open', 'closed'])
    // No row gives 1006 a kind: a refused retry is reported as `network`.
    expect(snap().error).toMatchObject({ kind: 'network', status: 1006, message: 'the socket closed (1006: gone)' })
    await advance(60_000)
    expect(fake.sockets).toHaveLength(1)
  })

  it('false on an auth code keeps the table kind (auth)', async () => {
    const { connection, fake, snap } = setupWebSocket({ shouldReconnect: () => false })
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(4401, 'token expired')
    expect(snap()).toMatchObject({ status: 'closed', error: { kind: 'auth', status: 4401 } })
  })

  it('true on a code the table finalises (1008, 4401): reconnects with a network error and asks no auth hook', async () => {
    const onAuthError = vi.fn(() => false)
    const { connection, fake, statuses, snap } = setupWebSocket({ shouldReconnect: () => true, onAuthError })
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(1008, 'policy')
    expect(snap().error).toMatchObject({ kind: 'network', status: 1008 })
    await advance(50)
    fake.last.open()
    fake.last.serverClose(4401, 'who are you')
    expect(snap().error).toMatchObject({ kind: 'network', status: 4401 })
    await advance(100)
    expect(fake.sockets).toHaveLength(3)
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open', 'reconnecting'])
    expect(onAuthError).not.toHaveBeenCalled()
  })

  it('gets the close event itself (code, reason, wasClean)', async () => {
    const shouldReconnect = vi.fn((event: CloseEvent) => event.code !== 4000)
    const { connection, fake, snap } = setupWebSocket({ shouldReconnect })
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(4001, 'later')
    await advance(50)
    fake.last.open()
    fake.last.serverClose(4000, 'stop')
    expect(shouldReconnect.mock.calls.map(([e]) => [e.code, e.reason, e.wasClean])).toEqual([
      [4001, 'later', true],
      [4000, 'stop', true],
    ])
    expect(snap()).toMatchObject({ status: 'closed', error: { status: 4000 } })
    expect(fake.sockets).toHaveLength(2)
  })
})

describe('a close your code asked for', () => {
  it('never reconnects, whatever the close event says', async () => {
    const shouldReconnect = vi.fn(() => true)
    const { connection, fake, statuses, snap, errors } = setupWebSocket({ shouldReconnect })
    connection.connect()
    await flushMicrotasks()
    const socket = fake.last
    socket.open()
    expect(connection.close()).toEqual([])
    expect(socket.closeCalls).toEqual([[1000, undefined]])
    expect(socket.readyState).toBe(WebSocket.CLOSING)
    socket.serverClose(1006) // the closing handshake ends badly
    await advance(10 * 60_000)
    expect(fake.sockets).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'open', 'closed'])
    expect(snap()).toMatchObject({ status: 'closed', error: null })
    expect(errors).toEqual([])
  })

  it('does not ask shouldReconnect about a close it asked for', async () => {
    const shouldReconnect = vi.fn(() => true)
    const { connection, fake } = setupWebSocket({ shouldReconnect })
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    connection.close()
    fake.last.serverClose(1000)
    expect(shouldReconnect).not.toHaveBeenCalled()
  })

  it('while connecting: the socket is closed and never replaced', async () => {
    const { connection, fake, statuses } = setupWebSocket()
    connection.connect()
    await flushMicrotasks()
    connection.close()
    expect(fake.last.closeCalls).toEqual([[1000, undefined]])
    await advance(60_000)
    expect(fake.sockets).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'closed'])
  })

  it('while reconnecting: the pending retry is cancelled', async () => {
    const { connection, fake, statuses } = setupWebSocket()
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(1006)
    connection.close()
    await advance(60_000)
    expect(fake.sockets).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'closed'])
  })
})

describe('4401/4403 with onAuthError', () => {
  it('retries once when the hook says so (no backoff), and a second 4401 is final', async () => {
    const onAuthError = vi.fn(async () => true)
    const { connection, fake, statuses, snap, errors } = setupWebSocket({ onAuthError })
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(4401, 'expired')
    expect(snap()).toMatchObject({ status: 'reconnecting', error: { kind: 'auth', status: 4401 } })
    expect(fake.sockets).toHaveLength(1)
    await flushMicrotasks()
    expect(onAuthError).toHaveBeenCalledTimes(1)
    expect(onAuthError.mock.calls[0]).toEqual([errors[0]])
    expect(errors[0]).toMatchObject({ kind: 'auth', status: 4401 })
    expect(fake.sockets).toHaveLength(2) // at once: no backoff timer ran
    fake.last.open()
    fake.last.serverClose(4401, 'still expired')
    await flushMicrotasks()
    await advance(60_000)
    expect(onAuthError).toHaveBeenCalledTimes(1)
    expect(fake.sockets).toHaveLength(2)
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed'])
    expect(snap().error).toMatchObject({ kind: 'auth', status: 4401, message: 'the socket closed (4401: still expired)' })
  })

  it('stays closed with the auth error when the hook says no', async () => {
    const onAuthError = vi.fn(() => false)
    const { connection, fake, statuses, snap } = setupWebSocket({ onAuthError })
    connection.connect()
    await flushMicrotasks()
    fake.last.open()
    fake.last.serverClose(4403, 'forbidden')
    await flushMicrotasks()
    await advance(60_000)
    expect(fake.sockets).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'closed'])
    expect(snap().error).toMatchObject({ kind: 'auth', status: 4403 })
  })
})
