import { act, render, waitFor } from '@testing-library/react'
import { StrictMode, useEffect, version } from 'react'
import { describe, expect, it, vi } from 'vitest'
import type { RealtimeMessage } from '../../src/core/connection'
import type { RealtimeError } from '../../src/core/errors'
import type { SendResult } from '../../src/core/web-socket'
import { useWebSocket, type UseWebSocketOptions, type UseWebSocketResult } from '../../src/react/use-web-socket'
import { manualTimers, setupHarness, SHARE_MODES, type Share, steadyEnvironment, testRegistry } from './harness'
import { echo, renderWebSocket, wsServer, wsUrl } from './ws-harness'

setupHarness()

const reactMajor = Number(version.split('.')[0])

/**
 * Engine options for a test that controls time: hand-cranked timers, a fixed jitter draw
 * (0.5) and a 100 ms base delay, so the first retry waits exactly 50 ms and the second 100.
 * The registry lingers 0 ms (real timers): StrictMode's remount comes first anyway.
 */
function controlled(share: Share) {
  const timers = manualTimers()
  return {
    timers,
    options: { registry: testRegistry(), share, environment: steadyEnvironment, timers, random: () => 0.5, initialDelay: 100 },
  }
}

describe.each(SHARE_MODES)('useWebSocket: a normal socket ($label)', ({ share }) => {
  it('echo: idle → connecting → open; a send before open is queued, after open sent; data and onMessage get the echoes', async () => {
    const url = wsUrl('echo')
    const srv = wsServer(url, echo)
    const onMessage = vi.fn<(message: RealtimeMessage<string>) => void>()
    const { result, statuses } = renderWebSocket(url, { ...controlled(share).options, onMessage })

    expect(result.current.status).toBe('connecting')
    expect(result.current.send('early')).toBe('queued')
    await waitFor(() => expect(result.current.data).toBe('echo: early'))
    expect(result.current.status).toBe('open')
    expect(result.current.send('hello')).toBe('sent')
    await waitFor(() => expect(result.current.data).toBe('echo: hello'))

    expect(onMessage.mock.calls.map(([m]) => m)).toEqual([
      { data: 'echo: early', event: 'message', id: undefined, raw: 'echo: early' },
      { data: 'echo: hello', event: 'message', id: undefined, raw: 'echo: hello' },
    ])
    expect(result.current).toMatchObject({ status: 'open', error: null, attempt: 0 })
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
    expect(srv.connections).toHaveLength(1)
    expect(srv.connection(0).received).toEqual(['early', 'hello'])
  })

  it('sends objects as JSON and decodes JSON with json: true', async () => {
    const url = wsUrl('json')
    const srv = wsServer(url)
    const { result } = renderWebSocket<{ n: number }, { n: number }>(url, { ...controlled(share).options, json: true })
    await waitFor(() => expect(result.current.status).toBe('open'))
    srv.connection(0).client.send('{"n":7}')
    await waitFor(() => expect(result.current.data).toEqual({ n: 7 }))
    expect(result.current.send({ n: 8 })).toBe('sent')
    await waitFor(() => expect(srv.connection(0).received).toEqual(['{"n":8}']))
  })

  it('passes protocols to the server', async () => {
    const url = wsUrl('protocols')
    const srv = wsServer(url)
    const { result } = renderWebSocket(url, { ...controlled(share).options, protocols: ['chat.v2', 'chat.v1'] })
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(srv.connection(0).protocols).toEqual(['chat.v2', 'chat.v1'])
  })
})

describe.each(SHARE_MODES)('useWebSocket: url as a function ($label)', ({ share }) => {
  it('a url function without a key is refused at once, naming the fix', () => {
    expect(() => renderWebSocket(async () => wsUrl('no-key'), { share })).toThrow(/needs a `key` option/)
    if (reactMajor < 19) {
      // React 18 logs an error thrown in render itself (19 rethrows it without logging):
      // that one line, and nothing else, is expected here.
      const consoleError = vi.mocked(console.error)
      expect(consoleError.mock.calls.map(([first]) => String(first).split('\n')[0])).toEqual(['The above error occurred in the <TestComponent> component:'])
      consoleError.mockClear()
    }
  })

  it('is called on every connect, the newest one (a rerender with a new inline function does not reconnect)', async () => {
    const url = wsUrl('url-fn')
    const srv = wsServer(url)
    const { timers, options: base } = controlled(share)
    // A url function cannot be told apart by identity: the stream is named by `key`.
    const options = { ...base, key: `url-fn ${url}` }
    const calls: string[] = []
    const urlFor = (token: string) => async () => {
      calls.push(token)
      return `${url}?token=${token}`
    }
    const { result, rerender } = renderWebSocket(urlFor('a'), options)
    await waitFor(() => expect(result.current.status).toBe('open'))
    rerender({ url: urlFor('b'), options })
    expect(result.current.status).toBe('open')
    srv.connection(0).client.close(1012, 'restart')
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    act(() => void timers.run(50))
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(calls).toEqual(['a', 'b'])
    expect(srv.connections.map((c) => c.url)).toEqual([`${url}?token=a`, `${url}?token=b`])
  })
})

describe.each(SHARE_MODES)('useWebSocket: the server closes the socket ($label)', ({ share }) => {
  const retried: [number, string][] = [
    [1000, 'normal'],
    [1001, 'going away'],
    [1006, 'abnormal'],
    [1011, 'server error'],
    [1012, 'restart'],
    [4000, 'app code'],
    [4429, 'slow down'],
  ]
  it.each(retried)('%i (%s): reconnecting with a network error, then open again after the backoff', async (code, reason) => {
    const url = wsUrl(`close-${code}`)
    const srv = wsServer(url)
    const onError = vi.fn<(error: RealtimeError) => void>()
    const { timers, options } = controlled(share)
    const { result, statuses } = renderWebSocket(url, { ...options, onError })
    await waitFor(() => expect(result.current.status).toBe('open'))

    srv.connection(0).client.close(code, reason)
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    expect(result.current.error).toMatchObject({ kind: 'network', status: code, message: `the socket closed (${code}: ${reason})` })
    expect(result.current.attempt).toBe(1)
    expect(onError.mock.calls.map(([e]) => e)).toEqual([result.current.error])
    expect(timers.delays()).toContain(50)
    expect(srv.connections).toHaveLength(1)

    act(() => void timers.run(50))
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(result.current.error).toBeNull()
    expect(srv.connections).toHaveLength(2)
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open'])
  })

  const final: [number, string, string][] = [
    [1008, 'policy violation', 'protocol'],
    [1002, 'protocol error', 'protocol'],
    [4401, 'unauthorized', 'auth'],
    [4403, 'forbidden', 'auth'],
    [4404, 'no such room', 'protocol'],
    [4422, 'bad subscription', 'protocol'],
  ]
  it.each(final)('%i (%s): closed with a final %s error, and no retry', async (code, reason, kind) => {
    const url = wsUrl(`close-${code}`)
    const srv = wsServer(url)
    const { timers, options } = controlled(share)
    const { result, statuses } = renderWebSocket(url, options)
    await waitFor(() => expect(result.current.status).toBe('open'))

    srv.connection(0).client.close(code, reason)
    await waitFor(() => expect(result.current.status).toBe('closed'))
    expect(result.current.error).toMatchObject({ kind, status: code, message: `the socket closed (${code}: ${reason})` })
    // Nothing is scheduled that could reconnect (only the wake tick is left).
    expect(timers.delays()).toEqual([10_000])
    act(() => void timers.runAll())
    expect(srv.connections).toHaveLength(1)
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'closed'])

    // reconnect() starts again after a final error.
    act(() => result.current.reconnect())
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(srv.connections).toHaveLength(2)
    expect(result.current.error).toBeNull()
  })

  it('close() from the hook stops the socket for good and returns what was still queued', async () => {
    const url = wsUrl('hook-close')
    const srv = wsServer(url)
    const { timers, options } = controlled(share)
    const { result, statuses } = renderWebSocket<string, { n: number }>(url, options)
    await waitFor(() => expect(result.current.status).toBe('open'))
    srv.connection(0).client.close(1011)
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    const a = { n: 1 }
    const b = { n: 2 }
    expect(result.current.send(a)).toBe('queued')
    expect(result.current.send(b)).toBe('queued')
    let left: { n: number }[] = []
    act(() => void (left = result.current.close()))
    expect(left).toEqual([a, b])
    expect(left[0]).toBe(a)
    await waitFor(() => expect(result.current.status).toBe('closed'))
    act(() => void timers.runAll())
    expect(srv.connections).toHaveLength(1)
    expect(srv.received()).toEqual([])
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'closed'])
  })
})

describe.each(SHARE_MODES)('useWebSocket: the send queue across a reconnect ($label)', ({ share }) => {
  it('sends what was queued while reconnecting in order, exactly once, after the onReopen messages, also past a failed attempt', async () => {
    const url = wsUrl('queue')
    // The second connection is refused before it opens (1013: try again later).
    const srv = wsServer(url, (connection, index) => {
      if (index === 1) connection.client.close(1013, 'busy')
      else connection.client.send(`{"seq":${index}}`)
    })
    const onReopen = vi.fn(({ lastMessage }: { lastMessage: { seq: number } | undefined; attempt: number }) => [
      { type: 'resume', after: lastMessage?.seq ?? null },
    ])
    const { timers, options } = controlled(share)
    const { result, statuses } = renderWebSocket<{ seq: number }, { type: string; [k: string]: unknown }>(url, { ...options, json: true, onReopen })
    await waitFor(() => expect(result.current.data).toEqual({ seq: 0 }))
    expect(result.current.send({ type: 'say', text: 'before' })).toBe('sent')

    srv.connection(0).client.close(1006)
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    const results = ['one', 'two', 'three'].map((text) => result.current.send({ type: 'say', text }))
    expect(results).toEqual(['queued', 'queued', 'queued'])

    act(() => void timers.run(50))
    await waitFor(() => expect(srv.connection(1).closedWith).toBe(1013))
    await waitFor(() => expect(result.current.attempt).toBe(2))
    expect(result.current.send({ type: 'say', text: 'four' })).toBe('queued')
    act(() => void timers.run(100))
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(result.current.send({ type: 'say', text: 'five' })).toBe('sent')
    await waitFor(() => expect(srv.connection(2).received).toHaveLength(6))

    const texts = (frames: unknown[]) => frames.map((f) => JSON.parse(f as string) as { type: string; text?: string; after?: number })
    expect(texts(srv.connection(0).received)).toEqual([{ type: 'say', text: 'before' }])
    expect(srv.connection(1).received).toEqual([])
    expect(texts(srv.connection(2).received)).toEqual([
      { type: 'resume', after: 0 },
      { type: 'say', text: 'one' },
      { type: 'say', text: 'two' },
      { type: 'say', text: 'three' },
      { type: 'say', text: 'four' },
      { type: 'say', text: 'five' },
    ])
    expect(onReopen.mock.calls.map(([info]) => info)).toEqual([{ lastMessage: { seq: 0 }, attempt: 2 }])
    expect(statuses()).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open'])
  })
})

describe.each(SHARE_MODES)('useWebSocket: a full queue ($label)', ({ share }) => {
  it("a send beyond maxQueued is 'rejected' and shows as an overflow error (onError and the rendered error)", async () => {
    const url = wsUrl('overflow')
    const srv = wsServer(url)
    const onError = vi.fn<(error: RealtimeError) => void>()
    const { timers, options } = controlled(share)
    const { result } = renderWebSocket<string, string>(url, { ...options, maxQueued: 2, onError })
    await waitFor(() => expect(result.current.status).toBe('open'))
    srv.connection(0).client.close(1006)
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    expect(['a', 'b', 'c'].map((m) => result.current.send(m))).toEqual(['queued', 'queued', 'rejected'])
    expect(onError.mock.calls.map(([e]) => e.kind)).toEqual(['network', 'overflow'])
    await waitFor(() => expect(result.current.error?.kind).toBe('overflow'))
    expect(result.current.error?.message).toBe('the send queue is full (2); the message was not queued')
    act(() => void timers.run(50))
    await waitFor(() => expect(srv.connection(1).received).toEqual(['a', 'b']))
    expect(result.current).toMatchObject({ status: 'open', error: null })
  })
})

describe.each(SHARE_MODES)('useWebSocket: bad messages ($label)', ({ share }) => {
  it('invalid JSON is a parse error carrying the raw text; the socket stays up and the next good message clears it', async () => {
    const url = wsUrl('bad-json')
    const srv = wsServer(url, ({ client }) => client.send('{"n":1}'))
    const onMessage = vi.fn<(message: RealtimeMessage<{ n: number }>) => void>()
    const onError = vi.fn<(error: RealtimeError) => void>()
    const { result, statuses } = renderWebSocket<{ n: number }>(url, { ...controlled(share).options, json: true, onMessage, onError })
    await waitFor(() => expect(result.current.data).toEqual({ n: 1 }))

    srv.connection(0).client.send('{oops')
    await waitFor(() => expect(result.current.error?.kind).toBe('parse'))
    expect(result.current.error?.raw).toBe('{oops')
    expect(result.current).toMatchObject({ status: 'open', data: { n: 1 } })
    expect(onError.mock.calls.map(([e]) => e)).toEqual([result.current.error])

    srv.connection(0).client.send('{"n":2}')
    await waitFor(() => expect(result.current.data).toEqual({ n: 2 }))
    expect(result.current.error).toBeNull()
    expect(result.current.send('still up')).toBe('sent')
    await waitFor(() => expect(srv.connection(0).received).toEqual(['still up']))
    expect(srv.connection(0).closedWith).toBeNull()
    expect(srv.connections).toHaveLength(1)
    expect(onMessage.mock.calls.map(([m]) => m.data)).toEqual([{ n: 1 }, { n: 2 }])
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
  })
})

describe.each(SHARE_MODES)('useWebSocket: heartbeat ($label)', ({ share }) => {
  // Liveness timing is tested with fake timers in test/core/web-socket.test.ts; here, what a
  // component sees of a heartbeat: nothing.
  it('pings on the interval; pongs never reach onMessage, data or a render', async () => {
    const url = wsUrl('heartbeat')
    const srv = wsServer(url, ({ client }) =>
      client.addEventListener('message', (event) => client.send(event.data === 'ping' ? 'pong' : `echo: ${String(event.data)}`)),
    )
    const onMessage = vi.fn<(message: RealtimeMessage<string>) => void>()
    const { timers, options } = controlled(share)
    const { result, renders } = renderWebSocket(url, { ...options, onMessage, heartbeat: { interval: 1000, timeout: 3000 } })
    await waitFor(() => expect(result.current.status).toBe('open'))
    const rendered = renders.length
    for (let i = 1; i <= 3; i++) {
      act(() => void timers.run(1000))
      await waitFor(() => expect(srv.connection(0).received).toEqual(Array(i).fill('ping')))
    }
    // Frames arrive in order: once the echo of a later send is here, every pong is too.
    result.current.send('marker')
    await waitFor(() => expect(result.current.data).toBe('echo: marker'))
    expect(renders.length).toBe(rendered + 1) // the marker's data, nothing for the pongs
    expect(onMessage.mock.calls.map(([m]) => m.data)).toEqual(['echo: marker'])
    expect(result.current).toMatchObject({ status: 'open', error: null })
    expect(srv.connections).toHaveLength(1)
  })
})

describe.each(SHARE_MODES)('useWebSocket: one socket per stream ($label)', ({ share }) => {
  it('StrictMode double render and double effects open exactly one socket', async () => {
    const url = wsUrl('strict')
    const srv = wsServer(url, echo)
    const lingerTimers = manualTimers()
    const registry = testRegistry({ linger: 1000, timers: lingerTimers })
    const { result, statuses } = renderWebSocket(url, { registry, share, environment: steadyEnvironment }, { wrapper: StrictMode })
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(result.current.send('once')).toBe('sent')
    await waitFor(() => expect(result.current.data).toBe('echo: once'))
    // The simulated unmount started a linger and the remount cancelled it.
    expect(lingerTimers.delays()).toEqual([])
    expect(srv.connections).toHaveLength(1)
    expect(srv.connection(0).received).toEqual(['once'])
    expect(srv.connection(0).closedWith).toBeNull()
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
  })

  it('two components on the same url share one socket; each gets every message; a send goes out once', async () => {
    const url = wsUrl('two')
    const srv = wsServer(url, echo)
    const { options } = controlled(share)
    const seen: Record<'a' | 'b', string[]> = { a: [], b: [] }
    const sends: Partial<Record<'a' | 'b', UseWebSocketResult<string, string>['send']>> = {}
    function Probe({ name }: { name: 'a' | 'b' }) {
      const state = useWebSocket<string, string>(url, { ...options, onMessage: (m) => void seen[name].push(m.data) })
      sends[name] = state.send
      return (
        <p data-testid={name} data-state={state.status}>
          {state.data ?? ''}
        </p>
      )
    }
    const view = render(
      <>
        <Probe name="a" />
        <Probe name="b" />
      </>,
    )
    await waitFor(() => expect(view.getByTestId('b').dataset.state).toBe('open'))
    expect(sends.a!('from a')).toBe('sent')
    await waitFor(() => expect(view.getByTestId('b').textContent).toBe('echo: from a'))
    expect(view.getByTestId('a').textContent).toBe('echo: from a')
    expect(seen).toEqual({ a: ['echo: from a'], b: ['echo: from a'] })
    expect(srv.connections).toHaveLength(1)
    expect(srv.connection(0).received).toEqual(['from a'])
  })

  it('new inline options and callbacks on every render never reconnect; the newest callbacks are used', async () => {
    const url = wsUrl('inline')
    const srv = wsServer(url, echo)
    const { options } = controlled(share)
    const log: string[] = []
    const make = (tag: string): UseWebSocketOptions<string, string> => ({
      ...options,
      protocols: ['v1'],
      heartbeat: undefined,
      onMessage: (m) => void log.push(`${tag} got ${m.data}`),
      serialize: (message) => `${tag}:${message}`,
      shouldReconnect: () => true,
      onReopen: () => [],
    })
    const { result, rerender, renders } = renderWebSocket<string, string>(url, make('first'))
    await waitFor(() => expect(result.current.status).toBe('open'))
    rerender({ url, options: make('second') })
    rerender({ url, options: make('third') })
    expect(result.current.send('hi')).toBe('sent')
    await waitFor(() => expect(log).toEqual(['third got echo: third:hi']))
    expect(srv.connections).toHaveLength(1)
    expect(srv.connection(0).closedWith).toBeNull()
    expect(renders.every((r) => r.status !== 'reconnecting')).toBe(true)
  })

  it('enabled: true (the default) and no enabled share one socket', async () => {
    const url = wsUrl('enabled-key')
    const srv = wsServer(url)
    const { options } = controlled(share)
    const implicit = renderWebSocket(url, options)
    const explicit = renderWebSocket(url, { ...options, enabled: true })
    await waitFor(() => expect(explicit.result.current.status).toBe('open'))
    expect(implicit.result.current.status).toBe('open')
    expect(srv.connections).toHaveLength(1)
  })

  it('send, close and reconnect keep their identity across renders and status changes', async () => {
    const url = wsUrl('identity')
    const srv = wsServer(url, echo)
    const { timers, options } = controlled(share)
    const { result, rerender, renders } = renderWebSocket(url, options)
    await waitFor(() => expect(result.current.status).toBe('open'))
    result.current.send('x')
    await waitFor(() => expect(result.current.data).toBe('echo: x'))
    srv.connection(0).client.close(1011)
    await waitFor(() => expect(result.current.status).toBe('reconnecting'))
    act(() => void timers.run(50))
    await waitFor(() => expect(result.current.status).toBe('open'))
    rerender({ url, options: { ...options } })
    expect(renders.length).toBeGreaterThanOrEqual(6)
    expect(new Set(renders.map((r) => r.send)).size).toBe(1)
    expect(new Set(renders.map((r) => r.close)).size).toBe(1)
    expect(new Set(renders.map((r) => r.reconnect)).size).toBe(1)
  })

  it("a send from a child's mount effect, before the parent subscribed, is not lost", async () => {
    const url = wsUrl('child-send')
    const srv = wsServer(url)
    const lingerTimers = manualTimers()
    const registry = testRegistry({ linger: 1000, timers: lingerTimers })
    const results: SendResult[] = []
    const existedBefore: boolean[] = []
    let parentStatus = ''
    function Child({ send }: { send: (message: string) => SendResult }) {
      useEffect(() => {
        // The registry's own count: a peek by key would depend on how slots are named.
        existedBefore.push(registry.created.length > 0)
        results.push(send('hello from the child'))
      }, [send])
      return null
    }
    function Parent() {
      const socket = useWebSocket<string, string>(url, { registry, share, environment: steadyEnvironment })
      parentStatus = socket.status
      return <Child send={socket.send} />
    }
    render(<Parent />)
    expect(existedBefore).toEqual([false]) // nobody had subscribed: the send started the stream
    expect(registry.created).toHaveLength(1)
    expect(results).toEqual(['queued'])
    // The child's send took the stream for a moment; the parent's subscription kept it.
    expect(lingerTimers.delays()).toEqual([])
    act(() => void lingerTimers.runAll())
    await waitFor(() => expect(srv.received()).toEqual(['hello from the child']))
    await waitFor(() => expect(parentStatus).toBe('open'))
    expect(srv.connections).toHaveLength(1)
  })
})

describe.each(SHARE_MODES)('useWebSocket: no url ($label)', ({ share }) => {
  it("url null: idle, no socket, send is 'rejected' and close returns []", async () => {
    const url = wsUrl('null')
    const srv = wsServer(url)
    const onError = vi.fn()
    const { result, rerender, statuses } = renderWebSocket<string, string>(null, { ...controlled(share).options, onError })
    expect(result.current).toMatchObject({ status: 'idle', data: undefined, error: null, attempt: 0 })
    expect(result.current.send('nowhere')).toBe('rejected')
    expect(result.current.close()).toEqual([])
    act(() => result.current.reconnect())
    expect(result.current.status).toBe('idle')
    expect(srv.connections).toHaveLength(0)
    expect(onError).not.toHaveBeenCalled()

    // A url later connects; the earlier rejected send is not sent then.
    rerender({ url, options: { ...controlled(share).options } })
    await waitFor(() => expect(result.current.status).toBe('open'))
    expect(srv.connections).toHaveLength(1)
    expect(srv.received()).toEqual([])
    expect(statuses()).toEqual(['idle', 'connecting', 'open'])
  })

  it("enabled: false is the same as no url: 'rejected', no socket", () => {
    const url = wsUrl('disabled')
    const srv = wsServer(url)
    const { result } = renderWebSocket<string, string>(url, { ...controlled(share).options, enabled: false })
    expect(result.current.status).toBe('idle')
    expect(result.current.send('nowhere')).toBe('rejected')
    expect(srv.connections).toHaveLength(0)
  })
})

describe.each(SHARE_MODES)('useWebSocket: callbacks read at call time ($label)', ({ share }) => {
  it('onAuthError: the newest callback answers a 4401', async () => {
    const url = wsUrl('auth-latest')
    const srv = wsServer(url)
    const { options } = controlled(share)
    const first = vi.fn(async () => false)
    const newest = vi.fn(async () => true)
    const { result, rerender } = renderWebSocket(url, { ...options, onAuthError: first })
    await waitFor(() => expect(result.current.status).toBe('open'))
    rerender({ url, options: { ...options, onAuthError: newest } })
    srv.connection(0).client.close(4401, 'token expired')
    await waitFor(() => expect(first.mock.calls.length + newest.mock.calls.length).toBe(1))
    expect(first).not.toHaveBeenCalled()
    expect(newest).toHaveBeenCalledTimes(1)
  })
})

/**
 * Issue 9, item 1: a socket read `serialize` and `onAuthError` (and `onReopen`, a url
 * function) through the refs of the component that created its registry entry, which follow
 * that component to another stream and outlive its unmount. These fail on the code before
 * the adapter rebuild.
 */
describe.each(SHARE_MODES)('useWebSocket: the callbacks of a component that left are not used (issue 9, item 1) ($label)', ({ share }) => {
  const departures = ['unmounts', 'moves to another socket'] as const

  /** Two components on one socket, `creator` rendered first (it creates the registry entry). */
  function twoHolders(
    departure: (typeof departures)[number],
    creatorOptions: UseWebSocketOptions<string, string>,
    remainingOptions: UseWebSocketOptions<string, string>,
  ) {
    const url = wsUrl('holders')
    const elsewhere = wsUrl('elsewhere')
    const srv = wsServer(url)
    wsServer(elsewhere)
    const { timers, options: base } = controlled(share)
    const creator = renderWebSocket<string, string>(url, { ...base, ...creatorOptions })
    const remaining = renderWebSocket<string, string>(url, { ...base, ...remainingOptions })
    return {
      srv,
      timers,
      remaining,
      leave() {
        if (departure === 'unmounts') creator.unmount()
        else creator.rerender({ url: elsewhere, options: { ...base, ...creatorOptions } })
      },
    }
  }

  it.each(departures)('serialize: once the creator %s, a send is written by the remaining component’s serialize', async (departure) => {
    const { srv, remaining, leave } = twoHolders(departure, { serialize: (m) => `creator wrote ${m}` }, { serialize: (m) => `remaining wrote ${m}` })
    await waitFor(() => expect(remaining.result.current.status).toBe('open'))
    leave()
    expect(remaining.result.current.send('hi')).toBe('sent')
    await waitFor(() => expect(srv.connection(0).received).toHaveLength(1))
    expect(srv.connection(0).received).toEqual(['remaining wrote hi'])
  })

  it.each(departures)('onAuthError: once the creator %s, a 4401 asks the remaining component', async (departure) => {
    const creatorAuth = vi.fn(async () => true)
    const remainingAuth = vi.fn(async () => true)
    const { srv, remaining, leave } = twoHolders(departure, { onAuthError: creatorAuth }, { onAuthError: remainingAuth })
    await waitFor(() => expect(remaining.result.current.status).toBe('open'))
    leave()
    srv.connection(0).client.close(4401, 'token expired')
    await waitFor(() => expect(creatorAuth.mock.calls.length + remainingAuth.mock.calls.length).toBe(1))
    expect(creatorAuth).not.toHaveBeenCalled()
    expect(remainingAuth).toHaveBeenCalledTimes(1)
  })
})
