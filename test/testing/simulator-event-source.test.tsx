/**
 * The multi-tab simulator with an app's unchanged useEventSource components: the cross-tab
 * scenarios test/browser/tabs.test.tsx and test/e2e/tabs.test.ts run in real Chromium,
 * reproduced in jsdom over the library's real `shareAcrossTabs`, with the same results.
 */
import { act, render, waitFor } from '@testing-library/react'
import { useState } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { useEventSource } from '../../src/react/use-event-source'
import { uniqueUrl } from '../react/harness'
import { ids, logStream, setupSimulatorHarness } from './simulator-harness'

const harness = setupSimulatorHarness()

/** An app's feed, as it would be written: every event in a list, the latest in a status line. */
function Feed({ url }: { url: string }) {
  const [seen, setSeen] = useState<string[]>([])
  const { status, data } = useEventSource(url, { onMessage: (m) => setSeen((s) => [...s, m.id!]) })
  return (
    <section>
      <p role="status" data-state={status}>
        {data ?? 'waiting'}
      </p>
      <ol>
        {seen.map((id, i) => (
          <li key={i}>{id}</li>
        ))}
      </ol>
    </section>
  )
}

function renderIn(tab: { wrapper: (p: { children?: React.ReactNode }) => React.ReactNode }, url: string) {
  const view = render(<Feed url={url} />, { wrapper: tab.wrapper })
  return {
    ...view,
    shown: () => view.container.querySelectorAll('li').length && [...view.container.querySelectorAll('li')].map((li) => li.textContent!),
    status: () => view.container.querySelector('[role=status]'),
  }
}

describe('the leader tab goes away mid-stream', () => {
  it.each(['close', 'crash'] as const)('%s: another tab takes over, resumes after the last id the tabs saw: 0 lost, 0 duplicated', async (how) => {
    const url = uniqueUrl(`leader-${how}`)
    const stream = logStream(url)
    const tabs = harness.tabs(3)
    const views = tabs.map((tab) => renderIn(tab, url))
    await waitFor(() => expect(views.map((v) => v.status()?.getAttribute('data-state'))).toEqual(['open', 'open', 'open']))
    expect(await tabs.leader()).toBe(tabs[0])
    stream.publish(1, 2, 3, 4, 5)
    await waitFor(() => expect(views.map((v) => v.shown())).toEqual([ids(1, 5), ids(1, 5), ids(1, 5)]))

    // Mid-stream: these reach the leader's socket as it goes; what it relayed of them is
    // not known.
    stream.publish(6, 7)
    const requests = tabs.slice(1).map((tab) => vi.spyOn(tab.locks, 'request'))
    act(() => tabs[0]![how]())
    await waitFor(() => expect(stream.connections).toHaveLength(2))
    expect(stream.connection(0).clientAborted).toBe(true)
    expect(ids(5, 7)).toContain(stream.connection(1).lastEventId)
    stream.publish(8, 9, 10)

    const survivors = views.slice(1)
    await waitFor(() => expect(survivors.map((v) => v.shown())).toEqual([ids(1, 10), ids(1, 10)]))
    await waitFor(() => expect(survivors.map((v) => v.status()?.textContent)).toEqual(['event 10', 'event 10']))
    expect(await tabs.leader()).toBe(tabs[1])
    // Handed over with the lock the gone tab let go of, not stolen after a heartbeat timeout.
    expect(requests.flatMap((spy) => spy.mock.calls).filter((call) => (call[1] as LockOptions).steal)).toEqual([])
    // The gone tab shows nothing, as a closed tab does.
    expect(views[0]!.container.innerHTML).toBe('')
    expect(stream.connections).toHaveLength(2)
  })

  it('20 leader changes in a row (each leader closes as a new tab opens): 0 lost, 0 repeated in every tab, one connection at a time', async () => {
    const url = uniqueUrl('twenty')
    const stream = logStream(url)
    const tabs = harness.tabs(4)
    const views = new Map(tabs.map((tab) => [tab, renderIn(tab, url)]))
    await waitFor(() => expect([...views.values()].map((v) => v.status()?.getAttribute('data-state'))).toEqual(['open', 'open', 'open', 'open']))
    let next = 1
    for (let change = 1; change <= 20; change++) {
      stream.publish(next++, next++)
      const leader = (await tabs.leader())!
      // The tab about to go lived through the changes before: its record is exact too.
      const record = views.get(leader)!.shown() || []
      if (record.length) expect(record).toEqual(ids(Number(record[0]), Number(record.at(-1))))
      act(() => leader.close())
      const tab = tabs.open()
      views.set(tab, renderIn(tab, url))
      await waitFor(() => expect(stream.connections).toHaveLength(change + 1))
    }
    stream.publish(next++)
    const last = String(next - 1)
    const live = tabs.live().map((tab) => views.get(tab)!)
    await waitFor(() => expect(live.map((v) => v.status()?.textContent)).toEqual(live.map(() => `event ${last}`)))
    for (const view of live) {
      const shown = view.shown() as string[]
      // Each tab from its first event on: every id once, in order.
      expect(shown).toEqual(ids(Number(shown[0]), next - 1))
    }
    expect(stream.connections.filter((c) => !c.clientAborted)).toHaveLength(1)
  })
})

describe('a late tab', () => {
  it('gets the current state and data at once, from the leader, without a connection of its own or an onMessage for the past', async () => {
    const url = uniqueUrl('late')
    const stream = logStream(url)
    const tabs = harness.tabs(2)
    const views = tabs.map((tab) => renderIn(tab, url))
    stream.publish(1, 2, 3)
    await waitFor(() => expect(views.map((v) => v.status()?.textContent)).toEqual(['event 3', 'event 3']))

    const late = renderIn(tabs.open(), url)
    await waitFor(() => expect(late.status()).toHaveProperty('textContent', 'event 3'))
    expect(late.status()?.getAttribute('data-state')).toBe('open')
    expect(late.shown()).toBe(0)
    expect(stream.connections).toHaveLength(1)
    stream.publish(4)
    await waitFor(() => expect(late.shown()).toEqual(['4']))
    expect(views.map((v) => v.shown())).toEqual([ids(1, 4), ids(1, 4)])
  })
})

describe('the page lifecycle', () => {
  it('a frozen leader steps down at once and a follower leads; thawed, it catches up through the new leader, repeating nothing', async () => {
    const url = uniqueUrl('freeze')
    const stream = logStream(url)
    const tabs = harness.tabs(2)
    const views = tabs.map((tab) => renderIn(tab, url))
    stream.publish(1, 2)
    await waitFor(() => expect(views.map((v) => v.shown())).toEqual([ids(1, 2), ids(1, 2)]))
    act(() => tabs[0]!.freeze())
    await waitFor(() => expect(stream.connections).toHaveLength(2))
    expect(await tabs.leader()).toBe(tabs[1])
    stream.publish(3, 4)
    await waitFor(() => expect(views[1]!.shown()).toEqual(ids(1, 4)))
    act(() => tabs[0]!.resume())
    await waitFor(() => expect(views[0]!.shown()).toEqual(ids(1, 4)))
    expect(stream.connections.filter((c) => !c.clientAborted)).toHaveLength(1)
  })

  it('a leader going into the back/forward cache lets go of its lock and channel first (else a browser would not cache it), and follows when it comes back', async () => {
    const url = uniqueUrl('bfcache')
    const stream = logStream(url)
    const tabs = harness.tabs(2)
    const views = tabs.map((tab) => renderIn(tab, url))
    stream.publish(1)
    await waitFor(() => expect(views.map((v) => v.shown())).toEqual([['1'], ['1']]))
    let blockers: Promise<string[]> | undefined
    act(() => void (blockers = tabs[0]!.pagehide()))
    expect(await blockers).toEqual([])
    await waitFor(() => expect(stream.connections).toHaveLength(2))
    stream.publish(2)
    act(() => tabs[0]!.pageshow())
    await waitFor(() => expect(views.map((v) => v.shown())).toEqual([ids(1, 2), ids(1, 2)]))
    expect(await tabs.leader()).toBe(tabs[1])
  })
})
