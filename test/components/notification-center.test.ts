/**
 * The framework-free notification center across simulated tabs (createTabs of
 * tabwire/testing): each center talks on its tab's BroadcastChannel and follows its tab's
 * visibility and back/forward cache, with a focus the test sets (see `centerTab` in
 * kit.ts). Which tab toasts, the inbox in every tab, read state shared, de-duplication by
 * id, what arrives from other tabs checked (a stranger posts on the channel from a tab of
 * its own), and the toasts' clocks.
 */
import { describe, expect, it, vi } from 'vitest'
import { createNotificationCenter } from '../../src/components/index'
import { manualTimers } from '../react/harness'
import { centerTab, setupKit } from './kit'

const kit = setupKit()

type Tab = ReturnType<typeof centerTab>
const note = (id: string, extra: object = {}) => ({ data: { id, title: `Title ${id}`, ...extra } })
/** The stream relays every notification to every tab (the leader's BroadcastChannel does it in a browser). */
const relay = (tabs: Tab[], message: { data: unknown }) => {
  for (const tab of tabs) tab.center.onMessage(message)
}


async function threeTabs() {
  const sims = kit.tabs(3)
  const a = centerTab(sims[0]!, { visible: true, focused: false })
  const b = centerTab(sims[1]!, { visible: false, focused: false })
  const c = centerTab(sims[2]!, { visible: false, focused: false })
  await sims.settle()
  /** Delivers every message posted, and what that makes tabs post, until nothing is left. */
  const flush = () => sims.settle()
  return { sims, flush, a, b, c, tabs: [a, b, c] }
}

describe('which tab toasts', () => {
  it('only the focused tab toasts; every tab has it in its inbox', async () => {
    const { flush, a, b, c, tabs } = await threeTabs()
    await b.set({ visible: true, focused: true })
    await flush()
    relay(tabs, note('n1'))
    expect(tabs.map((t) => t.toasts())).toEqual([[], ['n1'], []])
    expect(tabs.map((t) => t.inbox())).toEqual([['n1'], ['n1'], ['n1']])
    expect(c.center.getSnapshot().unread).toBe(1)
    expect(a.center.getSnapshot().announcement).toBeNull()
  })

  it('with no tab focused, the tab visible most recently toasts (also if it is hidden now)', async () => {
    const { flush, a, b, c, tabs } = await threeTabs()
    await c.set({ visible: true })
    await flush()
    await a.set({ visible: false })
    await flush()
    relay(tabs, note('n1'))
    expect(tabs.map((t) => t.toasts())).toEqual([[], [], ['n1']])
    // The user comes back to b and then leaves the browser for another app: b is the most recent.
    await b.set({ visible: true, focused: true })
    await c.set({ visible: false })
    await flush()
    await b.set({ focused: false })
    await flush()
    relay(tabs, note('n2'))
    expect(tabs.map((t) => t.toasts())).toEqual([[], ['n2'], ['n1']])
  })

  it('focus moving to another tab moves the next toast there; a focused tab beats a more recently visible one', async () => {
    const { flush, a, b, tabs } = await threeTabs()
    await a.set({ focused: true })
    await b.set({ visible: true })
    await flush()
    relay(tabs, note('n1'))
    expect(tabs.map((t) => t.toasts())).toEqual([['n1'], [], []])
    await a.set({ focused: false })
    await b.set({ focused: true })
    await flush()
    relay(tabs, note('n2'))
    expect(tabs.map((t) => t.toasts())).toEqual([['n1'], ['n2'], []])
  })

  it('when the toasting tab leaves, the next one by the same rule toasts', async () => {
    const { flush, a, b, c, tabs } = await threeTabs()
    await b.set({ visible: true, focused: true })
    await flush()
    b.center.stop()
    await flush()
    relay([a, c], note('n1'))
    expect([a.toasts(), c.toasts()]).toEqual([['n1'], []])
    expect(tabs.map((t) => t.inbox())).toEqual([['n1'], [], ['n1']])
  })

  it('when the toasting tab crashes (no goodbye), its lock goes with it: the next notification toasts in the next tab', async () => {
    const { sims, flush, a, b, c } = await threeTabs()
    await b.set({ visible: true, focused: true })
    await flush()
    sims[1]!.crash()
    await flush()
    relay([a, c], note('n2'))
    // b still ranks first in the others' tables (it said nothing); its lock is gone, so it is forgotten.
    await vi.waitFor(() => expect([a.toasts(), c.toasts()]).toEqual([['n2'], []]))
  })

  it('a tab that goes into the back/forward cache leaves the choice; back, it takes part again', async () => {
    const { flush, a, b, tabs } = await threeTabs()
    await b.set({ visible: true, focused: true })
    await flush()
    // Navigating away: the page hides (a presence) and is frozen (pagehide); it hears nothing.
    await b.set({ visible: false, focused: false, gone: true })
    await flush()
    relay([a], note('n1'))
    expect(a.toasts()).toEqual(['n1'])
    await b.set({ visible: true, focused: true, gone: false })
    await flush()
    relay(tabs, note('n2'))
    expect(tabs.map((t) => t.toasts())).toEqual([['n1'], ['n2'], []])
  })

  it('a tab alone (no channel at all) toasts everything', async () => {
    const center = createNotificationCenter({ channel: null, timers: manualTimers(), page: { visible: () => false, focused: () => false, subscribe: () => () => {} } })
    center.start()
    center.onMessage(note('n1'))
    expect(center.getSnapshot().toasts.map((t) => t.id)).toEqual(['n1'])
    center.stop()
  })
})

describe('the inbox across tabs', () => {
  it('read state is shared: one tab marks read, every tab shows it read', async () => {
    const { flush, a, b, c, tabs } = await threeTabs()
    relay(tabs, note('n1'))
    relay(tabs, note('n2'))
    b.center.markRead('n1')
    expect(b.center.getSnapshot().unread).toBe(1)
    expect(a.center.getSnapshot().unread).toBe(2)
    await flush()
    expect(tabs.map((t) => t.center.getSnapshot().unread)).toEqual([1, 1, 1])
    expect(c.center.getSnapshot().items.map((i) => [i.id, i.read])).toEqual([
      ['n2', false],
      ['n1', true],
    ])
    a.center.markAllRead()
    await flush()
    expect(tabs.map((t) => t.center.getSnapshot().unread)).toEqual([0, 0, 0])
  })

  it('a read that arrives before the notification (another tab heard it first) still applies', async () => {
    const { flush, a, b } = await threeTabs()
    a.center.onMessage(note('n1'))
    a.center.markRead('n1')
    await flush()
    b.center.onMessage(note('n1'))
    expect(b.center.getSnapshot().items).toMatchObject([{ id: 'n1', read: true }])
  })

  it('a tab that opens late gets the inbox and read state from the others, and toasts none of it', async () => {
    const { sims, flush, a, tabs } = await threeTabs()
    await a.set({ focused: true })
    relay(tabs, note('n1', { time: 1 }))
    relay(tabs, note('n2', { time: 2 }))
    a.center.markRead('n1')
    await flush()
    const late = centerTab(sims.open(), { visible: true, focused: true })
    await flush()
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

  it('a notification is taken once per id: a replay after a reconnect or a leader change neither toasts nor lists it again', async () => {
    const { flush, b, tabs } = await threeTabs()
    await b.set({ visible: true, focused: true })
    await flush()
    relay(tabs, note('n1'))
    b.center.dismiss('n1')
    relay(tabs, note('n1', { title: 'changed on the way' }))
    expect(tabs.map((t) => t.inbox())).toEqual([['n1'], ['n1'], ['n1']])
    expect(b.toasts()).toEqual([])
    expect(b.center.getSnapshot().items[0]!.title).toBe('Title n1')
  })
})

describe('what arrives from other tabs is checked', () => {
  it('channel names carry the namespace, the center name and the protocol version; other namespaces do not meet', async () => {
    const sims = kit.tabs(2)
    const flush = () => sims.settle()
    const one = centerTab(sims[0]!, { visible: true, focused: true }, { name: 'alerts', namespace: 'app1' })
    const two = centerTab(sims[1]!, { visible: true, focused: false }, { name: 'alerts', namespace: 'app2' })
    expect(one.center.channelName).toBe('app1:notifications:alerts:v1')
    await flush()
    one.center.onMessage(note('n1'))
    one.center.markRead('n1')
    two.center.onMessage(note('n1'))
    await flush()
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
    ['a state whose item has a time no Date can hold', { v: 1, from: 'x', t: 'state', read: [], items: [{ id: 'n9', title: 'ok', time: 1.7e18 }] }],
    ['a presence with a clock past safe integers', { v: 1, from: 'x', t: 'presence', presence: { focused: true, seq: 1e300 } }],
    ['a presence whose focus is not a boolean', { v: 1, from: 'x', t: 'presence', presence: { focused: 'yes', seq: 99 } }],
  ])('ignores %s', async (_label, data) => {
    const { sims, flush, a, b } = await threeTabs()
    await a.set({ focused: true })
    await flush()
    a.center.onMessage(note('n1'))
    const before = a.center.getSnapshot()
    // A stranger on the channel (another app, an attacker, an old version), from a tab of its own.
    sims.open().channel(a.center.channelName).postMessage(data)
    await flush()
    expect(a.center.getSnapshot()).toBe(before)
    // A focused stranger that was ignored does not take the toasts either.
    a.center.onMessage(note('n2'))
    b.center.onMessage(note('n2'))
    expect([a.toasts(), b.toasts()]).toEqual([['n2', 'n1'], []])
  })

  it('a well-formed state from another tab is taken (the check above is not a check that refuses everything)', async () => {
    const { sims, flush, a } = await threeTabs()
    sims.open().channel(a.center.channelName).postMessage({ v: 1, from: 'x', t: 'state', read: ['n9'], items: [{ id: 'n9', title: 'ok', time: 1, read: true }] })
    await flush()
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
    ['a time no Date can hold (nanoseconds sent as milliseconds)', { id: 'n', title: 'x', time: 1.7e18 }],
    ['a time just past the last valid Date', { id: 'n', title: 'x', time: -8.64e15 - 1 }],
    ['null data with the default read', 5],
  ])('%s is a parse error with the raw data; the inbox goes on and the next good one clears it', async (_label, data) => {
    const { a } = await threeTabs()
    a.center.onMessage(note('n1'))
    a.center.onMessage({ data })
    expect(a.center.getSnapshot()).toMatchObject({ error: { kind: 'parse', raw: data }, items: [{ id: 'n1' }] })
    a.center.onMessage(note('n2'))
    expect(a.center.getSnapshot()).toMatchObject({ error: null })
    expect(a.inbox()).toEqual(['n2', 'n1'])
  })

  it('a read that throws is a parse error; one that returns null skips the message', async () => {
    const tab = centerTab<string>(kit.tabs(1)[0]!, { visible: true, focused: true }, {
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
    return centerTab(kit.tabs(1)[0]!, { visible: true, focused: true }, extra)
  }

  it('a toast goes after its duration; the inbox keeps it', async () => {
    const tab = focusedTab({ duration: (i: { severity: string }) => (i.severity === 'error' ? Infinity : 4000) })
    tab.center.onMessage(note('n1'))
    tab.center.onMessage(note('n2', { severity: 'error' }))
    expect(tab.timers.delays()).toEqual([4000])
    tab.timers.run(4000)
    expect(tab.toasts()).toEqual(['n2'])
    expect(tab.inbox()).toEqual(['n2', 'n1'])
  })

  it('hover and focus stop every clock; they go on with the time they had left when the last reason ends', async () => {
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

  it('a hidden page stops the clocks until it is visible again', async () => {
    const tab = focusedTab()
    tab.center.onMessage(note('n1'))
    await tab.set({ visible: false, focused: false })
    expect(tab.timers.delays()).toEqual([])
    await tab.set({ visible: true })
    expect(tab.timers.delays()).toEqual([5000])
  })

  it('at most maxToasts at once: the oldest goes (its clock too)', async () => {
    const tab = focusedTab({ maxToasts: 2 })
    for (const id of ['n1', 'n2', 'n3']) tab.center.onMessage(note(id))
    expect(tab.toasts()).toEqual(['n3', 'n2'])
    expect(tab.timers.delays()).toEqual([5000, 5000])
  })

  it('a stopped center keeps no clock; started again, it joins the tabs again', async () => {
    const tab = centerTab(kit.tabs(1)[0]!, { visible: true, focused: true })
    tab.center.onMessage(note('n1'))
    tab.center.stop()
    expect(tab.timers.delays()).toEqual([])
    expect(tab.wire.openChannels).toBe(0)
    tab.center.start()
    expect(tab.wire.openChannels).toBe(1)
    expect(tab.timers.delays()).toEqual([5000])
  })
})
