/**
 * Render counts under a burst, in real Chromium, for every mode and transport (issue 9,
 * item 2): a server burst of 2,000 messages must reach `onMessage` exactly once each and in
 * order, while the consumer component commits at most once per animation frame — at most
 * the frames that elapsed during the burst, plus 3. Frames are counted with a rAF loop in
 * the page, so the bound holds on a loaded machine, where a time budget would not.
 *
 * The default `share: 'tabs'` runs with the browser's real Web Locks and BroadcastChannel:
 * a leader and a follower in this one page, each with a registry of its own (as each real
 * tab has, see tabs.test.tsx), and both are checked. WebSocket bursts come from
 * test/browser/burst-server.ts, SSE bursts from the SSE fixture's `emit`.
 */
import { type ReactNode, useLayoutEffect } from 'react'
import { createRoot } from 'react-dom/client'
import { expect, inject, it, onTestFinished } from 'vitest'
import { createRegistry, type Registry, type ShareMode, useEventSource, useWebSocket } from '../../src/index'
import { control, stats, streamUrl, uniqueName } from './helpers'
import { uniqueRoom } from './ws-helpers'

const BURST = 2000

interface Msg {
  seq: number
}

/** What one consumer did: its commits, every seq `onMessage` got, and what it shows. */
interface Probe {
  label: string
  commits: number
  seqs: number[]
  status: string
  shown: number
  /** The seq whose commit ends the burst, and the frame clock it reads then. */
  target: number
  frames: () => number
  /** Commits and frames when the consumer first committed `target`. */
  done: { commits: number; frames: number } | undefined
}

/** Counts every commit of the calling component (a layout effect without deps runs once per commit). */
function useProbe(probe: Probe, status: string, shown: number): void {
  useLayoutEffect(() => {
    probe.commits++
    probe.status = status
    probe.shown = shown
    if (shown === probe.target && !probe.done) probe.done = { commits: probe.commits, frames: probe.frames() }
  })
}

interface Case {
  name: string
  hook: 'ws' | 'sse'
  transport?: 'fetch' | 'eventsource'
  share: ShareMode
}

interface ConsumerProps {
  c: Case
  url: string
  registry: Registry
  probe: Probe
  /** The native transport's constructor (a counting one: the test checks it really is in use). */
  EventSource: typeof EventSource
}

function WsConsumer({ c, url, registry, probe }: ConsumerProps) {
  const { status, data } = useWebSocket<Msg>(url, { json: true, share: c.share, registry, onMessage: (m) => void probe.seqs.push(m.data.seq) })
  useProbe(probe, status, data?.seq ?? 0)
  return <output data-state={status}>{data?.seq ?? 0}</output>
}

function SseConsumer({ c, url, registry, probe, EventSource }: ConsumerProps) {
  const { status, data } = useEventSource<Msg>(url, {
    json: true,
    share: c.share,
    transport: c.transport,
    EventSource,
    registry,
    onMessage: (m) => void probe.seqs.push(m.data.seq),
  })
  useProbe(probe, status, data?.seq ?? 0)
  return <output data-state={status}>{data?.seq ?? 0}</output>
}

function mount(label: string, render: (probe: Probe) => ReactNode): Probe {
  const probe: Probe = { label, commits: 0, seqs: [], status: 'unmounted', shown: 0, target: Number.NaN, frames: () => Number.NaN, done: undefined }
  const container = document.createElement('div')
  document.body.append(container)
  const root = createRoot(container)
  root.render(render(probe))
  onTestFinished(() => {
    root.unmount()
    container.remove()
  })
  return probe
}

/** A stream of this test's own: its URL, the connections the server accepted, and a burst. */
interface TestStream {
  url: string
  connections(): Promise<number>
  burst(count: number): Promise<void>
}

async function json<R>(url: string, method: 'GET' | 'POST' = 'GET'): Promise<R> {
  const response = await fetch(url, { method, cache: 'no-store' })
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as R
}

function openStream(c: Case): TestStream {
  if (c.hook === 'ws') {
    const base = inject('burstBase')
    const room = encodeURIComponent(uniqueRoom('render'))
    return {
      url: `${base.replace(/^http/, 'ws')}/${room}`,
      connections: async () => (await json<{ accepted: number }>(`${base}/rooms/${room}`)).accepted,
      async burst(count) {
        const { connections } = await json<{ connections: number }>(`${base}/burst?room=${room}&count=${count}`, 'POST')
        expect(connections, 'sockets the burst went to').toBe(1)
      },
    }
  }
  const name = uniqueName('render')
  return {
    // interval 0: events only on `emit`.
    url: streamUrl(name, { interval: 0 }),
    connections: async () => (await stats(name)).accepted,
    burst: (count) => control(name, 'emit', { count }).then(() => {}),
  }
}

/** The browser's EventSource, counting the instances made through it. */
function countingEventSource(): { readonly made: number; EventSource: typeof EventSource } {
  const counter = { made: 0, EventSource: globalThis.EventSource }
  counter.EventSource = class extends globalThis.EventSource {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(url, init)
      counter.made++
    }
  }
  return counter
}

/** Resolves after `n` animation frames. */
const frames = (n: number) =>
  new Promise<void>((resolve) => {
    const step = () => (--n <= 0 ? resolve() : requestAnimationFrame(step))
    requestAnimationFrame(step)
  })

/** Counts animation frames from now until the test ends. */
function frameClock(): { readonly count: number } {
  const clock = { count: 0 }
  let running = true
  const tick = () => {
    if (!running) return
    clock.count++
    requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
  onTestFinished(() => void (running = false))
  return clock
}

/** `1..n, each once, in order`, or what is wrong with the seqs. */
function sequence(seqs: readonly number[], n: number): string {
  if (seqs.length === n && seqs.every((s, i) => s === i + 1)) return `1..${n}, each once, in order`
  const seen = new Set(seqs)
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((s) => !seen.has(s))
  const repeated = seqs.length - seen.size
  const firstWrong = seqs.findIndex((s, i) => s !== i + 1)
  return `${seqs.length} deliveries: ${missing.length} missing (e.g. ${missing.slice(0, 5).join(', ') || '-'}), ${repeated} repeated, first out of place at index ${firstWrong} (seq ${seqs[firstWrong]})`
}

const cases: Case[] = [
  { name: "useWebSocket, share 'tabs'", hook: 'ws', share: 'tabs' },
  { name: "useWebSocket, share 'tab'", hook: 'ws', share: 'tab' },
  { name: 'useWebSocket, share false', hook: 'ws', share: false },
  { name: "useEventSource (fetch), share 'tabs'", hook: 'sse', transport: 'fetch', share: 'tabs' },
  { name: "useEventSource (fetch), share 'tab'", hook: 'sse', transport: 'fetch', share: 'tab' },
  { name: "useEventSource (eventsource), share 'tabs'", hook: 'sse', transport: 'eventsource', share: 'tabs' },
  { name: "useEventSource (eventsource), share 'tab'", hook: 'sse', transport: 'eventsource', share: 'tab' },
]

for (const c of cases) {
  const tabs = c.share === 'tabs' ? ['leader', 'follower'] : ['consumer']
  it(`${c.name}: a burst of ${BURST} reaches onMessage once each, in order, with at most one commit per animation frame (${tabs.join(' and ')})`, async () => {
    const stream = openStream(c)
    const native = countingEventSource()
    const Consumer = c.hook === 'ws' ? WsConsumer : SseConsumer
    const probes: Probe[] = []
    // One "tab" at a time, each with a registry of its own: the first one leads.
    for (const label of tabs) {
      const registry = createRegistry({ linger: 0 })
      const probe = mount(label, (p) => <Consumer c={c} url={stream.url} registry={registry} probe={p} EventSource={native.EventSource} />)
      await expect.poll(() => probe.status, { timeout: 10_000 }).toBe('open')
      probes.push(probe)
    }
    // One connection for all: a follower mirrors the leader's.
    expect(await stream.connections()).toBe(1)
    // …and it is the transport asked for.
    expect(native.made, 'native EventSources made').toBe(c.transport === 'eventsource' ? 1 : 0)
    // Whatever the opening scheduled lands before the count starts.
    await frames(2)
    const clock = frameClock()
    const before = probes.map((p) => p.commits)
    for (const p of probes) Object.assign(p, { target: BURST, frames: () => clock.count })

    await stream.burst(BURST)
    await expect
      .poll(() => probes.map((p) => `${p.label}: ${p.seqs.length} messages, shows ${p.shown}`), { timeout: 30_000 })
      .toEqual(probes.map((p) => `${p.label}: ${BURST} messages, shows ${BURST}`))
    // Nothing more comes after the last one (a repeat would show here).
    await frames(2)

    for (const p of probes) expect(sequence(p.seqs, BURST), `${p.label}: the seqs onMessage got`).toBe(`1..${BURST}, each once, in order`)
    for (const [i, p] of probes.entries()) {
      const commits = p.done!.commits - before[i]!
      expect
        .soft(commits, `${p.label}: React commits while ${BURST} messages arrived over ${p.done!.frames} animation frames`)
        .toBeLessThanOrEqual(p.done!.frames + 3)
    }
  }, 60_000)
}
