/**
 * The framework-free notification center across simulated tabs (test/components/tabs.ts):
 * which tab toasts, the inbox in every tab, read state shared, de-duplication by id, what
 * arrives from other tabs checked, and the toasts' clocks.
 */
import { describe, expect, it } from 'vitest'
import { createNotificationCenter } from '../../src/components/index'
import { manualTimers } from '../react/harness'
import { channelHub, simulatedTab } from './tabs'

type Tab = ReturnType<typeof simulatedTab>
const note = (id: string, extra: object = {}) => ({ data: { id, title: `Title ${id}`, ...extra } })
/** The stream relays every notification to every tab (the leader's BroadcastChannel does it in a browser). */
const relay = (tabs: Tab[], message: { data: unknown }) => {
  for (const tab of tabs) tab.center.onMessage(message)
}

function threeTabs() {
  const hub = channelHub()
  const a = simulatedTab(hub, 'a', { visible: true, focused: false })
  const b = simulatedTab(hub, 'b', { visible: false, focused: false })
  const c = simulatedTab(hub, 'c', { visible: false, focused: false })
  hub.flush()
  return { hub, a, b, c, tabs: [a, b, c] }
}

describe('which tab toasts', () => {
  it('only the focused tab toasts; every tab has it in its inbox', () => {
    const { hub, a, b, c, tabs } = threeTabs()
    b.page.set({ visible: true, focused: true })
    hub.flush()
    relay(tabs, note('n1'))
    expect(tabs.map((t) => t.toasts())).toEqual([[], ['n1'], []])
    expect(tabs.map((t) => t.inbox())).toEqual([['n1'], ['n1'], ['n1']])
    expect(c.center.getSnapshot().unread).toBe(1)
    expect(a.center.getSnapshot().announcement).toBeNull()
  })

  it('with no tab focused, the tab visible most recently toasts (also if it is hidden now)', () => {
    const { hub, a, b, c, tabs } = threeTabs()
    c.page.set({ visible: true })
    hub.flush()
    a.page.set({ visible: false })
    hub.flush()
    relay(tabs, note('n1'))
    expect(tabs.map((t) => t.toasts())).toEqual([[], [], ['n1']])
    // The user comes back to b and then leaves the browser for another app: b is the most recent.
    b.page.set({ visible: true, focused: true })
    c.page.set({ visible: false })
    hub.flush()
    b.page.set({ focused: false })
    hub.flush()
    relay(tabs, note('n2'))
    expect(tabs.map((t) => t.toasts())).toEqual([[], ['n2'], ['n1']])
  })

  it('focus moving to another tab moves the next toast there; a focused tab beats a more recently visible one', () => {
    const { hub, a, b, tabs } = threeTabs()
    a.page.set({ focused: true })
    b.page.set({ visible: true })
    hub.flush()
    relay(tabs, note('n1'))
    expect(tabs.map((t) => t.toasts())).toEqual([['n1'], [], []])
    a.page.set({ focused: false })
    b.page.set({ focused: true })
    hub.flush()
    relay(tabs, note('n2'))
    expect(tabs.map((t) => t.toasts())).toEqual([['n1'], ['n2'], []])
  })

  it('when the toasting tab leaves, the next one by the same rule toasts', () => {
    const { hub, a, b, c, tabs } = threeTabs()
    b.page.set({ visible: true, focused: true })
    hub.flush()
    b.center.stop()
    hub.flush()
    relay([a, c], note('n1'))
    expect([a.toasts(), c.toasts()]).toEqual([['n1'], []])
    expect(tabs.map((t) => t.inbox())).toEqual([['n1'], [], ['n1']])
  })

  it('a tab that goes into the back/forward cache leaves the choice; back, it takes part again', () => {
    const { hub, a, b, tabs } = threeTabs()
    b.page.set({ visible: true, focused: true })
    hub.flush()
    // Navigating away: the page hides (a presence) and is frozen (pagehide); it hears nothing.
    b.page.set({ visible: false, focused: false, gone: true })
    hub.flush()
    relay([a], note('n1'))
    expect(a.toasts()).toEqual(['n1'])
    b.page.set({ visible: true, focused: true, gone: false })
    hub.flush()
    relay(tabs, note('n2'))
    expect(tabs.map((t) => t.toasts())).toEqual([['n1'], ['n2'], []])
  })

  it('a tab alone (no channel at all) toasts everything', () => {
    const center = createNotificationCenter({ channel: null, timers: manualTimers(), page: { visible: () => false, focused: () => false, subscribe: () => () => {} } })
    center.start()
    center.onMessage(note('n1'))
    expect(center.getSnapshot().toasts.map((t) => t.id)).toEqual(['n1'])
    center.stop()
  })
})

describe('the inbox across tabs', () => {
  it('read state is shared: one tab marks read, every tab shows it read', () => {
    const { hub, a, b, c, tabs } = threeTabs()
    relay(tabs, note('n1'))
    relay(tabs, note('n2'))
    b.center.markRead('n1')
    expect(b.center.getSnapshot().unread).toBe(1)
    expect(a.center.getSnapshot().unread).toBe(2)
    hub.flush()
    expect(tabs.map((t) => t.center.getSnapshot().unread)).toEqual([1, 1, 1])
    expect(c.center.getSnapshot().items.map((i) => [i.id, i.read])).toEqual([
      ['n2', false],
      ['n1', true],
    ])
    a.center.markAllRead()
    hub.flush()
    expect(tabs.map((t) => t.center.getSnapshot().unread)).toEqual([0, 0, 0])
  })

  it('a read that arrives before the notification (another tab heard it first) still applies', () => {
    const { hub, a, b } = threeTabs()
    a.center.onMessage(note('n1'))
    a.center.markRead('n1')
    hub.flush()
    b.center.onMessage(note('n1'))
    expect(b.center.getSnapshot().items).toMatchObject([{ id: 'n1', read: true }])
  })

  it('a tab that opens late gets the inbox and read state from the others, and toasts none of it', () => {
    const { hub, a, tabs } = threeTabs()
    a.page.set({ focused: true })
    relay(tabs, note('n1', { time: 1 }))
    relay(tabs, note('n2', { time: 2 }))
    a.center.markRead('n1')
    hub.flush()
    const late = simulatedTab(hub, 'late', { visible: true, focused: true })
    hub.flush()
    expect(late.center.getSnapshot().items.map((i) => [i.id, i.read])).toEqual([
      ['n2', false],
      ['n1', true],
    ])
    expect(late.toasts()).toEqual([])
    // The stream replays n2 to the late tab (it resumed from an older id): still once.
    late.center.onMessage(note('n2', { time: 2 }))
    expect(late.inbox()).toEqual(['n2', 'n1'])
    expect(late.toasts()).toEqual([])
  })

  it('a notification is taken once per id: a replay after a reconnect or a leader change neither toasts nor lists it again', () => {
    const { hub, b, tabs } = threeTabs()
    b.page.set({ visible: true, focused: true })
    hub.flush()
    relay(tabs, note('n1'))
    b.center.dismiss('n1')
    relay(tabs, note('n1', { title: 'changed on the way' }))
    expect(tabs.map((t) => t.inbox())).toEqual([['n1'], ['n1'], ['n1']])
    expect(b.toasts()).toEqual([])
    expect(b.center.getSnapshot().items[0]!.title).toBe('Title n1')
  })
})

describe('what arrives from other tabs is checked', () => {
  it('channel names carry the namespace, the center name and the protocol version; other namespaces do not meet', () => {
    const hub = channelHub()
    const one = simulatedTab(hub, 'one', { visible: true, focused: true }, { name: 'alerts', namespace: 'app1' })
    const two = simulatedTab(hub, 'two', { visible: true, focused: false }, { name: 'alerts', namespace: 'app2' })
    expect(one.center.channelName).toBe('app1:notifications:alerts:v1')
    hub.flush()
    one.center.onMessage(note('n1'))
    one.center.markRead('n1')
    two.center.onMessage(note('n1'))
    hub.flush()
    expect(two.center.getSnapshot()).toMatchObject({ unread: 1, toasts: [{ id: 'n1' }] })
  })

  it.each([
    ['another version', { v: 2, from: 'x', t: 'read', ids: ['n1'] }],
    ['no sender', { v: 1, t: 'read', ids: ['n1'] }],
    ['ids not strings', { v: 1, from: 'x', t: 'read', ids: [{ toString: 'n1' }] }],
    ['too many ids', { v: 1, from: 'x', t: 'read', ids: Array.from({ length: 1001 }, () => 'n1') }],
    ['an unknown type', { v: 1, from: 'x', t: 'markRead', ids: ['n1'] }],
    ['not an object', 'read n1'],
    ['a state with one bad item', { v: 1, from: 'x', t: 'state', read: ['n1'], items: [{ id: 'n9', title: 'ok', time: 1 }, { id: 'n8', title: 5, time: 1 }] }],
    ['a presence with a clock past safe integers', { v: 1, from: 'x', t: 'presence', presence: { focused: true, seq: 1e300 } }],
    ['a presence whose focus is not a boolean', { v: 1, from: 'x', t: 'presence', presence: { focused: 'yes', seq: 99 } }],
  ])('ignores %s', (_label, data) => {
    const { hub, a, b } = threeTabs()
    a.page.set({ focused: true })
    hub.flush()
    a.center.onMessage(note('n1'))
    const before = a.center.getSnapshot()
    hub.inject(a.center.channelName, data)
    hub.flush()
    expect(a.center.getSnapshot()).toBe(before)
    // A focused stranger that was ignored does not take the toasts either.
    a.center.onMessage(note('n2'))
    b.center.onMessage(note('n2'))
    expect([a.toasts(), b.toasts()]).toEqual([['n2', 'n1'], []])
  })

  it('a well-formed state from another tab is taken (the check above is not a check that refuses everything)', () => {
    const { hub, a } = threeTabs()
    hub.inject(a.center.channelName, { v: 1, from: 'x', t: 'state', read: ['n9'], items: [{ id: 'n9', title: 'ok', time: 1, read: true }] })
    hub.flush()
    expect(a.center.getSnapshot().items).toMatchObject([{ id: 'n9', title: 'ok', read: true }])
  })
})

describe('messages that are not notifications', () => {
  it.each([
    ['no id', { title: 'x' }],
    ['an empty id', { id: '', title: 'x' }],
    ['a title that is not text', { id: 'n', title: { html: '<b>' } }],
    ['an unknown severity', { id: 'n', title: 'x', severity: 'panic' }],
    ['a time that is not a number', { id: 'n', title: 'x', time: 'now' }],
    ['null data with the default read', 5],
  ])('%s is a parse error with the raw data; the inbox goes on and the next good one clears it', (_label, data) => {
    const { a } = threeTabs()
    a.center.onMessage(note('n1'))
    a.center.onMessage({ data })
    expect(a.center.getSnapshot()).toMatchObject({ error: { kind: 'parse', raw: data }, items: [{ id: 'n1' }] })
    a.center.onMessage(note('n2'))
    expect(a.center.getSnapshot()).toMatchObject({ error: null })
    expect(a.inbox()).toEqual(['n2', 'n1'])
  })

  it('a read that throws is a parse error; one that returns null skips the message', () => {
    const hub = channelHub()
    const tab = simulatedTab<string>(hub, 't', { visible: true, focused: true }, {
      read: (d) => {
        if (d === 'skip') return null
        if (d === 'bad') throw new Error('bad alert')
        return { id: d, title: d }
      },
    })
    tab.center.onMessage({ data: 'bad' })
    expect(tab.center.getSnapshot().error).toMatchObject({ kind: 'parse', message: expect.stringContaining('bad alert') })
    tab.center.onMessage({ data: 'skip' })
    tab.center.onMessage({ data: 'ok' })
    expect(tab.inbox()).toEqual(['ok'])
  })
})

describe("the toasts' clocks", () => {
  function focusedTab(extra = {}) {
    const hub = channelHub()
    return simulatedTab(hub, 't', { visible: true, focused: true }, extra)
  }

  it('a toast goes after its duration; the inbox keeps it', () => {
    const tab = focusedTab({ duration: (i: { severity: string }) => (i.severity === 'error' ? Infinity : 4000) })
    tab.center.onMessage(note('n1'))
    tab.center.onMessage(note('n2', { severity: 'error' }))
    expect(tab.timers.delays()).toEqual([4000])
    tab.timers.run(4000)
    expect(tab.toasts()).toEqual(['n2'])
    expect(tab.inbox()).toEqual(['n2', 'n1'])
  })

  it('hover and focus stop every clock; they go on with the time they had left when the last reason ends', () => {
    const tab = focusedTab()
    tab.center.onMessage(note('n1'))
    tab.clock.time += 3000
    tab.center.pause('hover')
    tab.center.pause('focus')
    expect(tab.timers.delays()).toEqual([])
    tab.clock.time += 60_000
    tab.center.resume('hover')
    expect(tab.timers.delays()).toEqual([])
    tab.center.resume('focus')
    expect(tab.timers.delays()).toEqual([2000])
    tab.timers.run(2000)
    expect(tab.toasts()).toEqual([])
  })

  it('a hidden page stops the clocks until it is visible again', () => {
    const tab = focusedTab()
    tab.center.onMessage(note('n1'))
    tab.page.set({ visible: false, focused: false })
    expect(tab.timers.delays()).toEqual([])
    tab.page.set({ visible: true })
    expect(tab.timers.delays()).toEqual([5000])
  })

  it('at most maxToasts at once: the oldest goes (its clock too)', () => {
    const tab = focusedTab({ maxToasts: 2 })
    for (const id of ['n1', 'n2', 'n3']) tab.center.onMessage(note(id))
    expect(tab.toasts()).toEqual(['n3', 'n2'])
    expect(tab.timers.delays()).toEqual([5000, 5000])
  })

  it('a stopped center keeps no clock; started again, it joins the tabs again', () => {
    const hub = channelHub()
    const tab = simulatedTab(hub, 't', { visible: true, focused: true })
    tab.center.onMessage(note('n1'))
    tab.center.stop()
    expect(tab.timers.delays()).toEqual([])
    expect(hub.openChannels).toBe(0)
    tab.center.start()
    expect(hub.openChannels).toBe(1)
    expect(tab.timers.delays()).toEqual([5000])
  })
})
