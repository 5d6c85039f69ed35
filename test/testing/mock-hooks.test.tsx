/**
 * The mocks as an app's tests use them: the public hooks in jsdom with Testing Library,
 * default share mode (over a real lock manager and BroadcastChannel, so `share: 'tabs'` runs
 * shared, not its per-tab fallback), the default fetch and WebSocket (no test fetch, no
 * injected transport). Each test drives a fault and asserts what the hook did about it.
 */
import '../setup/browser-tabs'
import { act, cleanup, render, renderHook, waitFor } from '@testing-library/react'
import { setupServer } from 'msw/node'
import { createElement } from 'react'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRealtime } from '../../src/core/realtime/client'
import type { RealtimeClient } from '../../src/core/realtime/client-types'
import { createRegistry } from '../../src/core/registry'
import { RealtimeProvider } from '../../src/react/realtime-provider'
import { useEventSource } from '../../src/react/use-event-source'
import { useRealtime, type UseRealtimeResult } from '../../src/react/use-realtime'
import { useWebSocket } from '../../src/react/use-web-socket'
import { mockRealtimeHandler, mockSseHandler, mockWebSocketHandler } from '../../src/testing/mocks'

const server = setupServer()
const clients: RealtimeClient[] = []
/** `METHOD url` of every request MSW saw in the current test. */
const requested: string[] = []
server.events.on('request:start', ({ request }) => void requested.push(`${request.method} ${request.url}`))
let consoleError: ReturnType<typeof vi.spyOn>
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
beforeEach(() => void (consoleError = vi.spyOn(console, 'error')))
afterEach(() => {
  cleanup()
  requested.length = 0
  for (const client of clients.splice(0)) client.close()
  server.resetHandlers()
  const calls = consoleError.mock.calls
  consoleError.mockRestore()
  expect(calls, 'console.error was called').toEqual([])
})
afterAll(() => server.close())

let count = 0
const fresh = (scheme: string, name: string) => `${scheme}://localhost/${name}/${++count}`
/**
 * Hook options for a test: its own registry (made once, outside the component: a new one per
 * render would be a new connection per render), closed at unmount without linger, and
 * retries at once (the jitter draws 0; the SSE mocks send a retry hint of 1 ms).
 */
const quick = () => ({ registry: createRegistry({ linger: 0 }), initialDelay: 1, random: () => 0 })
const dedupe = <T,>(values: T[]) => values.filter((v, i) => i === 0 || v !== values[i - 1])

describe('mockSseHandler with useEventSource', () => {
  it('serves live events, resumes after drop() with Last-Event-ID (nothing lost), and retries through fail()', async () => {
    const url = fresh('http', 'quotes')
    const quotes = mockSseHandler(url, { retry: 1 })
    server.use(...quotes.handlers)
    quotes.append('before anyone listened')
    const seen: string[] = []
    const statuses: string[] = []
    const options = quick()
    const { result, unmount } = renderHook(() => {
      const state = useEventSource<string>(url, { ...options, onMessage: (m) => void seen.push(m.data) })
      statuses.push(state.status)
      return state
    })
    expect((await quotes.nextConnection()).lastEventId).toBeNull()
    await waitFor(() => expect(result.current.status).toBe('open'))
    const first = quotes.append('one')
    await waitFor(() => expect(result.current.data).toBe('one'))

    quotes.fail(503)
    act(() => quotes.drop())
    quotes.append('two')
    const resumed = await quotes.nextConnection()
    expect(resumed.lastEventId).toBe(first.id)
    await waitFor(() => expect(seen).toEqual(['one', 'two']))
    expect(dedupe(statuses)).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open'])
    // The first attempt after the drop got the 503, the second resumed.
    expect(requested.filter((r) => r === `GET ${url}`)).toHaveLength(3)
    unmount()
    await waitFor(() => expect(quotes.connections).toEqual([]))
  })

  it('reset() restarts the log: the hook resumes with an id of the old epoch and gets the reset event', async () => {
    const url = fresh('http', 'feed')
    const feed = mockSseHandler(url, { retry: 1 })
    server.use(...feed.handlers)
    const events: string[] = []
    const options = quick()
    renderHook(() => useEventSource<string>(url, { ...options, events: ['message', 'reset'], onMessage: (m) => void events.push(m.event) }))
    await feed.nextConnection()
    const old = feed.append('a')
    await waitFor(() => expect(events).toEqual(['message']))
    act(() => feed.reset())
    expect((await feed.nextConnection()).lastEventId).toBe(old.id)
    await waitFor(() => expect(events).toEqual(['message', 'reset']))
    feed.append('b')
    await waitFor(() => expect(events).toEqual(['message', 'reset', 'message']))
  })
})

describe('mockWebSocketHandler with useWebSocket', () => {
  it('awaits the subscribe the component sent, publishes to it, and serves the resubscribe after close(1012) from where it was', async () => {
    const url = fresh('ws', 'chat')
    const chat = mockWebSocketHandler(url)
    server.use(...chat.handlers)
    const events: unknown[] = []
    const options = quick()
    type Frame = { type: string; id?: string; data?: unknown }
    const { result } = renderHook(() =>
      useWebSocket<Frame, object>(url, {
        ...options,
        json: true,
        // The resume point an app keeps: the id of the last event frame.
        messageId: (raw) => (JSON.parse(String(raw)) as Frame).id,
        onReopen: ({ lastEventId }) => [{ type: 'subscribe', channel: 'room', ...(lastEventId ? { since: lastEventId } : {}) }],
        onMessage: (m) => void (m.data.type === 'event' && events.push(m.data.data)),
      }),
    )
    act(() => void result.current.send({ type: 'subscribe', channel: 'room' }))
    expect(await chat.nextSubscribe('room')).toEqual({ channel: 'room', since: undefined })
    const hi = chat.publish('room', { text: 'hi' })
    await waitFor(() => expect(events).toEqual([{ text: 'hi' }]))
    act(() => chat.close(1012))
    chat.publish('room', { text: 'while away' })
    expect(await chat.nextSubscribe('room')).toEqual({ channel: 'room', since: hi.id })
    await waitFor(() => expect(events).toEqual([{ text: 'hi' }, { text: 'while away' }]))
    expect(result.current.status).toBe('open')
  })
})

describe.each(['websocket', 'sse'] as const)('mockRealtimeHandler with useRealtime over %s', (transport) => {
  function renderChannel(url: string, channel: string) {
    const client = createRealtime({ url, transport, storage: null, initialDelay: 1, random: () => 0 })
    clients.push(client)
    const current = { value: undefined as unknown as UseRealtimeResult<unknown, unknown> }
    function Probe() {
      current.value = useRealtime<unknown, unknown>(channel)
      return null
    }
    render(createElement(RealtimeProvider, { client }, createElement(Probe)))
    return current
  }

  it('publish(channel, data) reaches the hook; after drop() it resubscribes with since and misses nothing', async () => {
    const url = fresh('http', 'rt')
    const realtime = mockRealtimeHandler(url)
    server.use(...realtime.handlers)
    const view = renderChannel(url, 'prices')
    expect(await realtime.nextSubscribe('prices')).toEqual({ channel: 'prices', since: undefined })
    const first = realtime.publish('prices', { ACME: 1 })
    await waitFor(() => expect(view.value.data).toEqual({ ACME: 1 }))
    expect(realtime.connections.map((c) => c.transport)).toEqual([transport])
    act(() => realtime.drop())
    realtime.publish('prices', { ACME: 2 })
    expect(await realtime.nextSubscribe('prices')).toEqual({ channel: 'prices', since: first.id })
    await waitFor(() => expect(view.value.data).toEqual({ ACME: 2 }))
  })

  it('a publish with ack from the hook is appended once and acknowledged with its entry id', async () => {
    const url = fresh('http', 'room')
    const realtime = mockRealtimeHandler(url)
    server.use(...realtime.handlers)
    const view = renderChannel(url, 'room')
    await realtime.nextSubscribe('room')
    await waitFor(() => expect(view.value.status).toBe('open'))
    const id = await act(() => view.value.publish({ text: 'hello' }, { ack: true }))
    expect((await realtime.nextPublish('room')).data).toEqual({ text: 'hello' })
    expect(id).toBe(realtime.log('room')!.head)
    await waitFor(() => expect(view.value.data).toEqual({ text: 'hello' }))
  })
})
