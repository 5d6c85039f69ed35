/**
 * The page of `npm run bench:render` (bench/render.ts bundles it with esbuild, production
 * React): one consumer component of the variant named in the query, rendering the latest
 * message. It counts, into `window.__bench` (made by the page's inline script, which also
 * counts the stream connections this page opens):
 * - commits: a `useLayoutEffect` without deps in the consumer (Profiler's onRender needs the
 *   profiling build; a layout effect runs once per commit that includes the component);
 * - deliveries: every message `onMessage` gets (tabwire), every `lastMessage` change the
 *   consumer commits (react-use-websocket), every `onmessage` (the raw baseline), each seq
 *   once in `distinct`, repeats in `dup`, a seq below the one before in `outOfOrder`;
 * - frames: a requestAnimationFrame loop.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { ReadyState } from 'react-use-websocket'
// The hook by name: the package is CommonJS, and this repo's `"type": "module"` makes a
// default import the whole exports object (Node's rule, which esbuild follows).
import { useWebSocket as useReactUseWebSocket } from 'react-use-websocket/dist/lib/use-websocket'
import { type ShareMode, useEventSource, useWebSocket } from '../src/index.ts'

/** One message is `{"seq":n,…}`; with `--batch N`, a frame or event carries an array of N. */
interface Msg {
  seq: number
}
type Payload = Msg | Msg[]

export interface BenchPageState {
  variant: string
  /** Status of the consumer's stream as it renders it ('open' once flowing). */
  status: string
  commits: number
  delivered: number
  distinct: number
  dup: number
  outOfOrder: number
  /** Seqs outside 1..cap (malformed or unexpected). */
  outOfRange: number
  frames: number
  /** WebSocket / EventSource / fetch connections this page opened to /ws/ or /sse/ (inline script). */
  connections: number
  /** The seq the consumer shows (its last commit). */
  shown: number
  /** Errors the consumer reported. */
  errors: string[]
}

declare global {
  interface Window {
    __bench: BenchPageState
  }
}

const params = new URLSearchParams(location.search)
const variant = params.get('variant') ?? ''
const url = params.get('url') ?? ''
const cap = Number(params.get('cap') ?? '0')
const bench = window.__bench
bench.variant = variant
const seen = new Uint8Array(cap + 1)
let last = 0

/** Counts one delivery of each message in a payload. */
function take(payload: Payload | null | undefined): void {
  if (payload == null) return
  for (const { seq } of Array.isArray(payload) ? payload : [payload]) {
    bench.delivered++
    if (!Number.isInteger(seq) || seq < 1 || seq > cap) {
      bench.outOfRange++
      continue
    }
    if (seen[seq]) bench.dup++
    else {
      seen[seq] = 1
      bench.distinct++
      if (seq < last) bench.outOfOrder++
    }
    last = Math.max(last, seq)
  }
}

const latestSeq = (payload: Payload | null | undefined): number =>
  payload == null ? 0 : Array.isArray(payload) ? (payload.at(-1)?.seq ?? 0) : payload.seq

/** Counts every commit of the component that calls it, and publishes what it shows. */
function useCommit(status: string, shown: number): void {
  useLayoutEffect(() => {
    bench.commits++
    bench.status = status
    bench.shown = shown
  })
}

function View({ status, shown }: { status: string; shown: number }) {
  return (
    <output data-state={status}>
      {status} · seq {shown}
    </output>
  )
}

function TabwireWs({ share }: { share: ShareMode }) {
  const { status, data } = useWebSocket<Payload>(url, {
    json: true,
    share,
    onMessage: (m) => take(m.data),
    onError: (e) => void bench.errors.push(`${e.kind}: ${e.message}`),
  })
  const shown = latestSeq(data)
  useCommit(status, shown)
  return <View status={status} shown={shown} />
}

function TabwireSse({ share, transport }: { share: ShareMode; transport: 'fetch' | 'eventsource' }) {
  const { status, data } = useEventSource<Payload>(url, {
    json: true,
    share,
    transport,
    onMessage: (m) => take(m.data),
    onError: (e) => void bench.errors.push(`${e.kind}: ${e.message}`),
  })
  const shown = latestSeq(data)
  useCommit(status, shown)
  return <View status={status} shown={shown} />
}

function ReactUseWebSocket() {
  const { lastMessage, lastJsonMessage, readyState } = useReactUseWebSocket<Payload>(url)
  const status = readyState === ReadyState.OPEN ? 'open' : ReadyState[readyState].toLowerCase()
  // Every lastMessage change the component commits is a delivery (what it can show or act on).
  useLayoutEffect(() => {
    if (lastMessage) take(lastJsonMessage)
  }, [lastMessage])
  const shown = latestSeq(lastJsonMessage)
  useCommit(status, shown)
  return <View status={status} shown={shown} />
}

/** The baseline a hand-written component would be: a socket and a useState per message. */
function RawWebSocket() {
  const [status, setStatus] = useState('connecting')
  const [latest, setLatest] = useState<Payload | null>(null)
  useEffect(() => {
    const ws = new WebSocket(url)
    ws.onopen = () => setStatus('open')
    ws.onclose = () => setStatus('closed')
    ws.onmessage = (event: MessageEvent<string>) => {
      const payload = JSON.parse(event.data) as Payload
      take(payload)
      setLatest(payload)
    }
    return () => ws.close()
  }, [])
  const shown = latestSeq(latest)
  useCommit(status, shown)
  return <View status={status} shown={shown} />
}

const share = (name: string | null): ShareMode => (name === 'false' ? false : name === 'tab' ? 'tab' : 'tabs')

function App() {
  const kind = params.get('kind')
  if (kind === 'ruw') return <ReactUseWebSocket />
  if (kind === 'raw') return <RawWebSocket />
  if (kind === 'ws') return <TabwireWs share={share(params.get('share'))} />
  if (kind === 'sse') return <TabwireSse share={share(params.get('share'))} transport={params.get('transport') === 'eventsource' ? 'eventsource' : 'fetch'} />
  throw new Error(`unknown kind '${kind}'`)
}

// A rAF loop counts the frames the page got to paint.
const frame = () => {
  bench.frames++
  requestAnimationFrame(frame)
}
requestAnimationFrame(frame)

createRoot(document.getElementById('root')!).render(<App />)
