import { useEffect, useState } from 'react'
import { expect, waitFor, within } from 'storybook/test'
import { useEventSource } from '../src/index'
import { createTabs, type MockSse, mockSseHandler, type SimulatedTab } from '../src/testing/index'
import preview from '../.storybook/preview'
import { panel, type Quote, quote, StreamReport, useDelivery, useFeed } from './support/quotes'
import { cell, intact, num } from './support/report'
import { mockUrl, storyMock } from './support/story-mock'

const feed = storyMock(() => mockSseHandler(mockUrl('leader-change/quotes'), { retry: 100 }))
const url = mockUrl('leader-change/quotes')

function TabView({ tab }: { tab: SimulatedTab }) {
  const { delivery, onQuote } = useDelivery()
  const stream = useEventSource<Quote>(url, { events: ['quote'], json: true, initialDelay: 100, onMessage: (m) => onQuote(m.data) })
  return <StreamReport rows={{ status: stream.status, received: delivery.received, 'last seq': delivery.lastSeq, gaps: delivery.gaps, repeats: delivery.repeats, tab: tab.id }} />
}

/** Simulated tabs side by side (tabwire/testing's `createTabs`): one connection, its leader closes, another takes over. */
function Tabs({ mock, count, rate }: { mock: MockSse; count: number; rate: number }) {
  const [tabs] = useState(() => createTabs(count))
  const [leader, setLeader] = useState<SimulatedTab>()
  useEffect(() => () => tabs.closeAll(), [tabs])
  useEffect(() => {
    let alive = true
    const timer = setInterval(() => void tabs.leader().then((t) => alive && setLeader(t)), 100)
    return () => {
      alive = false
      clearInterval(timer)
    }
  }, [tabs])
  const seq = useState(() => ({ n: 0 }))[0]
  useFeed(rate, () => mock.append(quote(++seq.n), 'quote'))
  return (
    <div style={{ ...panel, maxWidth: 'none' }}>
      <p>
        Leader: <strong data-testid="leader">{leader?.id ?? 'none'}</strong>
      </p>
      <button type="button" disabled={!leader} onClick={() => leader?.close()}>
        Close the leader tab
      </button>
      <div style={{ display: 'grid', gridTemplateColumns: `repeat(${count}, 1fr)`, gap: 16 }}>
        {tabs.map((tab) => {
          const Wrapper = tab.wrapper
          return (
            <section key={tab.id} aria-label={tab.id} style={{ border: '1px solid #888', padding: 8 }}>
              <h2 style={{ fontSize: 16, margin: '0 0 8px' }}>{tab.id}</h2>
              <Wrapper>
                <TabView tab={tab} />
              </Wrapper>
            </section>
          )
        })}
      </div>
    </div>
  )
}

const meta = preview.meta({
  title: 'Scenarios/Leader change',
  beforeEach: feed.beforeEach,
  render: (args: { count: number; rate: number }, context) => <Tabs {...args} mock={feed.of(context)} />,
  args: { count: 3, rate: 5 },
  argTypes: { count: { control: { type: 'range', min: 2, max: 3 } }, rate: { control: { type: 'range', min: 0, max: 60 } } },
})
export default meta

/** Three tabs share one connection; close the leader and another tab resumes it: nothing lost, nothing twice. */
export const LeaderChange = meta.story({
  play: async ({ canvas, userEvent, context }) => {
    const mock = feed.of(context)
    const tab = (id: string) => within(canvas.getByRole('region', { name: id }))
    await waitFor(() => expect(['tab-1', 'tab-2', 'tab-3'].map((id) => num(tab(id), 'received') > 2)).toEqual([true, true, true]))
    expect(mock.connections).toHaveLength(1)
    await waitFor(() => expect(canvas.getByTestId('leader').textContent).toMatch(/^tab-\d$/))
    const leader = canvas.getByTestId('leader').textContent!
    await userEvent.click(canvas.getByRole('button', { name: 'Close the leader tab' }))
    await waitFor(() => expect(canvas.queryByRole('region', { name: leader })?.querySelector('dl')).toBeFalsy())
    await waitFor(() => expect(canvas.getByTestId('leader').textContent).not.toBe(leader))
    const survivors = ['tab-1', 'tab-2', 'tab-3'].filter((id) => id !== leader)
    const before = survivors.map((id) => num(tab(id), 'received'))
    await waitFor(() => expect(survivors.map((id, i) => num(tab(id), 'received') > before[i]! + 2)).toEqual([true, true]))
    for (const id of survivors) expect(intact(tab(id))).toEqual(['open', '0', '0'])
    // Both followers of the new leader show the same quotes (a moment apart).
    await waitFor(() => expect(cell(tab(survivors[0]!), 'last seq')).toBe(cell(tab(survivors[1]!), 'last seq')))
    expect(mock.connections).toHaveLength(1)
  },
})
