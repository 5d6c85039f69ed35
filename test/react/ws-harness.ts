/**
 * The WebSocket side of the hook tests' harness: an MSW `ws.link` server per URL that
 * records what each connection sent and how it closed, and renderHook around useWebSocket.
 * Use with setupHarness() (harness.ts), which owns the MSW server.
 */
import { renderHook } from '@testing-library/react'
import { ws } from 'msw'
import type * as React from 'react'
import { useWebSocket, type UseWebSocketOptions, type UseWebSocketResult } from '../../src/react/use-web-socket'
import { dedupe, server } from './harness'

let counter = 0
/** A fresh ws:// URL per call, so no two tests share a stream key or an MSW link. */
export function wsUrl(name: string): string {
  return `ws://localhost/${name}/${++counter}`
}

/** What the mock server saw of one client connection. */
export interface ServerSide {
  client: Parameters<Parameters<typeof link.addEventListener<'connection'>>[1]>[0]['client']
  /** The URL the client connected to, query included. */
  url: string
  /** The subprotocols the client asked for. */
  protocols: string | string[] | undefined
  /** Frames the client sent, in order. */
  received: unknown[]
  /** The code of the close, once the connection closed (from either side). */
  closedWith: number | null
}

/**
 * One link per test file (this module is evaluated once per file): MSW 3 adds a listener to a process-wide BroadcastChannel for
 * every `ws.link()` and never removes it, so a link per test trips Node's
 * MaxListenersExceededWarning. Each test adds its own handler for its own URL instead.
 */
const link = ws.link('ws://localhost/*')

/**
 * Serves `url` with MSW's `ws.link`: every connection is recorded with what the client sent
 * and how it closed. `onConnect` runs when the connection is made (before it opens).
 */
export function wsServer(url: string, onConnect?: (connection: ServerSide, index: number) => void) {
  const connections: ServerSide[] = []
  server.use(
    link.addEventListener('connection', ({ client, info }) => {
      if (client.url.href.split('?')[0] !== url) return
      const connection: ServerSide = { client, url: client.url.href, protocols: info.protocols, received: [], closedWith: null }
      client.addEventListener('message', (event) => void connection.received.push(event.data))
      client.addEventListener('close', (event) => void (connection.closedWith = event.code))
      connections.push(connection)
      onConnect?.(connection, connections.length - 1)
    }),
  )
  return {
    connections,
    connection(n: number): ServerSide {
      const c = connections[n]
      if (!c) throw new Error(`no connection #${n} yet (have ${connections.length})`)
      return c
    },
    /** Everything every connection received, in order. */
    received: () => connections.flatMap((c) => c.received),
  }
}

/** An echo server: every frame comes back prefixed with `echo: `. */
export const echo = (connection: ServerSide) =>
  connection.client.addEventListener('message', (event) => connection.client.send(`echo: ${String(event.data)}`))

export type Url = string | (() => string | Promise<string>) | null

/** renderHook around useWebSocket that records every render; rerender() takes new props. */
export function renderWebSocket<In = string, Out = unknown, S = In>(
  url: Url,
  options: UseWebSocketOptions<In, Out, S>,
  renderOptions: { wrapper?: React.JSXElementConstructor<{ children: React.ReactNode }> } = {},
) {
  const renders: UseWebSocketResult<S, Out>[] = []
  const hook = renderHook(
    (props: { url: Url; options: UseWebSocketOptions<In, Out, S> }) => {
      const result = useWebSocket<In, Out, S>(props.url, props.options)
      renders.push(result)
      return result
    },
    { initialProps: { url, options }, ...renderOptions },
  )
  return { ...hook, renders, statuses: () => dedupe(renders.map((r) => r.status)) }
}

