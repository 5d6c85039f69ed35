/**
 * The notification parts over a real useEventSource (mockSseHandler of tabwire/testing, the
 * default share: 'tabs', so one tab leads the stream and relays it to the others) in one to
 * three simulated tabs (createTabs): each tab has its own registry, locks, channels and
 * lifecycle, and its own center, whose BroadcastChannel is the tab's (`tab.channel`), whose
 * page is the tab's visibility with a focus the test sets (the simulator has no focus), and
 * whose toast clocks are the test's. One test uses the real, test-scoped BroadcastChannel.
 */
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ConnectionStatus, type NotificationCenterOptions, Notifications, useNotificationCenter } from '../../src/components/index'
import { useEventSource } from '../../src/index'
import { mockSseHandler, type SimulatedTab, type SimulatedTabs } from '../../src/testing/index'
import { manualTimers } from '../react/harness'
import { expectNoAxeViolations } from './axe'
import { server, setupKit, tabPage, type Wire, wire } from './kit'

const kit = setupKit()
const ALERTS_URL = 'http://localhost/alerts'

/** 'tab': the simulated tab's channel; 'global': the center's default (the test-scoped BroadcastChannel). */
function makeTab(sim: SimulatedTab, page: { visible: boolean; focused: boolean }, channel: 'tab' | 'global', recorded: Wire) {
  const timers = manualTimers()
  if (!page.visible) sim.hide()
  const pageSource = tabPage(sim, page.focused)
  const options: NotificationCenterOptions<unknown> = { page: pageSource, timers, now: () => 1_700_000_000_000, tabId: sim.id, ...(channel === 'tab' && { channel: recorded.channel(sim), locks: sim.locks }) }
  return { id: sim.id, sim, page: pageSource, timers, options, streamTimers: manualTimers() }
}
type Tab = ReturnType<typeof makeTab>

function App({ tab }: { tab: Tab }) {
  const center = useNotificationCenter(tab.options)
  const alerts = useEventSource<unknown>(ALERTS_URL, { json: true, timers: tab.streamTimers, onMessage: center.onMessage })
  return (
    <div data-tab={tab.id}>
      <ConnectionStatus source={alerts} />
      <Notifications.Provider center={center}>
        <Notifications.Viewport />
        <button type="button">
          Inbox <Notifications.UnreadCount />
        </button>
        <Notifications.Inbox formatTime={(t) => `t${t}`} />
      </Notifications.Provider>
    </div>
  )
}

const alert = (id: string, extra: object = {}) => ({ id, title: `Title ${id}`, ...extra })

/** Every task of the tabs (lock grants, channel messages, and what they make tabs post) done. */
const settle = (sims: SimulatedTabs) => act(() => sims.settle())

/** Opens the tabs one after the other (the first leads the stream) and waits until each is open. */
async function openTabs(pages: { visible: boolean; focused: boolean }[], channel: 'tab' | 'global' = 'tab', strict = false) {
  const stream = mockSseHandler(ALERTS_URL)
  server.use(...stream.handlers)
  const sims = kit.tabs(pages.length)
  const recorded = wire()
  const tabs = pages.map((page, i) => makeTab(sims[i]!, page, channel, recorded))
  const views: ReturnType<typeof render>[] = []
  for (const tab of tabs) {
    const view = render(<App tab={tab} />, { wrapper: tab.sim.wrapper, reactStrictMode: strict })
    views.push(view)
    await waitFor(() => expect(view.container.querySelector('[data-tabwire-connection]')!.getAttribute('data-state')).toBe('open'))
  }
  // One connection for every tab, taken so that the next nextConnection() is a new one.
  expect(stream.connections).toHaveLength(1)
  await stream.nextConnection()
  await settle(sims)
  /** Appends each notification to the stream's log and waits until every open tab lists it. */
  const send = async (...messages: { id: string; [field: string]: unknown }[]) => {
    for (const m of messages) stream.append(m)
    await waitFor(() => {
      for (const [i, view] of views.entries()) if (sims[i]!.state !== 'closed') expect(inboxIds(view.container)).toEqual(expect.arrayContaining(messages.map((m) => m.id)))
    })
  }
  return { stream, sims, tabs, views, wire: recorded, send, settleTabs: () => settle(sims) }
}

const inboxIds = (c: HTMLElement) => [...c.querySelectorAll('[data-tabwire-inbox-item]')].map((li) => li.getAttribute('data-id'))
const toastTitles = (c: HTMLElement) => [...c.querySelectorAll('[data-tabwire-toast]')].map((li) => li.querySelector('[data-tabwire-toast-title]')!.textContent)
const unread = (c: HTMLElement) => c.querySelector('[data-tabwire-unread]')!.textContent

describe('notifications across tabs', () => {
  it('a notification relayed to three tabs toasts only in the focused one; every inbox lists it; read state is shared', async () => {
    const { views, send, settleTabs } = await openTabs([
      { visible: true, focused: false },
      { visible: true, focused: true },
      { visible: false, focused: false },
    ])
    await send(alert('n1'))
    expect(views.map((v) => toastTitles(v.container))).toEqual([[], ['Title n1'], []])
    expect(views.map((v) => unread(v.container))).toEqual(['1 unread', '1 unread', '1 unread'])

    const user = userEvent.setup()
    await user.click(within(views[2]!.container).getByRole('button', { name: 'Mark as read' }))
    expect(unread(views[2]!.container)).toBe('0 unread')
    await settleTabs()
    expect(views.map((v) => unread(v.container))).toEqual(['0 unread', '0 unread', '0 unread'])
    expect(views[0]!.container.querySelector('[data-tabwire-inbox-item]')!.getAttribute('data-state')).toBe('read')
  })

  it('the same id again after a reconnect (the server replays it) is neither listed nor toasted twice', async () => {
    const { views, stream, tabs } = await openTabs([
      { visible: true, focused: true },
      { visible: true, focused: false },
    ])
    const n1 = stream.append(alert('n1'))
    await waitFor(() => expect(views.map((v) => inboxIds(v.container))).toEqual([['n1'], ['n1']]))
    act(() => stream.drop())
    // The leader's retry timer is the test's: run it once the leader waits to retry.
    await waitFor(() => expect(views[0]!.container.querySelector('[data-tabwire-connection]')!.getAttribute('data-state')).toBe('reconnecting'))
    act(() => void tabs[0]!.streamTimers.runAll())
    expect((await stream.nextConnection()).lastEventId).toBe(n1.id)
    // A server that delivers at least once sends n1 again (a new event, the same notification).
    stream.append(alert('n1', { title: 'replayed' }))
    stream.append(alert('n2'))
    await waitFor(() => expect(views.map((v) => inboxIds(v.container))).toEqual([['n2', 'n1'], ['n2', 'n1']]))
    expect(views.map((v) => toastTitles(v.container))).toEqual([['Title n2', 'Title n1'], []])
  })

  it('after a leader change the new leader’s stream replays what the tabs had: listed and toasted once', async () => {
    const { views, stream, sims } = await openTabs([
      { visible: true, focused: true },
      { visible: true, focused: false },
    ])
    const n1 = stream.append(alert('n1'))
    await waitFor(() => expect(views.map((v) => inboxIds(v.container))).toEqual([['n1'], ['n1']]))
    expect(views.map((v) => toastTitles(v.container))).toEqual([['Title n1'], []])
    // The leading tab closes: the other takes the stream over (resuming from n1) and the toasts.
    expect(await sims.leader()).toBe(sims[0])
    act(() => sims[0]!.close())
    expect((await stream.nextConnection()).lastEventId).toBe(n1.id)
    expect(await sims.leader()).toBe(sims[1])
    expect(views[0]!.container.innerHTML).toBe('')
    // A server that delivers at least once sends n1 again.
    stream.append(alert('n1'))
    stream.append(alert('n2'))
    await waitFor(() => expect(inboxIds(views[1]!.container)).toEqual(['n2', 'n1']))
    expect(toastTitles(views[1]!.container)).toEqual(['Title n2'])
  })

  it('under StrictMode (start, stop, start) the tabs still agree: one toast, every inbox', async () => {
    const { views, send, wire: recorded } = await openTabs(
      [
        { visible: true, focused: false },
        { visible: true, focused: true },
      ],
      'tab',
      true,
    )
    // Each tab's center stopped once (StrictMode's simulated unmount) and started again.
    expect(recorded.posted.filter((p) => (p.data as { t: string }).t === 'bye').map((p) => p.tab)).toEqual(['tab-1', 'tab-2'])
    expect(recorded.openChannels).toBe(2)
    await send(alert('n1'))
    expect(views.map((v) => toastTitles(v.container))).toEqual([[], ['Title n1']])
    expect(views.map((v) => inboxIds(v.container))).toEqual([['n1'], ['n1']])
  })

  it('read state travels over the real (test-scoped) BroadcastChannel too', async () => {
    const { views, send } = await openTabs(
      [
        { visible: true, focused: true },
        { visible: false, focused: false },
      ],
      'global',
    )
    await send(alert('n1'))
    await userEvent.setup().click(within(views[1]!.container).getByRole('button', { name: 'Mark all as read' }))
    await waitFor(() => expect(unread(views[0]!.container)).toBe('0 unread'))
  })
})

describe('<Notifications.Viewport>', () => {
  it('severity picks the live region: info is polite, error assertive; axe finds nothing', async () => {
    const { views, send } = await openTabs([{ visible: true, focused: true }])
    const c = views[0]!.container
    await send(alert('n1', { body: 'Body one' }))
    const polite = c.querySelector('[data-tabwire-toasts] [aria-live="polite"]')!
    const assertive = c.querySelector('[data-tabwire-toasts] [aria-live="assertive"]')!
    expect([polite.textContent, assertive.textContent]).toEqual(['Title n1. Body one', ''])
    await expectNoAxeViolations(c)
    await send(alert('n2', { severity: 'error' }))
    expect([polite.textContent, assertive.textContent]).toEqual(['', 'Title n2'])
    expect(c.querySelector('[data-tabwire-toast]')!.getAttribute('data-severity')).toBe('error')
    await expectNoAxeViolations(c)
  })

  it('F8 focuses the region; Escape dismisses the focused toast and focus stays in the region; Dismiss works from the keyboard', async () => {
    const user = userEvent.setup()
    const { views, send, tabs } = await openTabs([{ visible: true, focused: true }])
    const c = views[0]!.container
    await send(alert('n1'), alert('n2'))
    await user.keyboard('{F8}')
    const region = screen.getByRole('region', { name: 'Notifications (F8)' })
    expect(document.activeElement).toBe(region)
    // Focus in the region stops the clocks.
    expect(tabs[0]!.timers.delays()).toEqual([])
    await user.tab()
    expect(document.activeElement?.getAttribute('aria-labelledby')).toBeTruthy()
    expect(toastTitles(c)).toEqual(['Title n2', 'Title n1'])
    await user.keyboard('{Escape}')
    expect(toastTitles(c)).toEqual(['Title n1'])
    expect(document.activeElement).toBe(region)
    await user.tab()
    await user.tab()
    expect(document.activeElement!.textContent).toBe('Dismiss')
    await user.keyboard('{Enter}')
    expect(toastTitles(c)).toEqual([])
    expect(c.querySelector('[data-tabwire-toasts]')!.getAttribute('data-state')).toBe('empty')
    expect(inboxIds(c)).toEqual(['n2', 'n1'])
  })

  it('hovering stops the clocks and leaving starts them again; a toast goes when its time is up', async () => {
    const { views, send, tabs } = await openTabs([{ visible: true, focused: true }])
    const c = views[0]!.container
    await send(alert('n1'))
    const timers = tabs[0]!.timers
    expect(timers.delays()).toEqual([5000])
    const region = c.querySelector('[data-tabwire-toasts]')!
    fireEvent.pointerEnter(region)
    expect(timers.delays()).toEqual([])
    fireEvent.pointerLeave(region)
    expect(timers.delays()).toEqual([5000])
    act(() => void timers.run(5000))
    expect(toastTitles(c)).toEqual([])
  })

  it('a hidden page stops the clocks', async () => {
    const { send, tabs } = await openTabs([{ visible: true, focused: true }])
    await send(alert('n1'))
    act(() => tabs[0]!.sim.hide())
    expect(tabs[0]!.timers.delays()).toEqual([])
    act(() => tabs[0]!.sim.show())
    expect(tabs[0]!.timers.delays()).toEqual([5000])
  })

  it('swipe: short of the threshold it goes back, past it the toast is dismissed', async () => {
    const { views, send } = await openTabs([{ visible: true, focused: true }])
    const c = views[0]!.container
    await send(alert('n1'))
    const toast = () => c.querySelector<HTMLElement>('[data-tabwire-toast]')
    fireEvent.pointerDown(toast()!, { pointerId: 1, button: 0, clientX: 100 })
    fireEvent.pointerMove(toast()!, { pointerId: 1, clientX: 130 })
    expect(toast()!.getAttribute('data-swipe')).toBe('move')
    expect(toast()!.style.getPropertyValue('--tabwire-swipe-x')).toBe('30px')
    fireEvent.pointerUp(toast()!, { pointerId: 1, clientX: 130 })
    expect(toast()!.getAttribute('data-swipe')).toBe('cancel')
    // The wrong way does not count.
    fireEvent.pointerDown(toast()!, { pointerId: 2, button: 0, clientX: 100 })
    fireEvent.pointerUp(toast()!, { pointerId: 2, clientX: 0 })
    expect(toast()).not.toBeNull()
    fireEvent.pointerDown(toast()!, { pointerId: 3, button: 0, clientX: 100 })
    fireEvent.pointerMove(toast()!, { pointerId: 3, clientX: 160 })
    fireEvent.pointerUp(toast()!, { pointerId: 3, clientX: 160 })
    expect(toast()).toBeNull()
  })
})

describe('<Notifications.Inbox>', () => {
  it('empty, unread and read states pass axe; mark all as read is disabled with nothing unread', async () => {
    const { views, send } = await openTabs([{ visible: true, focused: true }])
    const c = views[0]!.container
    expect(c.querySelector('[data-tabwire-inbox-empty]')!.textContent).toBe('No notifications')
    expect(within(c).getByRole('button', { name: 'Mark all as read' })).toHaveProperty('disabled', true)
    await expectNoAxeViolations(c)
    await send(alert('n1'), alert('n2', { severity: 'warning', body: 'b' }))
    expect(c.querySelector('[data-tabwire-inbox]')!.getAttribute('data-state')).toBe('unread')
    await expectNoAxeViolations(c)
    await userEvent.setup().click(within(c).getByRole('button', { name: 'Mark all as read' }))
    expect(c.querySelector('[data-tabwire-inbox]')!.getAttribute('data-state')).toBe('read')
    expect(within(c).queryByRole('button', { name: 'Mark as read' })).toBeNull()
    await expectNoAxeViolations(c)
  })

  it('a message that is not a notification shows an error; the list goes on and the next good one clears it', async () => {
    const { views, send, stream } = await openTabs([{ visible: true, focused: true }])
    const c = views[0]!.container
    await send(alert('n1'))
    stream.append({ id: 'n2', title: { html: '<b>x</b>' } })
    await waitFor(() => expect(c.querySelector('[data-tabwire-inbox-error]')?.getAttribute('data-kind')).toBe('parse'))
    await expectNoAxeViolations(c)
    await send(alert('n3'))
    expect(c.querySelector('[data-tabwire-inbox-error]')).toBeNull()
    expect(inboxIds(c)).toEqual(['n3', 'n1'])
  })

  it('a time at the edge of the Date range renders; one past it is refused, and the page stays up', async () => {
    const { views, send, stream } = await openTabs([{ visible: true, focused: true }])
    const c = views[0]!.container
    await send(alert('edge', { time: 8.64e15 }))
    expect(c.querySelector('[data-tabwire-inbox] time')!.getAttribute('datetime')).toBe(new Date(8.64e15).toISOString())
    stream.append(alert('ns', { time: 1.7e18 }))
    await waitFor(() => expect(c.querySelector('[data-tabwire-inbox-error]')?.getAttribute('data-kind')).toBe('parse'))
    await send(alert('after'))
    expect(inboxIds(c)).toEqual(['edge', 'after']) // newest first: 'edge' is in the year 275760
  })

  it('renders hostile titles and bodies as text, in the inbox, the toast and the live region', async () => {
    const { views, send } = await openTabs([{ visible: true, focused: true }])
    const c = views[0]!.container
    const title = '<img src=x onerror="globalThis.pwned=1">'
    const body = '<script>globalThis.pwned=1</script><a href="javascript:alert(1)">click</a>'
    await send({ id: 'x', title, body })
    expect(c.querySelector('img, script, a')).toBeNull()
    expect(c.querySelector('[data-tabwire-toast-title]')!.textContent).toBe(title)
    expect(c.querySelector('[data-tabwire-toast-body]')!.textContent).toBe(body)
    expect(c.querySelector('[data-tabwire-inbox-body]')!.textContent).toBe(body)
    expect(c.querySelector('[data-tabwire-toasts] [aria-live="polite"]')!.textContent).toBe(`${title}. ${body}`)
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined()
  })
})
