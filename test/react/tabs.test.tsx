/**
 * The hooks across tabs, in jsdom: each "tab" is a registry of its own (as each real tab
 * has), so tabs meet only through `navigator.locks` (Node's, granting in a later task like
 * a browser's) and BroadcastChannel, installed by test/setup/browser-tabs.ts. The same
 * scenarios in real Chromium are in test/browser/tabs.test.tsx and test/e2e.
 *
 * Leadership is decided by the order of the lock requests: a tab rendered first asks first
 * and leads. No test waits on a wall clock; a follower's liveness timeout (4 s of real
 * time) is far beyond what any of them takes.
 */
import { act, render, waitFor } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { useEventSource, type UseEventSourceOptions } from '../../src/react/use-event-source'
import { useWebSocket } from '../../src/react/use-web-socket'
import {
  dedupe,
  manualTimers,
  renderEventSource,
  requests,
  setupHarness,
  sseStream,
  steadyEnvironment,
  testFetch,
  testRegistry,
  uniqueUrl,
} from './harness'
import { echo, renderWebSocket, wsServer, wsUrl } from './ws-harness'

setupHarness()

/** A tab's engine options: its own registry (no linger: an unmount lets go at once). */
function tab() {
  const registry = testRegistry()
  return { registry, options: { registry, fetch: testFetch, environment: steadyEnvironment } }
}

/** Opens a tab with one component on `url`, recording the id of every message it gets. */
function openTab(url: string, extra: UseEventSourceOptions<string> = {}) {
  const seen: string[] = []
  const view = renderEventSource(url, { ...tab().options, ...extra, onMessage: (m) => void seen.push(m.id!) })
  return { ...view, seen }
}

/** How many locks this test file's tabs hold, and how many requests wait. */
async function lockCounts() {
  const { held = [], pending = [] } = await navigator.locks.query()
  return { held: held.length, pending: pending.length }
}

describe("the default share: 'tabs' across two tabs", () => {
  it('is really shared: the leader holds the stream’s lock and the follower waits for it', async () => {
    const url = uniqueUrl('lock')
    sseStream(url, ({ client }) => client.send({ id: '1', data: 'one' }))
    const leader = openTab(url)
    await waitFor(() => expect(leader.result.current.status).toBe('open'))
    await waitFor(async () => expect(await lockCounts()).toEqual({ held: 1, pending: 0 }))
    const follower = openTab(url)
    await waitFor(() => expect(follower.result.current.status).toBe('open'))
    await waitFor(async () => expect(await lockCounts()).toEqual({ held: 1, pending: 1 }))
    expect(requests).toHaveLength(1)
  })

  it('one connection for both tabs; the follower renders the leader’s messages and gets each new one once', async () => {
    const url = uniqueUrl('two-tabs')
    const stream = sseStream(url, ({ client }) => client.send({ id: '1', data: 'first' }))
    const leader = openTab(url)
    await waitFor(() => expect(leader.result.current.data).toBe('first'))

    const follower = openTab(url)
    // A late tab gets the current state and data at once, without an onMessage for the past.
    await waitFor(() => expect(follower.result.current).toMatchObject({ status: 'open', data: 'first' }))

    for (const id of ['2', '3']) stream.connection(0).client.send({ id, data: `event ${id}` })
    await waitFor(() => expect(follower.seen).toEqual(['2', '3']))
    await waitFor(() => expect(follower.result.current).toMatchObject({ data: 'event 3', lastEventId: '3' }))
    expect(leader.seen).toEqual(['1', '2', '3'])
    expect(leader.result.current.data).toBe('event 3')
    expect(follower.statuses()).toEqual(['idle', 'connecting', 'open'])
    expect(stream.connections).toHaveLength(1)
    expect(requests).toHaveLength(1)
  })

  it('when the leader’s component unmounts, the follower takes the lead and resumes after the last event: nothing lost, nothing twice', async () => {
    const url = uniqueUrl('take-over')
    const log = ['1', '2', '3', '4'].map((id) => ({ id, data: `event ${id}` }))
    // Replays the log after Last-Event-ID; the first connection has the first two only.
    const stream = sseStream(url, ({ client, lastEventId }, n) => {
      const from = lastEventId === null ? 0 : log.findIndex((e) => e.id === lastEventId) + 1
      for (const e of log.slice(from, n === 0 ? 2 : log.length)) client.send(e)
    })
    const leader = openTab(url)
    await waitFor(() => expect(leader.seen).toEqual(['1', '2']))
    const follower = openTab(url)
    await waitFor(() => expect(follower.result.current).toMatchObject({ status: 'open', data: 'event 2' }))

    leader.unmount()
    await waitFor(() => expect(stream.connections).toHaveLength(2))
    expect(stream.connection(0).clientAborted).toBe(true)
    expect(stream.connection(1).lastEventId).toBe('2')
    await waitFor(() => expect(follower.seen).toEqual(['3', '4']))
    await waitFor(() => expect(follower.result.current).toMatchObject({ status: 'open', data: 'event 4', lastEventId: '4' }))
    await waitFor(async () => expect(await lockCounts()).toEqual({ held: 1, pending: 0 }))
  })

  it('a third tab joining after a leader change follows the new leader', async () => {
    const url = uniqueUrl('third')
    const stream = sseStream(url, ({ client }, n) => client.send({ id: `${n + 1}`, data: `connection ${n + 1}` }))
    const first = openTab(url)
    await waitFor(() => expect(first.result.current.data).toBe('connection 1'))
    const second = openTab(url)
    await waitFor(() => expect(second.result.current.status).toBe('open'))
    first.unmount()
    await waitFor(() => expect(second.result.current.data).toBe('connection 2'))

    const third = openTab(url)
    await waitFor(() => expect(third.result.current).toMatchObject({ status: 'open', data: 'connection 2' }))
    stream.connection(1).client.send({ id: '3', data: 'for both' })
    await waitFor(() => expect(third.seen).toEqual(['3']))
    await waitFor(() => expect(second.seen).toEqual(['2', '3']))
    expect(stream.connections).toHaveLength(2)
  })

  it('each tab says its role; the follower counts down to the leader’s retry (whole sequences)', async () => {
    const url = uniqueUrl('retry-at')
    const stream = sseStream(url, ({ client }, n) => client.send({ id: `${n + 1}`, data: `connection ${n + 1}` }))
    const T = 1_800_000_000_000
    // The leader's engine on hand-cranked timers and a fixed clock: the first retry is 500 ms
    // after T (random 0.5 of 1000).
    const timers = manualTimers()
    const clock = { timers, now: () => T, random: () => 0.5 }
    const shown = (r: { status: string; role: string; retryAt: number | null }) =>
      `${r.status} ${r.role}${r.retryAt === null ? '' : ` +${r.retryAt - T}`}`
    const leader = openTab(url, clock)
    await waitFor(() => expect(leader.result.current.data).toBe('connection 1'))
    const follower = openTab(url, clock)
    await waitFor(() => expect(shown(follower.result.current)).toBe('open follower'))

    stream.connection(0).client.close()
    await waitFor(() => expect(shown(follower.result.current)).toBe('reconnecting follower +500'))
    act(() => void timers.run(500))
    await waitFor(() => expect(follower.result.current.data).toBe('connection 2'))
    expect(stream.connections).toHaveLength(2)
    expect(dedupe(leader.renders.map(shown))).toEqual(['idle solo', 'connecting solo', 'connecting leader', 'open leader', 'reconnecting leader +500', 'open leader'])
    // The follower first renders what it knows before it hears the leader.
    expect(dedupe(follower.renders.map(shown))).toEqual(['idle solo', 'connecting solo', 'open follower', 'reconnecting follower +500', 'open follower'])
  })

  it("share: 'tab' keeps a connection per tab", async () => {
    const url = uniqueUrl('per-tab')
    const stream = sseStream(url, ({ client }) => client.send({ data: 'hi' }))
    const tabs = [openTab(url, { share: 'tab' }), openTab(url, { share: 'tab' })]
    for (const t of tabs) await waitFor(() => expect(t.result.current.data).toBe('hi'))
    expect(stream.connections).toHaveLength(2)
    // None of this test's (the previous test's tabs let go of theirs in a task or two).
    await waitFor(async () => expect(await lockCounts()).toEqual({ held: 0, pending: 0 }))
  })

  it('useWebSocket: one socket for both tabs; a follower’s send goes out once, through the leader, and both get the echo; the follower leads when the leader leaves', async () => {
    const url = wsUrl('ws-tabs')
    const srv = wsServer(url, echo)
    const seen = { leader: [] as string[], follower: [] as string[] }
    const open = (name: keyof typeof seen) =>
      renderWebSocket<string, string>(url, { ...tab().options, onMessage: (m) => void seen[name].push(m.data) })
    const leader = open('leader')
    await waitFor(() => expect(leader.result.current.status).toBe('open'))
    const follower = open('follower')
    await waitFor(() => expect(follower.result.current.status).toBe('open'))

    expect(follower.result.current.send('from the follower')).toBe('queued')
    await waitFor(() => expect(follower.result.current.data).toBe('echo: from the follower'))
    expect(seen).toEqual({ leader: ['echo: from the follower'], follower: ['echo: from the follower'] })
    expect(srv.connections).toHaveLength(1)
    expect(srv.connection(0).received).toEqual(['from the follower'])

    leader.unmount()
    await waitFor(() => expect(srv.connections).toHaveLength(2))
    // Sent at once or queued until the new socket opens: either way it goes out once.
    expect(['sent', 'queued']).toContain(follower.result.current.send('as the leader'))
    await waitFor(() => expect(follower.result.current.data).toBe('echo: as the leader'))
    expect(srv.connection(1).received).toEqual(['as the leader'])
    expect(srv.connection(0).received).toEqual(['from the follower'])
    expect(follower.result.current.status).toBe('open')
    expect(srv.connection(0).closedWith).not.toBeNull()
  })
})

/**
 * Issue 9, item 1: the registry entry's connection was made with the refs of the component
 * that created it, which follow that component's later renders. These fail on the code
 * before the adapter rebuild: the tab opens the creator's new URL and relays it as the old
 * stream.
 */
describe('a stream is bound to its key, not to the component that created its entry (issue 9, item 1)', () => {
  it('useEventSource: the creator moved to stream B; when this tab takes the lead of A, it opens A and relays A’s events to the other tabs', async () => {
    const urlA = uniqueUrl('stream-a')
    const urlB = uniqueUrl('stream-b')
    const streamA = sseStream(urlA, ({ client }, n) => client.send({ id: `a${n + 1}`, data: `A, connection ${n + 1}` }))
    const streamB = sseStream(urlB, ({ client }, n) => client.send({ id: `b${n + 1}`, data: `B, connection ${n + 1}` }))

    // The other tab leads A.
    const other = openTab(urlA)
    await waitFor(() => expect(other.result.current.data).toBe('A, connection 1'))

    // This tab: X and Y on A; X, rendered first, creates the registry entry.
    const here = tab()
    const got: Record<'x' | 'y', string[]> = { x: [], y: [] }
    const shown: Record<'x' | 'y', string | undefined> = { x: undefined, y: undefined }
    function Probe({ name, url }: { name: 'x' | 'y'; url: string }) {
      const { data } = useEventSource(url, { ...here.options, onMessage: (m) => void got[name].push(m.data) })
      shown[name] = data
      return null
    }
    const view = render(
      <>
        <Probe name="x" url={urlA} />
        <Probe name="y" url={urlA} />
      </>,
    )
    expect(here.registry.created).toHaveLength(1)
    await waitFor(() => expect(shown).toEqual({ x: 'A, connection 1', y: 'A, connection 1' }))

    // X moves to B (this tab leads B); Y stays on A, which the other tab still leads.
    view.rerender(
      <>
        <Probe name="x" url={urlB} />
        <Probe name="y" url={urlA} />
      </>,
    )
    await waitFor(() => expect(shown.x).toBe('B, connection 1'))
    // A third tab follows A; it asks for the lock after this tab, so this tab leads A next.
    const third = openTab(urlA)
    await waitFor(() => expect(third.result.current).toMatchObject({ status: 'open', data: 'A, connection 1' }))
    expect(streamA.connections).toHaveLength(1)
    const before = requests.length

    // The other tab goes away: this tab takes the lead of A.
    other.unmount()
    await waitFor(() => expect(requests.length).toBeGreaterThan(before))
    expect(requests.slice(before).map((r) => r.url)).toEqual([urlA])
    await waitFor(() => expect(streamA.connections).toHaveLength(2))
    expect(streamA.connection(1).lastEventId).toBe('a1')
    await waitFor(() => expect(shown.y).toBe('A, connection 2'))
    // This tab joined A late (no onMessage for what came before) and B as its leader.
    expect(got).toEqual({ x: ['B, connection 1'], y: ['A, connection 2'] })
    // What this tab relays as A is A.
    await waitFor(() => expect(third.seen).toEqual(['a2']))
    expect(third.result.current.data).toBe('A, connection 2')
    expect(streamB.connections).toHaveLength(1)
  })

  it('useWebSocket: the creator moved to socket B; when this tab takes the lead of A, it connects to A', async () => {
    const urlA = wsUrl('socket-a')
    const urlB = wsUrl('socket-b')
    const opened: string[] = []
    const srvA = wsServer(urlA, (c, n) => (opened.push(c.url), c.client.send(`A ${n + 1}`)))
    const srvB = wsServer(urlB, (c, n) => (opened.push(c.url), c.client.send(`B ${n + 1}`)))

    const other = renderWebSocket<string>(urlA, tab().options)
    await waitFor(() => expect(other.result.current.data).toBe('A 1'))

    const here = tab()
    const shown: Record<'x' | 'y', string | undefined> = { x: undefined, y: undefined }
    function Probe({ name, url }: { name: 'x' | 'y'; url: string }) {
      shown[name] = useWebSocket<string>(url, here.options).data
      return null
    }
    const view = render(
      <>
        <Probe name="x" url={urlA} />
        <Probe name="y" url={urlA} />
      </>,
    )
    await waitFor(() => expect(shown).toEqual({ x: 'A 1', y: 'A 1' }))
    view.rerender(
      <>
        <Probe name="x" url={urlB} />
        <Probe name="y" url={urlA} />
      </>,
    )
    await waitFor(() => expect(shown.x).toBe('B 1'))
    const before = opened.length

    other.unmount()
    await waitFor(() => expect(opened.length).toBeGreaterThan(before))
    expect(opened.slice(before)).toEqual([urlA])
    await waitFor(() => expect(shown.y).toBe('A 2'))
    expect(srvA.connections).toHaveLength(2)
    expect(srvB.connections).toHaveLength(1)
  })
})

/**
 * Issue 9, item 1, second half: the callbacks of the component that created the entry were
 * used after it left. In this tab and across tabs alike, the callbacks of the holders
 * still there are the ones used.
 */
describe('a leader tab uses the callbacks of the components still there (issue 9, item 1)', () => {
  it('headers: after the creator unmounts, the remaining component’s refreshed token goes out when this tab takes the lead', async () => {
    const url = uniqueUrl('lead-headers')
    const stream = sseStream(url, ({ client }, n) => client.send({ id: `${n + 1}`, data: `connection ${n + 1}` }))
    const headers = (token: string) => () => ({ authorization: `Bearer ${token}` })
    // With headers too: whether a stream sends headers may be part of its identity.
    const other = openTab(url, { headers: headers('other tab') })
    await waitFor(() => expect(other.result.current.data).toBe('connection 1'))
    expect(stream.connection(0).request.headers.get('authorization')).toBe('Bearer other tab')

    const here = tab()
    const creator = renderEventSource(url, { ...here.options, headers: headers('creator') })
    const remaining = renderEventSource(url, { ...here.options, headers: headers('remaining-1') })
    await waitFor(() => expect(remaining.result.current).toMatchObject({ status: 'open', data: 'connection 1' }))
    expect(stream.connections).toHaveLength(1)
    creator.unmount()
    remaining.rerender({ url, options: { ...here.options, headers: headers('remaining-2') } })

    other.unmount()
    await waitFor(() => expect(stream.connections).toHaveLength(2))
    expect(stream.connection(1).request.headers.get('authorization')).toBe('Bearer remaining-2')
  })
})
