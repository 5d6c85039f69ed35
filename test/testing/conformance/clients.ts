/**
 * The conformance suite's side of the wire: a driver that serves each protocol (the real
 * `tabwire/server` handlers on a loopback server, or the MSW mocks), and clients written
 * once on the globals a browser has (`fetch`, `WebSocket`), so the same bytes are asked of
 * both. The clients read SSE with the project's own parser.
 */
import { afterEach, expect, vi } from 'vitest'
import { createSseParser } from '../../../src/core/sse-parser'
import type { ReplayLog } from '../../../src/server/log'

/** A channel as the realtime handler and its mock take it. */
export type ChannelInput = ReplayLog | { log: ReplayLog; writable?: boolean; snapshot?: () => unknown }

/** Serves each protocol; answers the url to connect to. */
export interface Driver {
  readonly name: string
  sse(options: { log: ReplayLog; retry?: number; lastEventIdParam?: string }): Promise<string>
  /** `createWebSocketHandler`; answers a ws: url. */
  channels(options: { channels: Record<string, ReplayLog>; writable?: string[] }): Promise<string>
  /** `createRealtimeHandler`; answers an http: url (the WebSocket is the same url as ws:). */
  realtime(options: { channels: Record<string, ChannelInput>; maxPayload?: number; maxSubscriptions?: number }): Promise<string>
}

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
/** Runs `fn` after the current test. */
export const onCleanup = (fn: () => unknown) => void cleanups.push(fn)

/** Polls `check` until it passes (no fixed sleep: ends as soon as it holds). */
export const eventually = <T>(check: () => T, timeout = 10_000) => vi.waitFor(check, { timeout, interval: 5 })

export interface SseEvent {
  type: string
  data: string
  id: string
}

export interface SseReader {
  response: Response
  events: SseEvent[]
  retries: number[]
  raw(): string
  ended(): boolean
  close(): void
}

/** Opens an SSE stream with `fetch` and parses it as it arrives. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  let raw = ''
  let ended = false
  const reader: SseReader = { response, events: [], retries: [], raw: () => raw, ended: () => ended, close: () => controller.abort() }
  const parser = createSseParser(
    {
      event: (type, data, id) => reader.events.push({ type, data, id }),
      id: () => {},
      retry: (ms) => reader.retries.push(ms),
      oversized: () => {},
    },
    1 << 20,
  )
  const done = (async () => {
    if (!response.body) return
    const body = response.body.getReader()
    const decoder = new TextDecoder()
    try {
      for (;;) {
        const { done: end, value } = await body.read()
        if (end) break
        const text = decoder.decode(value, { stream: true })
        raw += text
        parser.feed(text)
      }
    } catch {
      // Aborted by the test or cut by the server: both end the stream.
    } finally {
      ended = true
    }
  })()
  onCleanup(() => {
    controller.abort()
    return done
  })
  return reader
}

export interface WsReader {
  socket: WebSocket
  texts: string[]
  /** Text messages parsed as JSON (other text as itself). */
  frames: unknown[]
  closed: Promise<number>
  send(message: unknown): void
}

/** Opens a WebSocket (the global one) and waits until it is open. */
export async function openWs(url: string): Promise<WsReader> {
  const socket = new WebSocket(url)
  const reader: WsReader = {
    socket,
    texts: [],
    frames: [],
    closed: new Promise((resolve) => socket.addEventListener('close', (event) => resolve(event.code))),
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
  }
  socket.addEventListener('message', (event) => {
    const text = typeof event.data === 'string' ? event.data : `binary`
    reader.texts.push(text)
    try {
      reader.frames.push(JSON.parse(text))
    } catch {
      reader.frames.push(text)
    }
  })
  onCleanup(() => {
    socket.close()
    return reader.closed
  })
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve())
    socket.addEventListener('close', (event) => reject(new Error(`closed before open (${event.code})`)))
  })
  return reader
}

/** Waits until `list` has `n` items (or more), and answers them. */
export async function atLeast<T>(list: () => readonly T[], n: number): Promise<readonly T[]> {
  await eventually(() => expect(list().length, JSON.stringify(list())).toBeGreaterThanOrEqual(n))
  return list()
}

/** The frames of `type`, with `channel` when given. */
export function ofType(frames: readonly unknown[], type: string, channel?: string): Record<string, unknown>[] {
  return (frames as Record<string, unknown>[]).filter((f) => typeof f === 'object' && f !== null && f.type === type && (channel === undefined || f.channel === channel))
}
