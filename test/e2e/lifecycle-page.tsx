/**
 * The page of the lifecycle and flood e2e tests (lifecycle-fixture.ts bundles it with
 * esbuild from this repo's src/, production React). One consumer component of the kind
 * named in the query, with the hook's default options unless the query says otherwise:
 *
 * - `?kind=sse&stream=ticks`: `useEventSource('/sse/ticks')`; each event's data is its seq.
 * - `?kind=ws`: `useWebSocket('/ws')` on tabwire/server's channel protocol, with `messageId`
 *   (the event frame's id) and `onReopen` re-subscribing after `lastEventId`.
 * - `?kind=host`: the sse consumer, plus a sandboxed iframe (`allow-scripts` only: an
 *   opaque origin, whose lock manager refuses with SecurityError) running the sse consumer.
 *
 * It records into `window.__rec` (made by the page's inline script, see PAGE_SCRIPT in
 * lifecycle-fixture.ts, which also counts stream connections, lock requests, page
 * lifecycle events and uncaught errors): every seq `onMessage` got (in order, with repeats
 * and steps back counted), React commits of the consumer (a layout effect without deps runs
 * once per commit) and animation frames.
 */
import { useEffect, useLayoutEffect } from 'react'
import { createRoot } from 'react-dom/client'
import { type ShareMode, useEventSource, useWebSocket } from '../../src/index.ts'
import type { PageRecording } from './lifecycle-fixture.ts'

declare global {
  interface Window {
    __rec: PageRecording
  }
}

const params = new URLSearchParams(location.search)
const rec = window.__rec
rec.kind = params.get('kind') ?? 'sse'
/** Keep every seq (small streams); a flood only counts. */
const keep = params.get('keep') !== '0'
const shareParam = params.get('share')
/** Default options unless the test asks: no `share` key at all. */
const shareOption: { share?: ShareMode } = shareParam === null ? {} : { share: shareParam === 'false' ? false : (shareParam as ShareMode) }

/** One delivery of `seq`, in the order onMessage gave it. */
function take(seq: number): void {
  if (!Number.isSafeInteger(seq)) return void rec.errors.push(`not a seq: ${seq}`)
  rec.count++
  if (rec.last !== 0 && seq <= rec.last) rec.repeats++
  else if (rec.last !== 0 && seq !== rec.last + 1) rec.gaps++
  rec.first ||= seq
  rec.last = Math.max(rec.last, seq)
  if (keep) {
    rec.seqs.push(seq)
    rec.times.push(Date.now())
  }
}

/** Counts every commit, and publishes the status the consumer renders. */
function useCommit(status: string): void {
  useLayoutEffect(() => {
    rec.commits++
    if (rec.status !== status) rec.statuses.push({ status, at: Date.now() })
    rec.status = status
  })
}

function SseConsumer() {
  const stream = params.get('stream') ?? 'ticks'
  const { status, data } = useEventSource<string>(`/sse/${stream}`, {
    ...shareOption,
    onMessage: (m) => take(Number(m.data)),
    onError: (e) => void rec.errors.push(`${e.kind}: ${e.message}`),
  })
  useCommit(status)
  return (
    <output data-state={status} data-testid="consumer">
      {status} · {data}
    </output>
  )
}

type ChannelFrame = { type: 'event'; id: string; data: unknown } | { type: 'subscribed' | 'reset' | 'error'; [k: string]: unknown }
type ChannelOut = { type: 'subscribe'; channel: string; since?: string | undefined }

/** tabwire/server's WebSocket channel protocol: ids are `<epoch>.<seq>`. */
const seqOf = (id: string) => Number(id.slice(id.lastIndexOf('.') + 1))

function WsConsumer() {
  const withId = params.get('messageId') !== '0'
  const { status, send } = useWebSocket<ChannelFrame, ChannelOut>(`${location.origin.replace(/^http/, 'ws')}/ws`, {
    ...shareOption,
    json: true,
    // The frame's own id: with it, a leader change passes each message on exactly once.
    ...(withId && {
      messageId: (raw: unknown) => {
        const frame = JSON.parse(raw as string) as ChannelFrame
        return frame.type === 'event' ? frame.id : undefined
      },
    }),
    // A socket that takes the stream over (here or in another tab) picks up after the last id.
    onReopen: ({ lastEventId }) => [{ type: 'subscribe', channel: 'ticks', since: lastEventId }],
    onMessage: ({ data: frame }) => {
      if (frame.type === 'event') take(seqOf(frame.id))
      else if (frame.type !== 'subscribed') rec.errors.push(`frame: ${JSON.stringify(frame)}`)
    },
    onError: (e) => void rec.errors.push(`${e.kind}: ${e.message}`),
  })
  // The first socket subscribes (queued until it opens; a follower's goes through the leader).
  useEffect(() => void send({ type: 'subscribe', channel: 'ticks' }), [send])
  useCommit(status)
  return (
    <output data-state={status} data-testid="consumer">
      {status}
    </output>
  )
}

function App() {
  if (rec.kind === 'ws') return <WsConsumer />
  if (rec.kind === 'host') {
    return (
      <>
        <SseConsumer />
        <iframe title="sandboxed" sandbox="allow-scripts" src={`/?kind=sse&stream=${params.get('stream') ?? 'ticks'}`} />
      </>
    )
  }
  return <SseConsumer />
}

// A rAF loop counts the frames the page got to paint.
const frame = () => {
  rec.frames++
  requestAnimationFrame(frame)
}
requestAnimationFrame(frame)

createRoot(document.getElementById('root')!).render(<App />)
