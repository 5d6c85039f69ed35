import { describe, expect, it, vi } from 'vitest'
import type { WireMessage } from '../../src/core/transport'
import { advance, openedSocket, setupWebSocket, useFakeSocketClock } from './fake-web-socket'

// Incoming messages: the size bound (a larger message is skipped, never fatal) and
// message identity (`messageId`), which resume and cross-tab de-duplication rely on.
useFakeSocketClock()


describe('maxMessageSize', () => {
  it('skips a text frame longer than 1 MiB by default: reported as a protocol error, and the stream goes on', async () => {
    const { connection, fake, messages, errors, frames, statuses, snap } = await openedSocket(setupWebSocket())
    const wire: unknown[] = []
    connection.onWire((m) => wire.push(m.data))
    const largest = 'x'.repeat(1_048_576)
    fake.last.receive(largest)
    fake.last.receive(`${largest}y`)
    fake.last.receive('after')
    expect(messages.map((m) => m.data)).toEqual([largest, 'after'])
    expect(wire).toEqual([largest, 'after']) // never on the wire tap either
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ kind: 'protocol', message: 'a message passed maxMessageSize (1048576) and was skipped', id: undefined })
    frames.flush()
    expect(snap()).toMatchObject({ status: 'open', data: 'after', error: errors[0] })
    expect(fake.sockets).toHaveLength(1)
    expect(fake.last.closeCalls).toEqual([])
    expect(statuses).toEqual(['connecting', 'open', 'open'])
  })

  it('counts characters for text and bytes for binary (ArrayBuffer, typed array, Blob)', async () => {
    const { fake, messages, errors } = await openedSocket(setupWebSocket({ maxMessageSize: 4 }))
    const fits = [new ArrayBuffer(4), new Uint8Array(4), new Blob(['abcd']), 'abcd', 'éééé']
    const over = [new ArrayBuffer(5), new Uint8Array(5), new Blob(['abcde']), 'abcde', new Blob(['éé', 'é'])] // 'é' is 2 bytes in a Blob
    for (const data of [...fits, ...over]) fake.last.receive(data)
    expect(messages.map((m) => m.data)).toEqual(fits)
    expect(errors.map((e) => e.kind)).toEqual(over.map(() => 'protocol'))
  })

  it("reports a skipped message's id and counts it as seen, so a resume does not ask for it again", async () => {
    const messageId = (raw: unknown) => /^(\d+):/.exec(raw as string)?.[1]
    const { fake, messages, errors, frames, snap } = await openedSocket(setupWebSocket({ maxMessageSize: 10, messageId, onReopen: ({ lastEventId }) => [`resume ${lastEventId}`] }))
    fake.last.receive('1:small')
    fake.last.receive('2:far too large')
    expect(errors).toEqual([expect.objectContaining({ kind: 'protocol', id: '2' })])
    expect(messages.map((m) => m.id)).toEqual(['1'])
    frames.flush()
    expect(snap().lastEventId).toBe('2')
    fake.last.serverClose(1006)
    await advance(50)
    fake.last.open()
    expect(fake.last.sent).toEqual(['resume 2'])
  })

  it('a skipped message still proves the socket alive', async () => {
    const { fake, snap } = await openedSocket(setupWebSocket({ maxMessageSize: 1, heartbeat: { interval: 1000, timeout: 1500 } }))
    for (let i = 0; i < 5; i++) {
      await advance(1000)
      fake.last.receive('too large')
    }
    expect(fake.sockets).toHaveLength(1)
    expect(snap().status).toBe('open')
  })
})

describe('messageId', () => {
  const seqOf = (raw: unknown) => (JSON.parse(raw as string) as { seq?: string }).seq

  it("gives each message its id, read from the raw wire data: on the message, the wire tap and the stream's lastEventId", async () => {
    const messageId = vi.fn(seqOf)
    const { connection, fake, messages, frames, snap } = await openedSocket(setupWebSocket<{ seq?: string }>({ json: true, messageId }))
    const wire: WireMessage[] = []
    connection.onWire((m) => wire.push(m))
    fake.last.receive('{"seq":"a1","text":"hi"}')
    fake.last.receive('{"text":"no id"}')
    fake.last.receive('{"seq":"a2"}')
    expect(messageId.mock.calls.map(([raw]) => raw)).toEqual(['{"seq":"a1","text":"hi"}', '{"text":"no id"}', '{"seq":"a2"}'])
    expect(messages.map((m) => m.id)).toEqual(['a1', undefined, 'a2']) // an id names one message: it does not stick
    expect(wire.map((m) => m.id)).toEqual(['a1', undefined, 'a2'])
    frames.flush()
    expect(snap().lastEventId).toBe('a2')
    fake.last.receive('{"text":"no id"}')
    frames.flush()
    expect(snap().lastEventId).toBe('a2') // a message without an id keeps the last one
  })

  it('a throw means no id: the message is still delivered and nothing is reported; a number id is taken as its text', async () => {
    const { fake, messages, errors } = await openedSocket(setupWebSocket({ messageId: (raw) => (JSON.parse(raw as string) as { n: string }).n }))
    fake.last.receive('not json')
    fake.last.receive('{"n":7}')
    fake.last.receive('{"n":""}')
    expect(messages.map((m) => [m.data, m.id])).toEqual([
      ['not json', undefined],
      ['{"n":7}', '7'],
      ['{"n":""}', undefined],
    ])
    expect(errors).toEqual([])
  })

  it('is not asked about pongs', async () => {
    const messageId = vi.fn(() => 'id')
    const { fake, messages } = await openedSocket(setupWebSocket({ messageId, heartbeat: { interval: 1000 } }))
    fake.last.receive('pong')
    expect(messageId).not.toHaveBeenCalled()
    expect(messages).toEqual([])
  })

  it('a parse error carries the id of the message it is about', async () => {
    const { fake, errors } = await openedSocket(setupWebSocket({ json: true, messageId: (raw) => String(raw).slice(0, 2) }))
    fake.last.receive('7:{oops')
    expect(errors).toEqual([expect.objectContaining({ kind: 'parse', id: '7:' })])
  })

  it('onReopen gets the last id, so an app can resume after it', async () => {
    const onReopen = vi.fn(({ lastEventId }: { lastEventId: string | undefined }) => [`resume after ${lastEventId}`])
    const { fake } = await openedSocket(setupWebSocket({ json: true, messageId: seqOf, onReopen }))
    fake.last.receive('{"seq":"41"}')
    fake.last.receive('{"seq":"42"}')
    fake.last.serverClose(1006)
    await advance(50)
    fake.last.open()
    expect(onReopen.mock.calls).toEqual([[{ lastMessage: { seq: '42' }, lastEventId: '42', attempt: 1 }]])
    expect(fake.last.sent).toEqual(['resume after 42'])
  })

  it('resume: { lastEventId } seeds the stream: the first open is a reopen after that id', async () => {
    const onReopen = vi.fn((_info: unknown) => [])
    const { snap } = await openedSocket(setupWebSocket({ onReopen, resume: { lastMessage: 'm41', lastEventId: '41' } }))
    expect(snap().lastEventId).toBe('41')
    expect(onReopen.mock.calls).toEqual([[{ lastMessage: 'm41', lastEventId: '41', attempt: 0 }]])
  })
})
