/**
 * The multi-tab simulator with an app's unchanged useRealtime component, over
 * mockRealtimeHandler, for both transports: three tabs share one connection (the leader's),
 * the leader tab closes or crashes mid-stream and another takes over, resuming from the
 * last id the tabs saw, so the others get every message exactly once, in order; a late tab
 * gets the channel's current data from the leader, without a connection or a subscribe of
 * its own. Everything comes from tabwire/testing: createTabs(n, { realtime }) gives each tab
 * its realtime client, and the tab's wrapper provides it.
 */
import { act, render, waitFor } from '@testing-library/react'
import { useState } from 'react'
import { describe, expect, it } from 'vitest'
import { useRealtime } from '../../src/react/use-realtime'
import { createMemoryLog, type CreateTabsOptions, type MockRealtime, mockRealtimeHandler, type SimulatedTab } from '../../src/testing/index'
import { server, setupKit } from './kit'

const kit = setupKit()

// One url for the file, as an app has one endpoint (the mock serves it as ws: and http:).
const URL = 'http://localhost/realtime'
const CHANNEL = 'prices'

/** An app's live list, as it would be written: every message in order, the latest in a status line. */
function Prices() {
  const [seen, setSeen] = useState<number[]>([])
  const { status, data } = useRealtime<{ n: number }>(CHANNEL, { onMessage: (m) => setSeen((s) => [...s, m.data.n]) })
  return (
    <section>
      <p role="status" data-state={status}>
        {data ? `n ${data.n}` : 'waiting'}
      </p>
      <ol>
        {seen.map((n, i) => (
          <li key={i}>{n}</li>
        ))}
      </ol>
    </section>
  )
}

function renderIn(tab: SimulatedTab) {
  const view = render(<Prices />, { wrapper: tab.wrapper })
  return {
    ...view,
    shown: () => [...view.container.querySelectorAll('li')].map((li) => Number(li.textContent)),
    status: () => view.container.querySelector('[role=status]'),
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const publish = (mock: MockRealtime, ...ns: number[]) => ns.map((n) => mock.publish(CHANNEL, { n }))
const subscribes = (mock: MockRealtime) => mock.received.filter((f) => (f as { type?: string }).type === 'subscribe').length

function setup(transport: 'websocket' | 'sse', count: number) {
  const mock = mockRealtimeHandler(URL, { channels: { [CHANNEL]: createMemoryLog() } })
  server.use(...mock.handlers)
  // storage: null, so no tab remembers a transport for the next test.
  const options: CreateTabsOptions = { realtime: { url: URL, transport, storage: null } }
  const tabs = kit.tabs(count, options)
  return { mock, tabs, views: tabs.map(renderIn) }
}

describe.each(['websocket', 'sse'] as const)('useRealtime in 3 simulated tabs over %s', (transport) => {
  it.each(['close', 'crash'] as const)('the leader tab %s mid-stream: still one connection, and the others get every message exactly once, in order', async (how) => {
    const { mock, tabs, views } = setup(transport, 3)
    expect(await mock.nextSubscribe(CHANNEL)).toMatchObject({ since: undefined })
    await waitFor(() => expect(views.map((v) => v.status()?.getAttribute('data-state'))).toEqual(['open', 'open', 'open']))
    // One connection at the mock for the three tabs, on the transport asked for.
    expect(mock.connections.map((c) => c.transport)).toEqual([transport])
    const leader = (await tabs.leader())!
    expect(leader).toBeDefined()

    publish(mock, 1, 2, 3, 4, 5)
    await waitFor(() => expect(views.map((v) => v.shown())).toEqual([range(1, 5), range(1, 5), range(1, 5)]))

    // Mid-stream: 6 and 7 are on their way to the leader's connection as the tab goes;
    // what it relayed of them is not known.
    publish(mock, 6, 7)
    act(() => leader[how]())
    // Another tab leads, and subscribes again from the last id the tabs saw.
    const again = await mock.nextSubscribe(CHANNEL)
    expect(again.since).toBeDefined()
    publish(mock, 8, 9, 10)

    const survivors = tabs.flatMap((tab, i) => (tab === leader ? [] : [views[i]!]))
    await waitFor(() => expect(survivors.map((v) => v.status()?.textContent)).toEqual(['n 10', 'n 10']))
    await waitFor(() => expect(survivors.map((v) => v.shown())).toEqual([range(1, 10), range(1, 10)]))
    const next = (await tabs.leader())!
    expect(next).not.toBe(leader)
    expect(tabs.live()).toContain(next)
    // The gone tab shows nothing, and its connection is gone: one at the mock again.
    expect(views[tabs.indexOf(leader)]!.container.innerHTML).toBe('')
    await waitFor(() => expect(mock.connections.map((c) => c.transport)).toEqual([transport]))
    expect(subscribes(mock)).toBe(2)
  })

  it('a late tab gets the channel’s current data from the leader: no connection, no subscribe, no onMessage for the past', async () => {
    const { mock, tabs, views } = setup(transport, 3)
    await mock.nextSubscribe(CHANNEL)
    publish(mock, 1, 2, 3)
    await waitFor(() => expect(views.map((v) => v.status()?.textContent)).toEqual(['n 3', 'n 3', 'n 3']))

    const late = renderIn(tabs.open())
    await waitFor(() => expect(late.status()?.textContent).toBe('n 3'))
    expect(late.status()?.getAttribute('data-state')).toBe('open')
    expect(late.shown()).toEqual([])
    expect(mock.connections).toHaveLength(1)
    expect(subscribes(mock)).toBe(1)
    publish(mock, 4)
    await waitFor(() => expect(late.shown()).toEqual([4]))
    await waitFor(() => expect(views.map((v) => v.shown())).toEqual([range(1, 4), range(1, 4), range(1, 4)]))
  })
})
