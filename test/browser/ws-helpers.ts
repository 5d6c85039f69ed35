/** Helpers for the real-browser WebSocket tests: a fixture server of the test's own, and a recorder. */
import { inject, onTestFinished } from 'vitest'
import type { Connection } from '../../src/core/connection'
import type { RealtimeErrorKind } from '../../src/core/errors'
import type { ConnectionStatus } from '../../src/core/machine'
import type { WsConnectionRecord, WsServerStats } from '../fixtures/ws-server'

const controlBase = (): string => inject('wsBase')

async function call<R>(method: 'GET' | 'POST', path: string, params: Record<string, string | number | undefined> = {}): Promise<R> {
  const url = new URL(path, controlBase())
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, String(value))
  const response = await fetch(url, { method, cache: 'no-store' })
  if (!response.ok) throw new Error(`${method} ${url.pathname} answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as R
}

/** A WebSocket fixture server of this test's own (see test/fixtures/ws-server.ts). */
export interface TestWsServer {
  /** `ws://127.0.0.1:<port>/<room>`; the port stays the same across restarts. */
  url(room: string): string
  stats(): Promise<WsServerStats>
  /** The connections the server accepted for `room`, in order. */
  connections(room: string): Promise<WsConnectionRecord[]>
  /** Every message the server received in `room`, across its connections, in order. */
  received(room: string): Promise<string[]>
  /** Drops every socket (`mode`), stops listening, and listens again after `after` ms or on `up()`. */
  restart(options?: { mode?: 'close' | 'abrupt' | 'reset'; code?: number; after?: number }): Promise<{ closed: number }>
  /** Refuses new connections (open sockets stay) for `ms`, or until `up()`. */
  down(ms?: number): Promise<void>
  up(): Promise<void>
  /** Open connections (and the next `next` new ones) go silent without closing. */
  stall(next?: number): Promise<{ stalled: number[] }>
  /** The next `next` handshakes get no answer at all. */
  hang(next?: number): Promise<void>
  /**
   * The server closes every open connection with `code`: at once, or `delay` ms after it
   * answered; with `hold`, it sends the close frame but never finishes the handshake.
   */
  closeAll(code: number, reason?: string, options?: { hold?: boolean; delay?: number }): Promise<{ closed: number[] }>
  /** The server sends `data` on every open connection (of `room`, if given). */
  send(data: string, room?: string): Promise<{ sent: number[] }>
}

/** Makes a WebSocket server for this test; it is disposed when the test ends. */
export async function wsServer(): Promise<TestWsServer> {
  const { id, url } = await call<{ id: string; url: string }>('POST', '/servers')
  onTestFinished(() => call('POST', `/servers/${id}/dispose`).then(() => {}))
  const path = `/servers/${id}`
  const stats = () => call<WsServerStats>('GET', path)
  const connections = async (room: string) => (await stats()).connections.filter((c) => c.room === room)
  return {
    url: (room) => `${url}/${encodeURIComponent(room)}`,
    stats,
    connections,
    received: async (room) => (await connections(room)).flatMap((c) => c.received),
    restart: (options = {}) => call('POST', `${path}/restart`, options),
    down: (ms) => call('POST', `${path}/down`, { ms }).then(() => {}),
    up: () => call('POST', `${path}/up`).then(() => {}),
    stall: (next) => call('POST', `${path}/stall`, { next }),
    hang: (next) => call('POST', `${path}/hang`, { next }).then(() => {}),
    closeAll: (code, reason, options = {}) =>
      call('POST', `${path}/close`, { code, reason, hold: options.hold ? 1 : undefined, delay: options.delay }),
    send: (data, room) => call('POST', `${path}/send`, { data, room }),
  }
}

export interface WsRecording<T> {
  /** Every status the connection went through, consecutive repeats removed. */
  statuses: ConnectionStatus[]
  /** `status:errorKind` at each status change (errorKind `-` when there is none). */
  steps: string[]
  /** Every error reported through `onError`, in order, with its close code. */
  errors: { kind: RealtimeErrorKind; status: number | undefined }[]
  /** The data of every message, in the order `onMessage` got them. */
  messages: T[]
}

/**
 * Records what a connection does from its first status, and closes it when the test ends
 * (a leaked socket would keep reconnecting into the next test).
 */
export function recordWs<T>(connection: Connection<T>): WsRecording<T> {
  const rec: WsRecording<T> = { statuses: [], steps: [], errors: [], messages: [] }
  const take = () => {
    const { status, error } = connection.getSnapshot()
    if (rec.statuses.at(-1) === status) return
    rec.statuses.push(status)
    rec.steps.push(`${status}:${error?.kind ?? '-'}`)
  }
  take()
  connection.subscribe(take)
  connection.onError((e) => rec.errors.push({ kind: e.kind, status: e.status }))
  connection.onMessage((m) => rec.messages.push(m.data))
  onTestFinished(() => connection.close())
  return rec
}

/**
 * Waits `ms`, or less if `stop()` turns true first: for asserting that something does
 * not happen, which no poll can show.
 */
export async function during(ms: number, stop: () => boolean = () => false): Promise<void> {
  const until = performance.now() + ms
  while (performance.now() < until && !stop()) await new Promise((resolve) => setTimeout(resolve, 10))
}

let counter = 0
/** A room name no other test uses. */
export const uniqueRoom = (label: string): string => `${label}-${Date.now().toString(36)}-${++counter}`
