/**
 * Hostile input from a page of the same origin as the demo app (any script there can post on
 * the tabs' BroadcastChannel and talk to the realtime endpoint): the tabs, which share one
 * realtime connection (`/api/realtime`) with the client's default options, go on receiving
 * every event once.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { launchChromium } from './helpers.ts'
import { A, B, D, expectOncePerChannel, expectReceiving, expectServer, fresh, rtRecording, union } from './realtime-helpers.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

describe('hostile input from a same-origin page', () => {
  it('garbage on the realtime BroadcastChannel and bad frames to the server: the tabs go on, 0 lost and 0 duplicated', async (test) => {
    const { expect } = test
    const { demo, tabs } = await fresh(browser, test)
    const three = await tabs.openAll([A, B, D])
    const channels = union(A, B, D)
    await expectServer(demo, { websocket: 1, sse: 0 }, channels)
    await expectReceiving(three, 3)

    // A page of the same origin that is not the app (a 404 JSON page): it finds the realtime
    // client's channel by its lock, posts garbage and forged look-alikes on it, and sends bad
    // frames over a WebSocket and POSTs of its own.
    const evil = await tabs.context.newPage()
    await evil.goto(new URL('/nothing-here', demo.url).toString())
    const report = await evil.evaluate(async () => {
      const { held = [] } = await navigator.locks.query()
      const realtime = new Set(held.flatMap((l) => /^tabwire:rt:([^:]+):/.exec(l.name ?? '')?.slice(1, 2) ?? []))
      const names = held.flatMap((l) => (l.name && /^tabwire:v\d+:/.test(l.name) && realtime.has(l.name.replace(/^tabwire:v\d+:/, '')) ? [l.name] : []))
      const v = Number(/^tabwire:v(\d+):/.exec(names[0] ?? '')?.[1])
      const garbage: unknown[] = [
        null, 0, 'hello', [], {}, { v }, { v, t: 'msgs' }, { v, t: 'msgs', e: 1, s: 1, ms: 'x' },
        { v, t: 'msgs', e: Number.MAX_SAFE_INTEGER, s: 1, ms: [{ event: 'message', data: { type: 'event', channel: 'notifications', id: 'x.1', data: 1 } }] },
        { v, t: 'beat', e: -1, s: 'x' }, { v, t: 'state', e: 1, s: 1, state: { status: 'open' } }, { v, t: 'ack', id: 5 },
        { v, t: 'hello', since: 7 }, { v, t: 'replay', c: 1 }, { v, t: 'send', id: 'x', data: null },
        { v, t: 'send', id: 'x', data: { op: 'want' } }, { v, t: 'send', id: 'x', data: { op: 'want', tab: 1, v: 'x', ch: 'all' } },
        { v, t: 'send', id: 'x', data: { op: 'want', tab: 'evil', v: 1, ch: [[42, {}], null, 'x'] } },
        { v, t: 'send', id: 'x', data: { op: 'pub', pid: 9, channel: null } }, { v, t: 'send', id: 'x', data: { op: 'bye', tab: {} } },
        { v, t: 'send', id: 'x', data: { op: 'nope' } }, 'x'.repeat(1_000_000), new Array(10_000).fill({ t: 'msgs' }),
        // Well formed, from a tab that does not exist: the leader takes it, then lets it go (no lock of that tab).
        { v, t: 'send', id: 'forged-1', data: { op: 'want', tab: 'forged', v: 1, ch: [['prices:ORCA', null]] } },
      ]
      for (const name of names) {
        const channel = new BroadcastChannel(name)
        for (let round = 0; round < 5; round++) for (const message of garbage) channel.postMessage(message)
        channel.close()
      }
      const socket = new WebSocket(`ws://${location.host}/api/realtime`)
      await new Promise((resolve, reject) => ((socket.onopen = resolve), (socket.onerror = reject)))
      const bad = ['', 'not json', '[]', 'null', '{"type":"subscribe"}', '{"type":"subscribe","channel":"nope"}', '{"type":"publish","channel":"notifications","data":1}', JSON.stringify({ type: 'subscribe', channel: 'x'.repeat(300) }), JSON.stringify({ type: 'publish', channel: 'room:lobby', data: 'x'.repeat(100_000) })]
      for (const frame of bad) socket.send(frame)
      socket.send(new Uint8Array([1, 2, 3]))
      const posts = await Promise.all(
        ['', 'not json', '{"session":"forged","frames":[]}', '{"frames":"x"}'].map(async (body) => (await fetch('/api/realtime', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status),
      )
      await new Promise((resolve) => setTimeout(resolve, 200))
      socket.close()
      return { channels: names.length, posts }
    })
    expect(report.channels, 'the realtime channel was found').toBe(1)
    expect(report.posts.every((status) => status >= 400 && status < 500), `bad POSTs refused with 4xx: ${report.posts}`).toBe(true)
    await evil.close()

    // The forged tab's channel is subscribed too, until the leader's check of live tabs (every
    // 5 s) finds no lock of that tab: here only the tabs' own must be there, each once.
    await expect.poll(() => demo.realtime.stats().channels['prices:ORCA'], { message: 'the forged want taken' }).toBe(1)
    await expect
      .poll(() => {
        const { clients, channels: now } = demo.realtime.stats()
        return { clients, channels: Object.fromEntries(Object.entries(now).filter(([c]) => c !== 'prices:ORCA')) }
      })
      .toEqual({ clients: { websocket: 1, sse: 0 }, channels: Object.fromEntries(channels.sort().map((c) => [c, 1])) })
    await expectReceiving(three, 5)
    const { events } = await expectOncePerChannel(three)
    const recs = await Promise.all(three.map(rtRecording))
    console.log(`[realtime] after the garbage: ${events} events in 3 tabs, 0 lost, 0 duplicated; errors the tabs reported: ${recs.map((r) => r.errors.length).join(', ')}`)
    expect(tabs.errors()).toEqual([])
  }, 40_000)
})
