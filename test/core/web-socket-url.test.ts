import { describe, expect, it, vi } from 'vitest'
import { createWebSocket } from '../../src/core/web-socket'
import { advance, setupWebSocket, useFakeSocketClock } from './fake-web-socket'
import { flushMicrotasks } from './fakes'

// A url a WebSocket cannot open is misuse when given as a string (it throws at once), and a
// final error when a url function gives it (the same url would fail on every retry).
useFakeSocketClock()

describe('a url string', () => {
  it.each([
    ['a space in the host', 'ws://exa mple.com/socket', 'the url does not parse'],
    ['no host', 'wss://', 'the url does not parse'],
    ['ftp:', 'ftp://example.com/socket', 'a WebSocket url is ws:, wss:, http: or https:, not ftp:'],
    ['javascript:', 'javascript:alert(1)', 'not javascript:'],
    ['relative, with no page to resolve it against (Node)', '/socket', 'a relative url (/socket) needs a page to resolve against'],
    ['a bare word, with no page', 'socket', 'a relative url (socket) needs a page'],
  ])('throws at once, naming the API and the problem: %s', (_what, url, problem) => {
    expect(() => createWebSocket(url)).toThrow(TypeError)
    expect(() => createWebSocket(url)).toThrow(/^\[tabwire\] createWebSocket: /)
    expect(() => createWebSocket(url)).toThrow(problem)
  })

  it.each(['ws://example.com/s', 'wss://example.com:8443/s?token=a b', 'http://example.com/s', 'HTTPS://example.com/s'])(
    'takes %s, and hands it to the WebSocket as given',
    async (url) => {
      const { connection, fake } = setupWebSocket({}, url)
      connection.connect()
      await flushMicrotasks()
      expect(fake.last.url).toBe(url)
    },
  )

  it('takes a relative url where there is a page to resolve it against', async () => {
    vi.stubGlobal('location', { href: 'https://app.example/chat/' })
    try {
      const { connection, fake } = setupWebSocket({}, '/socket')
      connection.connect()
      await flushMicrotasks()
      expect(fake.last.url).toBe('/socket') // the browser resolves it
    } finally {
      vi.unstubAllGlobals()
    }
  })
})

describe('a url function', () => {
  it.each([
    ['a malformed url', 'ws://exa mple.com'],
    ['a scheme that is not ws(s) or http(s)', 'ftp://example.com/socket'],
    ['not a string', undefined],
  ])('that gives %s closes the stream with a final protocol error, not retried', async (_what, href) => {
    const url = vi.fn(() => href as string)
    const { connection, fake, statuses, errors, snap } = setupWebSocket({}, url)
    connection.connect()
    await flushMicrotasks()
    expect(fake.sockets).toEqual([])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ kind: 'protocol', message: 'the url function gave a url a WebSocket cannot open' })
    expect(errors[0]!.cause).toBeInstanceOf(TypeError)
    expect(snap()).toMatchObject({ status: 'closed', error: errors[0] })
    await advance(10 * 60_000)
    expect(url).toHaveBeenCalledTimes(1)
    expect(statuses).toEqual(['connecting', 'closed'])
  })

  it('reconnect() asks the function again', async () => {
    const url = vi.fn<() => string>().mockReturnValueOnce('not a url').mockReturnValue('wss://example.com/s')
    const { connection, fake, snap } = setupWebSocket({}, url)
    connection.connect()
    await flushMicrotasks()
    expect(snap().status).toBe('closed')
    connection.reconnect()
    await flushMicrotasks()
    fake.last.open()
    expect(snap()).toMatchObject({ status: 'open', error: null })
  })
})

describe('a WebSocket constructor that throws (a bad subprotocol, a blocked port)', () => {
  it('closes the stream with a final protocol error: the same socket would be refused on every retry', async () => {
    const refusal = new DOMException("The subprotocol 'a b' is invalid.", 'SyntaxError')
    const constructed = vi.fn()
    const Refusing = function (this: unknown) {
      constructed()
      throw refusal
    } as unknown as typeof WebSocket
    const { connection, errors, snap } = setupWebSocket({ WebSocket: Refusing, protocols: 'a b' })
    connection.connect()
    await flushMicrotasks()
    expect(errors).toEqual([expect.objectContaining({ kind: 'protocol', message: 'the WebSocket constructor refused the url or protocols', cause: refusal })])
    expect(snap().status).toBe('closed')
    await advance(60_000)
    expect(constructed).toHaveBeenCalledTimes(1)
  })
})
