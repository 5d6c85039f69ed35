/**
 * useEventSource rendered with react-dom into a real Chromium page, against the real
 * loopback server: live data on screen, one connection for StrictMode and re-renders,
 * resume after a cut, and the stream closed on unmount.
 */
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { expect, it, onTestFinished } from 'vitest'
import { createRegistry } from '../../src/core/registry'
import { useEventSource } from '../../src/react/use-event-source'
import { control, ids, stats, streamUrl, uniqueName } from './helpers'

function Ticker({ url, onId }: { url: string; onId: (id: string | undefined) => void }) {
  // Inline options and callback on purpose: a new object and function on every render.
  const { status, data, lastEventId } = useEventSource<{ seq: number }>(url, {
    json: true,
    initialDelay: 50,
    maxDelay: 200,
    registry,
    onMessage: (message) => onId(message.id),
  })
  return (
    <output data-state={status} data-last-event-id={lastEventId ?? ''}>
      {data === undefined ? 'waiting' : `seq ${data.seq}`}
    </output>
  )
}

// No linger, so unmounting closes the stream at once (the default lingers 1 s).
const registry = createRegistry({ linger: 0 })

it('renders live data from a real stream, resumes after a cut, and closes on unmount', async () => {
  const name = uniqueName('hook')
  const url = streamUrl(name, { interval: 10 })
  const seen: (string | undefined)[] = []
  const container = document.createElement('div')
  document.body.append(container)
  const root = createRoot(container)
  onTestFinished(() => {
    root.unmount()
    container.remove()
  })

  const render = () =>
    root.render(
      <StrictMode>
        <Ticker url={url} onId={(id) => seen.push(id)} />
      </StrictMode>,
    )
  render()
  const output = () => container.querySelector('output')!
  const shownSeq = () => Number(/^seq (\d+)$/.exec(output().textContent ?? '')?.[1] ?? 0)

  await expect.poll(() => output()?.dataset.state).toBe('open')
  await expect.poll(shownSeq).toBeGreaterThanOrEqual(5)
  // Re-renders with new inline options and callbacks keep the one connection.
  render()
  render()
  await expect.poll(shownSeq).toBeGreaterThanOrEqual(8)
  expect((await stats(name)).accepted).toBe(1)

  const { cut } = await control<{ cut: number[] }>(name, 'cut')
  expect(cut).toHaveLength(1)
  await expect.poll(shownSeq).toBeGreaterThanOrEqual(cut[0]! + 5)
  expect(output().dataset.state).toBe('open')
  // What is on screen is one coherent snapshot: the data and its event id agree.
  expect(output().dataset.lastEventId).toBe(String(shownSeq()))

  root.unmount()
  await expect.poll(async () => (await stats(name)).open).toBe(0)
  const s = await stats(name)
  expect(s.accepted).toBe(2)
  expect(s.closedByClient).toBe(1)
  expect(s.requests.map((r) => r.header)).toEqual([null, String(cut[0]! - 1)])
  // The latest inline callback got every message once, in order, across the cut.
  expect(seen).toEqual(ids(seen.length))
})
