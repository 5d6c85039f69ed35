import { describe, expect, it, vi } from 'vitest'
import type { RealtimeError } from '../../src/core/errors'
import { openedSocket, setupWebSocket, useFakeSocketClock } from './fake-web-socket'
import { flushMicrotasks } from './fakes'

// send() never throws: whatever a message is, it is sent, queued or refused ('rejected'),
// and a refusal is reported unless the caller asks to report it itself.
useFakeSocketClock()


describe('a message that cannot be serialized', () => {
  it("is 'rejected' with a protocol error (the throw as cause), not thrown: a BigInt with the default JSON", async () => {
    const { connection, fake, errors, frames, snap } = await openedSocket(setupWebSocket())
    let result: unknown
    expect(() => (result = connection.send({ n: 10n }))).not.toThrow()
    expect(result).toBe('rejected')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ name: 'RealtimeError', kind: 'protocol', message: 'the message could not be serialized; it was not sent' })
    expect(errors[0]!.cause).toBeInstanceOf(TypeError) // JSON.stringify's "Do not know how to serialize a BigInt"
    frames.flush()
    expect(snap()).toMatchObject({ status: 'open', error: errors[0] })
    expect(connection.send({ n: 10 })).toBe('sent') // the stream goes on
    expect(fake.last.sent).toEqual(['{"n":10}'])
  })

  it('is refused the same way while the socket is not open: nothing is queued', async () => {
    const { connection, fake, errors } = setupWebSocket()
    connection.connect()
    expect(connection.send(10n)).toBe('rejected')
    expect(connection.send('later')).toBe('queued')
    await flushMicrotasks()
    fake.last.open()
    expect(fake.last.sent).toEqual(['later'])
    expect(errors.map((e) => e.kind)).toEqual(['protocol'])
  })

  it('a custom serialize that throws: the thrown value is the cause', async () => {
    const boom = new Error('cannot encode')
    const serialize = (m: unknown) => {
      if (m === 'bad') throw boom
      return `<${String(m)}>`
    }
    const { connection, fake, errors } = await openedSocket(setupWebSocket({ serialize }))
    expect(connection.send('bad')).toBe('rejected')
    expect(connection.send('good')).toBe('sent')
    expect(errors).toEqual([expect.objectContaining({ kind: 'protocol', cause: boom })])
    expect(fake.last.sent).toEqual(['<good>'])
  })

  it('the default JSON refuses what it would turn into nothing (undefined, a function) rather than send "undefined"', async () => {
    const { connection, fake, errors } = await openedSocket(setupWebSocket())
    expect(connection.send(undefined)).toBe('rejected')
    expect(connection.send(() => 1)).toBe('rejected')
    expect(fake.last.sent).toEqual([])
    expect(errors.map((e) => [e.kind, (e.cause as Error).message])).toEqual([
      ['protocol', 'JSON.stringify gave undefined for a undefined'],
      ['protocol', 'JSON.stringify gave undefined for a function'],
    ])
  })
})

describe('a socket whose send() throws', () => {
  it("gives 'rejected' and a protocol error, never a throw", async () => {
    const { connection, fake, errors } = await openedSocket(setupWebSocket())
    const refusal = new DOMException('nope', 'SyntaxError')
    fake.last.send = () => {
      throw refusal
    }
    expect(connection.send('x')).toBe('rejected')
    expect(errors).toEqual([expect.objectContaining({ kind: 'protocol', message: 'the socket refused the message; it was not sent', cause: refusal })])
  })
})

describe('send(message, { report: false })', () => {
  it('refuses an overflow without reporting it: the caller reports it', async () => {
    const { connection, errors, frames, snap } = setupWebSocket({ maxQueued: 1 })
    connection.connect()
    expect(connection.send('a', { report: false })).toBe('queued')
    expect(connection.send('b', { report: false })).toBe('rejected')
    frames.flush()
    expect(errors).toEqual([])
    expect(snap().error).toBeNull()
    expect(connection.send('c', { report: true })).toBe('rejected')
    expect(connection.send('d')).toBe('rejected')
    expect(errors.map((e) => e.kind)).toEqual(['overflow', 'overflow'])
  })

  it('refuses a message that cannot be serialized without reporting it', async () => {
    const { connection, errors, frames, snap } = await openedSocket(setupWebSocket())
    expect(connection.send(1n, { report: false })).toBe('rejected')
    frames.flush()
    expect(errors).toEqual([])
    expect(snap().error).toBeNull()
  })
})

describe('send(message, { report: function })', () => {
  it('hands a refusal, with its error, to the function instead of the snapshot and onError', async () => {
    const { connection, errors, frames, snap } = setupWebSocket({ maxQueued: 0 })
    connection.connect()
    const mine: RealtimeError[] = []
    expect(connection.send('a', { report: (error) => mine.push(error) })).toBe('rejected')
    expect(connection.send(1n, { report: (error) => mine.push(error) })).toBe('rejected')
    frames.flush()
    expect(mine.map((e) => e.kind)).toEqual(['overflow', 'protocol'])
    expect(errors).toEqual([])
    expect(snap().error).toBeNull()
  })

  it('a throwing report function is reported, and send() still does not throw', async () => {
    const boom = new Error('reporter bug')
    const reportError = vi.fn()
    vi.stubGlobal('reportError', reportError)
    try {
      const { connection } = setupWebSocket({ maxQueued: 0 })
      connection.connect()
      expect(
        connection.send('a', {
          report: () => {
            throw boom
          },
        }),
      ).toBe('rejected')
      expect(reportError.mock.calls).toEqual([[boom]])
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
