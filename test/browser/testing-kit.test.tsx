/**
 * tabwire/testing in real Chromium (Vitest browser mode): the MSW mocks behind MSW's service
 * worker (`setupWorker`) and `ws.link` (which patches the page's WebSocket), and the
 * multi-tab simulator, with the real hooks rendered by Testing Library, as an app's own
 * browser-mode tests would use them.
 */
import { act, cleanup, render, waitFor } from '@testing-library/react'
import { setupWorker } from 'msw/browser'
import { useState } from 'react'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRealtime } from '../../src/core/realtime/client'
import type { RealtimeClient } from '../../src/core/realtime/client-types'
import { createRegistry } from '../../src/core/registry'
import { RealtimeProvider } from '../../src/react/realtime-provider'
import { useEventSource, type UseEventSourceOptions } from '../../src/react/use-event-source'
import { useRealtime } from '../../src/react/use-realtime'
import { mockRealtimeHandler, mockSseHandler } from '../../src/testing/mocks'
import { createTabs, type SimulatedTabs } from '../../src/testing/simulator'

const worker = setupWorker()
const clients: RealtimeClient[] = []
let tabs: SimulatedTabs | undefined

// MSW reports a request or frame no handler matched with console.error (and answers 500):
// a test that caused one fails.
let consoleError: ReturnType<typeof vi.spyOn>
beforeAll(async () => {
  await worker.start({ onUnhandledFrame: 'error', quiet: true })
})
beforeEach(() => {
  // Reset before, not after, each test: every test has urls of its own, and a client closed
  // at cleanup still POSTs its unsubscribe over SSE, which the handlers of its test answer.
  worker.resetHandlers()
  consoleError = vi.spyOn(console, 'error')
})
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
  tabs?.closeAll()
  tabs = undefined
  cleanup()
  const calls = consoleError.mock.calls
  consoleError.mockRestore()
  expect(calls, 'console.error was called').toEqual([])
})
afterAll(() => void worker.stop())

let count = 0
/** A fresh url on the page's own origin: the worker answers it, nothing reaches the Vite server. */
const fresh = (name: string) => `${location.origin}/mock/${name}/${++count}-${Math.random().toString(36).slice(2)}`

/** An app's feed: every event id in a list, the latest data in a status line. */
function Feed({ url, options }: { url: string; options?: UseEventSourceOptions<string> }) {
  const [seen, setSeen] = useState<string[]>([])
  const { status, data } = useEventSource<string>(url, { ...options, onMessage: (m) => setSeen((s) => [...s, m.data]) })
  return (
    <section>
      <p role="status" data-state={status}>
        {data ?? 'waiting'}
      </p>
      <ol>
        {seen.map((d, i) => (
          <li key={i}>{d}</li>
        ))}
      </ol>
    </section>
  )
}
const shown = (container: HTMLElement) => [...container.querySelectorAll('li')].map((li) => li.textContent)
const state = (container: HTMLElement) => container.querySelector('[role=status]')?.getAttribute('data-state')

describe('mockSseHandler with useEventSource (through the MSW service worker)', () => {
  it('shows what is appended; after drop() it resumes with Last-Event-ID and loses nothing', async () => {
    const url = fresh('quotes')
    const quotes = mockSseHandler(url, { retry: 1 })
    worker.use(...quotes.handlers)
    // Options made once: a new registry per render would be a new connection per render.
    const options = { registry: createRegistry({ linger: 0 }), initialDelay: 1, random: () => 0 }
    const { container } = render(<Feed url={url} options={options} />)
    expect((await quotes.nextConnection()).lastEventId).toBeNull()
    await expect.poll(() => state(container)).toBe('open')
    const first = quotes.append('one')
    await expect.poll(() => shown(container)).toEqual(['one'])

    act(() => quotes.drop())
    quotes.append('two')
    const resumed = await quotes.nextConnection()
    expect(resumed.lastEventId).toBe(first.id)
    quotes.append('three')
    await expect.poll(() => shown(container)).toEqual(['one', 'two', 'three'])
    expect(state(container)).toBe('open')
    expect(quotes.connections).toHaveLength(1)
  })
})

describe.each(['websocket', 'sse'] as const)('mockRealtimeHandler with useRealtime over %s', (transport) => {
  function Price({ channel }: { channel: string }) {
    const { status, data } = useRealtime<{ ACME: number }, unknown>(channel)
    return (
      <p role="status" data-state={status}>
        {data ? `ACME ${data.ACME}` : 'waiting'}
      </p>
    )
  }

  it('publish(channel, data) is shown', async () => {
    const url = fresh(`rt-${transport}`)
    const realtime = mockRealtimeHandler(url)
    worker.use(...realtime.handlers)
    const client = createRealtime({ url, transport, storage: null, grace: 0, initialDelay: 1, random: () => 0 })
    clients.push(client)
    const { container, unmount } = render(
      <RealtimeProvider client={client}>
        <Price channel="prices" />
      </RealtimeProvider>,
    )
    expect(await realtime.nextSubscribe('prices')).toEqual({ channel: 'prices', since: undefined })
    realtime.publish('prices', { ACME: 42 })
    await expect.poll(() => container.textContent).toBe('ACME 42')
    expect(realtime.connections.map((c) => c.transport)).toEqual([transport])
    realtime.publish('prices', { ACME: 43 })
    await expect.poll(() => container.textContent).toBe('ACME 43')
    // Unmounted (no grace), the client unsubscribes (over SSE a POST): it lands while the handlers are in place.
    const gone = realtime.nextUnsubscribe('prices')
    unmount()
    expect(await gone).toEqual({ channel: 'prices' })
  })
})

describe('createTabs(2) in the real browser', () => {
  it('two tabs share one connection; the leader closes and the other keeps receiving, nothing lost', async () => {
    const url = fresh('tabs')
    const feed = mockSseHandler(url, { retry: 1 })
    worker.use(...feed.handlers)
    tabs = createTabs(2)
    const views = tabs.map((tab) => render(<Feed url={url} />, { wrapper: tab.wrapper }))
    await waitFor(() => expect(views.map((v) => state(v.container))).toEqual(['open', 'open']))
    feed.append('1')
    feed.append('2')
    await waitFor(() => expect(views.map((v) => shown(v.container))).toEqual([['1', '2'], ['1', '2']]))
    expect(feed.connections).toHaveLength(1)

    const leader = (await tabs.leader())!
    const other = tabs.find((tab) => tab !== leader)!
    const survivor = views[tabs.indexOf(other)]!
    act(() => leader.close())
    feed.append('3')
    // The survivor opens its own connection, resuming after the last id the tabs saw.
    await waitFor(() => expect(feed.connections.map((c) => c.lastEventId)).toEqual([expect.stringMatching(/./)]))
    feed.append('4')
    await waitFor(() => expect(shown(survivor.container)).toEqual(['1', '2', '3', '4']))
    expect(await tabs.leader()).toBe(other)
    expect(feed.connections).toHaveLength(1)
  })
})
