/**
 * The realtime side of the hook tests' harness: a tiny realtime server on MSW's `ws.link`
 * (through wsServer) that speaks src/core/realtime/protocol.ts, clients made the way an app
 * makes them (closed after each test), and timers that hold the client's grace timer for
 * the test to run. Use with setupHarness() (harness.ts).
 */
import { cleanup, render } from '@testing-library/react'
import { createElement, type ReactNode, StrictMode } from 'react'
import { afterEach } from 'vitest'
import { createRealtime } from '../../src/core/realtime/client'
import type { RealtimeClient, RealtimeOptions } from '../../src/core/realtime/client-types'
import type { RealtimeClientFrame, RealtimeServerFrame } from '../../src/core/realtime/protocol'
import type { Timers } from '../../src/core/runtime'
import { RealtimeProvider } from '../../src/react/realtime-provider'
import { useRealtime, type UseRealtimeOptions, type UseRealtimeResult } from '../../src/react/use-realtime'
import { dedupe, type Share, steadyEnvironment } from './harness'
import { type ServerSide, wsServer, wsUrl } from './ws-harness'

/**
 * Serves the realtime protocol at a fresh ws:// url. Channel ids are `<channel>#<n>`;
 * a subscribe without `since` gets `subscribed`, then the channel's snapshot if it has one;
 * with `since`, the events after it. Channels in `deny` answer `unauthorized`.
 */
export function realtimeServer(name: string) {
  const url = wsUrl(name)
  const logs = new Map<string, string[]>()
  const snapshots = new Map<string, unknown>()
  const subs = new Map<ServerSide, Set<string>>()
  const deny = new Set<string>()
  /** Every frame any connection sent, parsed, in order. */
  const frames: RealtimeClientFrame[] = []
  const to = (c: ServerSide, frame: RealtimeServerFrame) => c.client.send(JSON.stringify(frame))
  const append = (channel: string, data: unknown) => {
    const log = logs.get(channel) ?? []
    logs.set(channel, log)
    log.push(JSON.stringify(data))
    const id = `${channel}#${log.length}`
    for (const [c, set] of subs) if (set.has(channel)) to(c, { type: 'event', channel, id, data })
    return id
  }
  const srv = wsServer(url, (c) => {
    subs.set(c, new Set())
    c.client.addEventListener('close', () => subs.delete(c))
    c.client.addEventListener('message', ({ data }) => {
      if (data === 'ping') return c.client.send('pong')
      const frame = JSON.parse(String(data)) as RealtimeClientFrame
      frames.push(frame)
      const set = subs.get(c)!
      if (frame.type === 'subscribe') {
        const { channel, since } = frame
        if (deny.has(channel)) return to(c, { type: 'error', code: 'unauthorized', message: 'not for you', channel })
        set.add(channel)
        const log = logs.get(channel) ?? []
        to(c, { type: 'subscribed', channel, head: log.length ? `${channel}#${log.length}` : null })
        if (since === undefined) {
          if (snapshots.has(channel)) to(c, { type: 'snapshot', channel, data: snapshots.get(channel) })
          return
        }
        const from = Number(since.split('#')[1])
        log.slice(from).forEach((text, i) => to(c, { type: 'event', channel, id: `${channel}#${from + i + 1}`, data: JSON.parse(text) }))
      } else if (frame.type === 'unsubscribe') {
        set.delete(frame.channel)
      } else if (frame.type === 'publish') {
        const id = append(frame.channel, frame.data)
        if (frame.pid) to(c, { type: 'ack', channel: frame.channel, pid: frame.pid, id })
      }
    })
  })
  return {
    url,
    connections: srv.connections,
    frames,
    /** The frames of one type, as `type channel`. */
    ops: (...types: RealtimeClientFrame['type'][]) => frames.filter((f) => types.includes(f.type)).map((f) => `${f.type} ${f.channel}`),
    /** The channels the open connections follow, sorted. */
    subscribed: () => [...subs.values()].flatMap((s) => [...s]).sort(),
    /** Appends an event to a channel; its subscribers get it at once. Returns its id. */
    emit: append,
    /** Sends a frame to every connection. */
    send: (frame: RealtimeServerFrame) => subs.forEach((_, c) => to(c, frame)),
    snapshots,
    deny,
  }
}

export type RealtimeServer = ReturnType<typeof realtimeServer>

/** A client's grace, in ms: a delay no other timer of the client uses. */
export const GRACE = 7777

/** Global timers, except that the grace timer waits until the test runs it. */
export function graceTimers() {
  const held = new Map<object, () => void>()
  const timers: Timers = {
    setTimeout(callback, ms) {
      if (ms !== GRACE) return globalThis.setTimeout(callback, ms)
      const handle = {}
      held.set(handle, callback)
      return handle
    },
    clearTimeout(handle) {
      if (!held.delete(handle as object)) globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>)
    },
  }
  return {
    timers,
    /** Grace timers pending now. */
    get pending() {
      return held.size
    },
    /** Ends every pending grace now. */
    expire() {
      const callbacks = [...held.values()]
      held.clear()
      for (const callback of callbacks) callback()
    },
  }
}

const clients: RealtimeClient[] = []
afterEach(() => {
  cleanup()
  for (const client of clients.splice(0)) client.close()
})

/** A client as an app makes one (one per tab), closed after the test; its grace timers are the test's. */
export function testClient(srv: RealtimeServer, share: Share, extra: Partial<RealtimeOptions> = {}) {
  const grace = graceTimers()
  const client = createRealtime({
    url: srv.url,
    share,
    transport: 'websocket',
    storage: null,
    environment: steadyEnvironment,
    grace: GRACE,
    timers: grace.timers,
    ...extra,
  })
  clients.push(client)
  return { client, grace }
}

/** Renders useRealtime under a RealtimeProvider (and StrictMode if asked), recording every commit. */
export function renderRealtime<T, Out = unknown, S = T>(
  client: RealtimeClient,
  channel: string | null,
  options: UseRealtimeOptions<T, S> = {},
  { strict = false } = {},
) {
  const renders: UseRealtimeResult<S, Out>[] = []
  const current = { value: undefined as unknown as UseRealtimeResult<S, Out> }
  function Probe(props: { channel: string | null; options: UseRealtimeOptions<T, S> }) {
    const result = useRealtime<T, Out, S>(props.channel, props.options)
    renders.push(result)
    current.value = result
    return null
  }
  const tree = (props: { channel: string | null; options: UseRealtimeOptions<T, S> }): ReactNode => {
    const inner = createElement(RealtimeProvider, { client }, createElement(Probe, props))
    return strict ? createElement(StrictMode, null, inner) : inner
  }
  const view = render(tree({ channel, options }))
  return {
    ...view,
    renders,
    get result() {
      return current.value
    },
    rerender: (next: { channel: string | null; options?: UseRealtimeOptions<T, S> }) => view.rerender(tree({ options, ...next })),
    statuses: () => dedupe(renders.map((r) => r.status)),
  }
}
