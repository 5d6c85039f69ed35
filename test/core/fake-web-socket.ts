import { afterEach, beforeEach, expect, vi } from 'vitest'
// A WebSocket double the test drives by hand, injected through the `WebSocket` option (no
// global patching, no module mocking). It follows the parts of the WHATWG WebSocket
// contract the transport relies on: the ready states, `send()` on a socket that is not
// open, a client `close()` that only starts the closing handshake, and event handlers that
// cannot throw into whoever fired the event (a browser reports the throw and goes on).

import type { Connection, RealtimeMessage } from '../../src/core/connection'
import type { RealtimeError } from '../../src/core/errors'
import { createWebSocket, type WebSocketConnection, type WebSocketOptions } from '../../src/core/web-socket'
import { fakeEnvironment, flushMicrotasks, manualFrames } from './fakes'

/** What the server does: open, send, close. What the client did: sent frames, close calls. */
export interface FakeSocket {
  readonly url: string
  /** The second constructor argument, as given. */
  readonly protocols: string | string[] | undefined
  readyState: number
  binaryType: BinaryType
  /** Wire data the client sent, in order (only while open, as a browser would). */
  readonly sent: unknown[]
  /** Every `close()` the client made, as `[code, reason]`. */
  readonly closeCalls: [number | undefined, string | undefined][]
  onopen: ((event: Event) => void) | null
  onmessage: ((event: MessageEvent) => void) | null
  onclose: ((event: CloseEvent) => void) | null
  onerror: ((event: Event) => void) | null
  /** The server accepts the handshake. */
  open(): void
  /** The server sends a frame. */
  receive(data: unknown): void
  /** The server (or the network) closes the socket with this code. */
  serverClose(code: number, reason?: string): void
  /** The closing handshake starts without ending (readyState CLOSING). */
  startClosing(): void
  send(data: unknown): void
  close(code?: number, reason?: string): void
}

export interface FakeWebSockets {
  /** The constructor to inject as the `WebSocket` option. */
  readonly WebSocket: typeof WebSocket
  /** Every socket constructed, oldest first. */
  readonly sockets: FakeSocket[]
  /** The newest socket (throws if there is none, so a test cannot read a missing one). */
  readonly last: FakeSocket
  /** What event handlers threw (a browser reports these; it does not rethrow them). */
  readonly handlerErrors: unknown[]
  /** Sends the client made on any socket, in order. */
  readonly allSent: () => unknown[]
}

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/** A fresh fake WebSocket class with its own record of sockets: one per test. */
export function fakeWebSockets(): FakeWebSockets {
  const sockets: FakeSocket[] = []
  const handlerErrors: unknown[] = []

  const fire = <E>(handler: ((event: E) => void) | null, event: E) => {
    try {
      handler?.(event)
    } catch (thrown) {
      handlerErrors.push(thrown)
    }
  }

  class FakeWebSocketImpl implements FakeSocket {
    static readonly CONNECTING = CONNECTING
    static readonly OPEN = OPEN
    static readonly CLOSING = CLOSING
    static readonly CLOSED = CLOSED
    readonly CONNECTING = CONNECTING
    readonly OPEN = OPEN
    readonly CLOSING = CLOSING
    readonly CLOSED = CLOSED
    readonly url: string
    readonly protocols: string | string[] | undefined
    readyState = CONNECTING
    binaryType: BinaryType = 'blob'
    readonly sent: unknown[] = []
    readonly closeCalls: [number | undefined, string | undefined][] = []
    onopen: ((event: Event) => void) | null = null
    onmessage: ((event: MessageEvent) => void) | null = null
    onclose: ((event: CloseEvent) => void) | null = null
    onerror: ((event: Event) => void) | null = null

    constructor(url: string | URL, protocols?: string | string[]) {
      this.url = String(url)
      this.protocols = protocols
      sockets.push(this)
    }

    open() {
      if (this.readyState !== CONNECTING) throw new Error(`FakeWebSocket: open() in readyState ${this.readyState}`)
      this.readyState = OPEN
      fire(this.onopen, { type: 'open' } as Event)
    }

    receive(data: unknown) {
      // Frames still arrive during the closing handshake.
      if (this.readyState !== OPEN && this.readyState !== CLOSING) throw new Error(`FakeWebSocket: receive() in readyState ${this.readyState}`)
      fire(this.onmessage, { type: 'message', data } as MessageEvent)
    }

    serverClose(code: number, reason = '') {
      if (this.readyState === CLOSED) throw new Error('FakeWebSocket: serverClose() on a closed socket')
      this.readyState = CLOSED
      fire(this.onclose, { type: 'close', code, reason, wasClean: code !== 1006 } as CloseEvent)
    }

    startClosing() {
      this.readyState = CLOSING
    }

    send(data: unknown) {
      // https://websockets.spec.whatwg.org/#dom-websocket-send: throws while connecting,
      // and silently discards (buffers nothing) once closing or closed.
      if (this.readyState === CONNECTING) throw new DOMException('Still in CONNECTING state.', 'InvalidStateError')
      if (this.readyState === OPEN) this.sent.push(data)
    }

    close(code?: number, reason?: string) {
      this.closeCalls.push([code, reason])
      // A client close only starts the closing handshake; the test may end it with
      // serverClose(). A socket that never opened never fires `open` after this.
      if (this.readyState === CONNECTING || this.readyState === OPEN) this.readyState = CLOSING
    }
  }

  return {
    WebSocket: FakeWebSocketImpl as unknown as typeof WebSocket,
    sockets,
    get last() {
      const socket = sockets.at(-1)
      if (!socket) throw new Error('fakeWebSockets: no socket was constructed')
      return socket
    },
    handlerErrors,
    allSent: () => sockets.flatMap((s) => s.sent),
  }
}

/** Connections (and their fakes) made by `setupWebSocket` in this test file and not yet closed. */
const made: { connection: Connection<unknown>; fake: FakeWebSockets }[] = []

/**
 * Closes every connection `setupWebSocket` made (call it in `afterEach`) and returns what
 * their socket event handlers threw: a test that expects none asserts `[]`.
 */
export function closeAllWebSockets(): unknown[] {
  const thrown: unknown[] = []
  for (const { connection, fake } of made.splice(0)) {
    connection.close()
    thrown.push(...fake.handlerErrors)
  }
  return thrown
}

/**
 * A `createWebSocket` over a fresh fake WebSocket class, a fake environment (online,
 * visible) and a manual frame scheduler, with `random` fixed at 0.5 and a 100 ms base
 * delay, so the first retry waits exactly 50 ms, the second 100, the third 200. Records
 * the status at every notification, every message and every error.
 */
export function setupWebSocket<In = unknown, Out = unknown>(
  options: WebSocketOptions<In, Out> = {},
  url: string | (() => string | Promise<string>) = 'ws://test.local/socket',
) {
  const fake = fakeWebSockets()
  const env = fakeEnvironment()
  const frames = manualFrames()
  const connection: WebSocketConnection<In, Out> = createWebSocket<In, Out>(url, {
    WebSocket: fake.WebSocket,
    environment: env,
    scheduleFrame: frames.schedule,
    random: () => 0.5,
    initialDelay: 100,
    ...options,
  })
  made.push({ connection: connection as Connection<unknown>, fake })
  const statuses: string[] = []
  connection.subscribe(() => statuses.push(connection.getSnapshot().status))
  const messages: RealtimeMessage<In>[] = []
  connection.onMessage((message) => messages.push(message))
  const errors: RealtimeError[] = []
  connection.onError((error) => errors.push(error))
  return { connection, fake, env, frames, statuses, messages, errors, snap: () => connection.getSnapshot() }
}

/**
 * Fake timers for the file, and after each test: every fake socket closed, and none of
 * their event handlers may have thrown.
 */
export function useFakeSocketClock(): void {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    const thrown = closeAllWebSockets()
    vi.useRealTimers()
    expect(thrown, 'socket event handlers threw').toEqual([])
  })
}

/**
 * Moves the clock on, then lets the sockets that the due timers asked for be constructed
 * (the transport resolves the url, even a plain string, in a promise callback).
 */
export async function advance(ms: number): Promise<void> {
  vi.advanceTimersByTime(ms)
  await flushMicrotasks()
}

/** Connects a {@link setupWebSocket} connection and opens its first socket. */
export async function openedSocket<T extends ReturnType<typeof setupWebSocket<any, any>>>(setup: T): Promise<T> {
  setup.connection.connect()
  await flushMicrotasks()
  setup.fake.last.open()
  return setup
}
