/**
 * useEventSource sharing one stream across "tabs" in real Chromium: each tab is a registry
 * of its own (as each real tab has), so the tabs meet only through the browser's real Web
 * Locks and BroadcastChannel. Several real tabs of one browser are in test/e2e/tabs.test.ts.
 */
import { createRoot, type Root } from 'react-dom/client'
import { expect, it, onTestFinished } from 'vitest'
import type { ShareMode } from '../../src/core/share'
import { createRegistry, type Registry } from '../../src/core/registry'
import { useEventSource } from '../../src/react/use-event-source'
import { stats, streamUrl, uniqueName } from './helpers'

interface Tab {
  root: Root
  container: HTMLElement
  /** The id of every message `onMessage` got, in order. */
  seen: string[]
  output(): HTMLOutputElement
}

function Ticker({ url, registry, share, onId }: { url: string; registry: Registry; share: ShareMode; onId: (id: string) => void }) {
  const { status, data } = useEventSource<{ seq: number }>(url, {
    json: true,
    initialDelay: 50,
    maxDelay: 200,
    registry,
    share,
    onMessage: (message) => onId(message.id!),
  })
  return <output data-state={status}>{data === undefined ? 'waiting' : `seq ${data.seq}`}</output>
}

/** A "tab": its own registry (no linger, so unmounting lets go at once) and React root. */
function openTab(url: string, share: ShareMode = 'tabs'): Tab {
  const container = document.createElement('div')
  document.body.append(container)
  const root = createRoot(container)
  const seen: string[] = []
  const registry = createRegistry({ linger: 0 })
  root.render(<Ticker url={url} registry={registry} share={share} onId={(id) => seen.push(id)} />)
  onTestFinished(() => {
    root.unmount()
    container.remove()
  })
  return { root, container, seen, output: () => container.querySelector('output')! }
}

/** Exactly the ids from the first one on, each once, in order. */
const contiguous = (seen: string[]) => {
  const first = Number(seen[0])
  return seen.every((id, i) => Number(id) === first + i)
}

it('three tabs share one connection; the leader leaves, another resumes from the last id, and nobody misses or repeats an event', async () => {
  const name = uniqueName('tabs')
  const url = streamUrl(name, { interval: 10 })
  const a = openTab(url)
  await expect.poll(() => a.seen.length).toBeGreaterThanOrEqual(3)
  const [b, c] = [openTab(url), openTab(url)]
  await expect.poll(() => [b, c].map((t) => t.output()?.dataset.state)).toEqual(['open', 'open'])
  await expect.poll(() => Math.min(b.seen.length, c.seen.length)).toBeGreaterThanOrEqual(10)
  // One request for three tabs, and it stays one.
  expect((await stats(name)).accepted).toBe(1)
  // A follower's screen shows the stream as the leader's does.
  expect(b.output().textContent).toMatch(/^seq \d+$/)

  a.root.unmount()
  const before = Math.max(b.seen.length, c.seen.length)
  await expect.poll(() => Math.min(b.seen.length, c.seen.length), { timeout: 3000 }).toBeGreaterThanOrEqual(before + 20)
  const s = await stats(name)
  expect(s.accepted).toBe(2)
  expect(s.open).toBe(1)
  // The new leader resumed from the last id the tabs had seen, not from the start.
  const resumedAt = Number(s.requests[1]!.header)
  expect(resumedAt).toBeGreaterThanOrEqual(10)
  for (const tab of [b, c]) {
    expect(contiguous(tab.seen), `ids ${tab.seen.join(',')}`).toBe(true)
    expect(tab.seen).toContain(String(resumedAt + 1))
  }
  // The first leader got every id from the start until it left.
  expect(a.seen[0]).toBe('1')
  expect(contiguous(a.seen), `ids ${a.seen.join(',')}`).toBe(true)
})

it("share: 'tab' keeps a connection per tab", async () => {
  const name = uniqueName('tab')
  const url = streamUrl(name, { interval: 10 })
  const tabs = [openTab(url, 'tab'), openTab(url, 'tab')]
  await expect.poll(() => Math.min(...tabs.map((t) => t.seen.length))).toBeGreaterThanOrEqual(3)
  expect((await stats(name)).accepted).toBe(2)
})

/** A "tab" of another version of the app: it reads the same stream its own way. */
function Reader({ url, registry, parse, onRaw }: { url: string; registry: Registry; parse: (data: unknown) => string; onRaw: (raw: unknown) => void }) {
  const { status, data } = useEventSource<string>(url, { json: true, parse, registry, onMessage: (message) => onRaw(message.raw) })
  return <output data-state={status}>{data ?? 'waiting'}</output>
}

it('tabs of two app versions share the stream and each reads it its own way, whichever leads', async () => {
  const name = uniqueName('versions')
  const url = streamUrl(name, { interval: 10 })
  const open = (parse: (data: unknown) => string) => {
    const container = document.createElement('div')
    document.body.append(container)
    const root = createRoot(container)
    const raws: unknown[] = []
    root.render(<Reader url={url} registry={createRegistry({ linger: 0 })} parse={parse} onRaw={(raw) => raws.push(raw)} />)
    onTestFinished(() => {
      root.unmount()
      container.remove()
    })
    return { root, raws, output: () => container.querySelector('output')!.textContent }
  }
  const v1 = open((data) => `v1 seq ${(data as { seq: number }).seq}`)
  await expect.poll(v1.output).toMatch(/^v1 seq \d+$/)
  const v2 = open((data) => `v2 #${(data as { seq: number }).seq}`)
  await expect.poll(v2.output).toMatch(/^v2 #\d+$/)
  expect((await stats(name)).accepted).toBe(1)
  // Both get the payload as it came off the wire.
  await expect.poll(() => v2.raws.length).toBeGreaterThanOrEqual(3)
  for (const raw of [...v1.raws, ...v2.raws]) expect(raw).toMatch(/^\{"seq":\d+,/)

  // The old version leaves: the new one leads and reads the stream as before.
  v1.root.unmount()
  const count = v2.raws.length
  await expect.poll(() => v2.raws.length, { timeout: 3000 }).toBeGreaterThan(count + 10)
  expect(v2.output()).toMatch(/^v2 #\d+$/)
  expect((await stats(name)).accepted).toBe(2)
})
