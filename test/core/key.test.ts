import { afterEach, describe, expect, it } from 'vitest'
import type { EventSourceOptions } from '../../src/core/event-source'
import * as fromEventSource from '../../src/core/event-source'
import { checkEventSource, checkWebSocket, eventSourceKey, webSocketKey } from '../../src/core/key'
import type { WebSocketOptions } from '../../src/core/web-socket'

const url = 'https://example.test/stream'
const wsUrl = 'wss://example.test/socket'
const noop = () => {}
const schema = { '~standard': { version: 1 as const, vendor: 'x', validate: (v: unknown) => ({ value: v }) } }
const cyclic: Record<string, unknown> = { ...schema }
cyclic.self = cyclic

/** Options that are not identity: decoding, callbacks, retry policy, injectables, hook options. */
const notIdentity: [string, object][] = [
  ['initialDelay', { initialDelay: 5 }],
  ['maxDelay', { maxDelay: 5 }],
  ['maxRetries', { maxRetries: 3 }],
  ['minUptime', { minUptime: 1 }],
  ['idleTimeout', { idleTimeout: 1 }],
  ['pauseWhenHidden', { pauseWhenHidden: 60_000 }],
  ['json', { json: true }],
  ['parse', { parse: (x: unknown) => x }],
  ['schema (cyclic)', { schema: cyclic }],
  ['timers: globalThis', { timers: globalThis }],
  ['now', { now: () => 1 }],
  ['random', { random: () => 0.5 }],
  ['environment', { environment: { current: () => [], subscribe: () => noop } }],
  ['scheduleFrame', { scheduleFrame: () => noop }],
  ['onAuthError', { onAuthError: () => true }],
  ['registry', { registry: { acquire: noop, peek: noop } }],
  ['share', { share: false }],
  ['enabled', { enabled: true }],
  ['onMessage', { onMessage: noop }],
  ['select', { select: (s: unknown) => s }],
]

describe('eventSourceKey: identity is what reaches the wire, by whitelist', () => {
  const key = (options: object = {}, u = url) => eventSourceKey(u, options as EventSourceOptions<unknown>)

  it.each([
    ...notIdentity,
    ['lastEventId (it only seeds the first connection)', { lastEventId: '41' }],
    ['maxMessageSize', { maxMessageSize: 10 }],
    ['fetch', { fetch: noop }],
    ['EventSource', { EventSource: class {} }],
  ])('%s does not change the key', (_name, options) => {
    expect(key(options)).toBe(key())
  })

  it.each([
    ['url', {}, '/other'],
    ['method', { method: 'POST' }],
    ['headers', { headers: { authorization: 'Bearer a' } }],
    ['a headers function', { headers: () => ({}) }],
    ['body', { method: 'POST', body: '{}' }],
    ['credentials', { credentials: 'include' }],
    ['transport', { transport: 'eventsource' }],
    ['events', { events: ['quote'] }],
    ['key', { key: 'two' }],
  ] as [string, object, string?][])('%s changes the key', (_name, options, other) => {
    expect(key(options, other)).not.toBe(key())
  })

  it.each([
    ['withCredentials', { withCredentials: true }],
    ['lastEventIdParam', { lastEventIdParam: 'since' }],
  ])("%s changes the key of transport 'eventsource'", (_name, options) => {
    expect(key({ transport: 'eventsource', ...options })).not.toBe(key({ transport: 'eventsource' }))
  })

  it.each([
    ['defaults written out', { method: 'GET', transport: 'fetch', credentials: 'same-origin', events: ['message'] }, {}],
    ['a standard method in lower case', { method: 'post' }, { method: 'POST' }],
    ['header order and name case', { headers: { A: '1', b: '2' } }, { headers: { B: '2', a: '1' } }],
    ['two headers functions', { headers: () => ({ a: '1' }) }, { headers: () => ({ a: '2' }) }],
    ['event order and repeats', { events: ['b', 'a', 'b'] }, { events: ['a', 'b'] }],
    ['withCredentials over fetch (fetch uses credentials)', { withCredentials: true }, {}],
    ["credentials over 'eventsource' (it uses withCredentials)", { transport: 'eventsource', credentials: 'include' }, { transport: 'eventsource' }],
  ])('the same wire gives the same key: %s', (_name, a, b) => {
    expect(key(a)).toBe(key(b))
  })

  it('is re-exported from event-source.ts', () => {
    expect(fromEventSource.eventSourceKey).toBe(eventSourceKey)
    expect(fromEventSource.checkEventSource).toBe(checkEventSource)
  })
})

describe('webSocketKey: url, protocols, binaryType and key only', () => {
  const key = (options: object = {}, u: string | (() => string) = wsUrl) => webSocketKey(u, options as WebSocketOptions)

  it.each([
    ...notIdentity,
    ['heartbeat', { heartbeat: { interval: 5 } }],
    ['connectTimeout', { connectTimeout: 1 }],
    ['maxQueued', { maxQueued: 1 }],
    ['serialize', { serialize: String }],
    ['shouldReconnect', { shouldReconnect: () => true }],
    ['onReopen', { onReopen: () => [] }],
    ['resume', { resume: { lastMessage: 1 } }],
    ['WebSocket', { WebSocket: class {} }],
  ])('%s does not change the key', (_name, options) => {
    expect(key(options)).toBe(key())
  })

  it.each([
    ['url', {}, 'wss://example.test/other'],
    ['protocols', { protocols: ['chat'] }],
    ['binaryType', { binaryType: 'arraybuffer' }],
    ['key', { key: 'two' }],
  ] as [string, object, string?][])('%s changes the key', (_name, options, other) => {
    expect(key(options, other)).not.toBe(key())
  })

  it('the same wire gives the same key', () => {
    expect(key({ protocols: 'chat' })).toBe(key({ protocols: ['chat'] }))
    expect(key({ protocols: [] })).toBe(key())
    expect(key({ binaryType: 'blob' })).toBe(key())
    // Protocol order is the client's preference: it is on the wire.
    expect(key({ protocols: ['a', 'b'] })).not.toBe(key({ protocols: ['b', 'a'] }))
  })

  it('a url function is named by its key, not its identity', () => {
    expect(key({ key: 'chat' }, () => 'wss://a')).toBe(key({ key: 'chat' }, () => 'wss://b'))
    expect(key({ key: 'chat' }, () => 'wss://a')).not.toBe(key({ key: 'news' }, () => 'wss://a'))
  })
})

describe('checkEventSource: misuse throws at once, naming the API and the fix', () => {
  it.each([
    ['no url', undefined, {}, /expected a url string, got undefined/],
    ['an empty url', '', {}, /expected a url string/],
    ['a url that is not a string', 42, {}, /expected a url string, got 42/],
    ['a malformed url', 'http://exa mple.com', {}, /the url does not parse: "http:\/\/exa mple.com"/],
    ['a malformed relative url', 'http://[::1', {}, /does not parse/],
    ['a url that is not http(s)', 'ftp://example.com/x', {}, /an event stream url is http: or https:, not ftp:/],
    ['a WebSocket url', 'ws://example.com/x', {}, /not ws:/],
    ['events as a string', url, { events: 'quote' }, /`events` must be an array of names/],
    ['an empty event name', url, { events: ['ok', ''] }, /`events`/],
    ['an event name that is not a string', url, { events: [1] }, /`events`/],
    ['an unknown transport', url, { transport: 'websocket' }, /`transport` is 'fetch' or 'eventsource', not "websocket"/],
    ["'eventsource' with headers", url, { transport: 'eventsource', headers: { a: 'b' } }, /use 'fetch'/],
    ["'eventsource' with a headers function", url, { transport: 'eventsource', headers: () => ({}) }, /use 'fetch'/],
    ["'eventsource' with POST", url, { transport: 'eventsource', method: 'POST' }, /use 'fetch'/],
    ["'eventsource' with a body", url, { transport: 'eventsource', body: '' }, /use 'fetch'/],
    ['a header name fetch refuses', url, { headers: { 'bad name': 'x' } }, /fetch refuses this request: /],
    ['a header value with a line break', url, { headers: { a: 'x\ny' } }, /fetch refuses this request: /],
    ['a header value above U+00FF', url, { headers: { a: '€' } }, /fetch refuses this request: /],
    ['a method with a space', url, { method: 'GE T' }, /fetch refuses this request: .*GE T/],
    ['an empty method', url, { method: '' }, /fetch refuses this request: /],
    ['a forbidden method (CONNECT)', url, { method: 'connect' }, /fetch refuses this request: /],
    ['a forbidden method (TRACE)', url, { method: 'TRACE' }, /fetch refuses this request: /],
    ['an unknown credentials', url, { credentials: 'always' }, /fetch refuses this request: .*always/],
    ['a body with GET', url, { body: 'x' }, /fetch refuses this request: /],
    ['a body with HEAD', url, { method: 'head', body: 'x' }, /fetch refuses this request: /],
    ['a lastEventId with a line break', url, { lastEventId: 'a\nb' }, /`lastEventId` is a string without NULL, CR or LF/],
    ['maxMessageSize 0', url, { maxMessageSize: 0 }, /`maxMessageSize` is a positive number/],
    ['maxMessageSize NaN', url, { maxMessageSize: Number.NaN }, /`maxMessageSize`/],
    ['maxMessageSize as text', url, { maxMessageSize: '10' }, /`maxMessageSize`/],
  ] as [string, unknown, object, RegExp][])('%s', (_name, u, options, message) => {
    expect(() => checkEventSource(u, options)).toThrow(TypeError)
    expect(() => checkEventSource(u, options)).toThrow(/^\[tabwire\] createEventSource: /)
    expect(() => checkEventSource(u, options)).toThrow(message)
    // The key function checks too, so a hook throws in render, naming itself.
    expect(() => eventSourceKey(u as string, options)).toThrow(/^\[tabwire\] useEventSource: /)
  })

  it.each([
    ['an absolute url', url, {}],
    ['a relative url (a page resolves it)', '/api/quotes?x=1', {}],
    ["'eventsource' where there is no EventSource (a server render)", url, { transport: 'eventsource' }],
    ['a body with POST', url, { method: 'POST', body: '' }],
    ['a method of its own (fetch sends any token)', url, { method: 'REPORT' }],
    ['credentials: omit', url, { credentials: 'omit' }],
    ['a headers function', url, { headers: async () => ({ a: '€' }) }],
    ['a lastEventId with any other character', url, { lastEventId: 'é€🎉 x' }],
  ] as [string, string, object][])('accepts %s', (_name, u, options) => {
    expect(() => checkEventSource(u, options)).not.toThrow()
    expect(() => eventSourceKey(u, options)).not.toThrow()
  })
})

describe('checkWebSocket', () => {
  it.each([
    ['no url', undefined, {}, /expected a url or a function that returns one/],
    ['an empty url', '', {}, /expected a url/],
    ['a malformed url', 'ws://exa mple.com', {}, /the url does not parse: "ws:\/\/exa mple.com"/],
    ['another scheme', 'ftp://example.test/x', {}, /a WebSocket url is ws:, wss:, http: or https:, not ftp:/],
    ['a file url', 'file:///tmp/x', {}, /not file:/],
    ['a url function without a key', () => wsUrl, {}, /a url function needs a `key` option/],
  ] as [string, unknown, object, RegExp][])('%s', (_name, u, options, message) => {
    expect(() => checkWebSocket(u, options)).toThrow(/^\[tabwire\] createWebSocket: /)
    expect(() => checkWebSocket(u, options)).toThrow(message)
    expect(() => webSocketKey(u as string, options)).toThrow(/^\[tabwire\] useWebSocket: /)
  })

  it.each([
    ['ws:', 'ws://example.test/s'],
    ['wss:', wsUrl],
    ['http: (WebSocket maps it to ws:)', 'http://example.test/s'],
    ['https:', 'https://example.test/s'],
    ['a relative url', '/socket'],
  ])('accepts %s', (_name, u) => {
    expect(() => checkWebSocket(u)).not.toThrow()
    expect(() => webSocketKey(u)).not.toThrow()
  })

  it('accepts a url function with a key', () => {
    expect(() => webSocketKey(() => wsUrl, { key: 'chat' })).not.toThrow()
  })
})

describe('checks and keys are safe in a server render', () => {
  const trapped: string[] = []
  afterEach(() => {
    for (const name of trapped.splice(0)) delete (globalThis as Record<string, unknown>)[name]
  })

  it('they read neither the page nor browser globals (SSR must not throw or touch them)', () => {
    for (const name of ['location', 'window', 'document', 'EventSource', 'WebSocket']) {
      if (name in globalThis) continue
      trapped.push(name)
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get() {
          throw new Error(`read ${name}`)
        },
      })
    }
    expect(trapped).toContain('location')
    expect(() => eventSourceKey('/api/quotes', { transport: 'eventsource' })).not.toThrow()
    expect(() => eventSourceKey('/api/quotes', { headers: { a: 'b' }, method: 'POST', body: 'x' })).not.toThrow()
    expect(() => webSocketKey('/socket', { protocols: 'chat' })).not.toThrow()
  })
})
