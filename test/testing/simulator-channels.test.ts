/**
 * The simulator's BroadcastChannel (HTML's broadcasting to other browsing contexts) and a
 * tab's lifecycle: messages are structured-cloned and arrive in a later task of the
 * receiving tab, a closed channel gets nothing, a frozen tab gets them when it resumes, a
 * crashed one says no goodbye; timers pause when frozen and stop when gone; the page
 * events the cross-tab layer listens to.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createTabs, type SimulatedTabs } from '../../src/testing/simulator'

let tabs: SimulatedTabs
afterEach(() => tabs?.closeAll())

/** Opens `name` in a tab and records what it receives. */
function listen(tab: SimulatedTabs[number], name = 'news') {
  const channel = tab.channel(name)
  const got: unknown[] = []
  channel.onmessage = (event) => void got.push(event.data)
  return { channel, got }
}

describe('BroadcastChannel', () => {
  it('reaches every other channel of the name (in other tabs and the same one) in a later task, never the sender or other names', async () => {
    tabs = createTabs(2)
    const sender = listen(tabs[0]!)
    const sameTab = listen(tabs[0]!)
    const other = listen(tabs[1]!)
    const otherName = listen(tabs[1]!, 'sport')
    sender.channel.postMessage('hello')
    await Promise.resolve()
    expect(other.got).toEqual([])
    await tabs.settle()
    expect([sender.got, sameTab.got, other.got, otherName.got]).toEqual([[], ['hello'], ['hello'], []])
  })

  it('clones at once: later changes do not travel, each receiver gets its own copy, and what cannot be cloned throws', async () => {
    tabs = createTabs(3)
    const sender = tabs[0]!.channel('news')
    const [a, b] = [listen(tabs[1]!), listen(tabs[2]!)]
    const message = { at: new Date(0), tags: new Map([['k', 1]]), n: 1 }
    sender.postMessage(message)
    message.n = 2
    await tabs.settle()
    expect(a.got).toEqual([{ at: new Date(0), tags: new Map([['k', 1]]), n: 1 }])
    expect(a.got[0]).not.toBe(b.got[0])
    expect(() => sender.postMessage({ f: () => 1 })).toThrow(expect.objectContaining({ name: 'DataCloneError' }))
  })

  it('keeps each sender’s order; addEventListener hears too', async () => {
    tabs = createTabs(2)
    const sender = tabs[0]!.channel('news')
    const receiver = tabs[1]!.channel('news')
    const got: number[] = []
    receiver.addEventListener('message', (event) => void got.push(event.data as number))
    for (let i = 0; i < 20; i++) sender.postMessage(i)
    await tabs.settle()
    expect(got).toEqual([...Array(20).keys()])
  })

  it('a channel closed before a message arrives gets nothing; posting on a closed channel throws', async () => {
    tabs = createTabs(2)
    const sender = tabs[0]!.channel('news')
    const receiver = listen(tabs[1]!)
    sender.postMessage('lost')
    receiver.channel.close()
    await tabs.settle()
    expect(receiver.got).toEqual([])
    sender.close()
    expect(() => sender.postMessage('x')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }))
  })

  it('a frozen tab gets its messages, in order, when it resumes', async () => {
    tabs = createTabs(2)
    const sender = tabs[0]!.channel('news')
    const receiver = listen(tabs[1]!)
    tabs[1]!.freeze()
    sender.postMessage(1)
    sender.postMessage(2)
    await tabs.settle()
    expect(receiver.got).toEqual([])
    tabs[1]!.resume()
    sender.postMessage(3)
    await tabs.settle()
    expect(receiver.got).toEqual([1, 2, 3])
  })

  it('a crashed tab receives nothing and what it posts after goes nowhere', async () => {
    tabs = createTabs(2)
    const dying = listen(tabs[0]!)
    const other = listen(tabs[1]!)
    other.channel.postMessage('to the dead')
    tabs[0]!.crash()
    dying.channel.postMessage('from the dead')
    await tabs.settle()
    expect([dying.got, other.got]).toEqual([[], []])
  })
})

describe('a tab’s timers', () => {
  it('wait while the tab is frozen and run when it resumes; stop for good when it crashes', async () => {
    tabs = createTabs(2)
    const ran: string[] = []
    tabs[0]!.timers.setTimeout(() => ran.push('frozen one'), 0)
    tabs[1]!.timers.setTimeout(() => ran.push('crashed one'), 0)
    tabs[0]!.freeze()
    tabs[1]!.crash()
    tabs[1]!.timers.setTimeout(() => ran.push('after the crash'), 0)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(ran).toEqual([])
    tabs[0]!.resume()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(ran).toEqual(['frozen one'])
  })

  it('a hidden tab gets no animation frames until it is shown', async () => {
    tabs = createTabs(1)
    const tab = tabs[0]!
    const frames: string[] = []
    tab.hide()
    tab.env.scheduleFrame(() => frames.push('frame'))
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(frames).toEqual([])
    tab.show()
    await expect.poll(() => frames).toEqual(['frame'])
  })
})

describe('the page events the cross-tab layer hears', () => {
  it('visibility, freeze/resume, pagehide/pageshow, close; a crash says nothing', async () => {
    tabs = createTabs(3)
    const heard = tabs.map(() => [] as string[])
    tabs.forEach((tab, i) => tab.env.page.subscribe((event) => void heard[i]!.push(`${event} ${tab.env.page.visible() ? 'visible' : 'hidden'}`)))
    const [a, b, c] = tabs as unknown as [SimulatedTabs[number], SimulatedTabs[number], SimulatedTabs[number]]
    a.hide()
    a.show()
    a.freeze()
    a.resume()
    expect([a.state, heard[0]]).toEqual(['hidden', ['visibility hidden', 'visibility visible', 'visibility hidden', 'leave hidden', 'return hidden']])
    expect(await b.pagehide()).toEqual([])
    expect(b.state).toBe('bfcache')
    b.pageshow()
    b.close()
    expect([b.state, heard[1]]).toEqual(['closed', ['leave visible', 'visibility hidden', 'return hidden', 'visibility visible', 'leave visible', 'visibility hidden']])
    c.crash()
    expect([c.state, heard[2]]).toEqual(['crashed', []])
    expect(() => c.show()).toThrow(/tab-3 is crashed/)
  })

  it('pagehide tells what would keep a browser from caching the page: a lock held or asked for, an open channel', async () => {
    tabs = createTabs(2)
    const held = tabs[0]!.locks.request('L', () => new Promise(() => {}))
    void held
    tabs[0]!.channel('news')
    await tabs.settle()
    expect(await tabs[0]!.pagehide()).toEqual(['web-locks', 'broadcast-channel'])
    expect(await tabs[1]!.pagehide()).toEqual([])
  })
})
