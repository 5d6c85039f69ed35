import type { Timers } from '../runtime'
import type { HeadersInput } from '../sse-fetch'
import type { WireMessage } from '../transport'
import type { RealtimeClientFrame, RealtimeServerFrame } from './protocol'

/** Which transport carries the channels now. */
export type RealtimeTransportKind = 'websocket' | 'sse'

/** An open link to the server: frames go out in order. Valid until the host hears `closed()`. */
export interface FrameLink {
  /** Sends frames (WebSocket: one message each; SSE: one POST for the batch, POSTs in order). */
  send(frames: RealtimeClientFrame[]): void
}

/**
 * What the realtime transport needs from the connection it serves (the leader's wire, see
 * `createRealtimeWire`): it tells it when a link opens and closes and hands it every frame.
 */
export interface RealtimeTransportHost {
  /**
   * A link opened (a WebSocket's open, or an SSE stream's `hello`), before the engine hears
   * of it: the host sends what must go first (subscriptions with their cursors, then the
   * publishes not yet acknowledged) through it, and uses it for later frames.
   */
  opened(link: FrameLink, kind: RealtimeTransportKind): void
  /** The link is gone (closed, failed or replaced): frames wait for the next one. */
  closed(): void
  /**
   * A server frame (not `hello`). Returns the message the connection emits for it (it is
   * relayed to every tab), or undefined to emit nothing.
   */
  receive(frame: RealtimeServerFrame): WireMessage | undefined
}

/** Transport options of `createRealtime`. */
export interface RealtimeTransportOptions {
  /**
   * `'auto'`: WebSocket first, and SSE (with POST for what the client sends) when a
   * WebSocket cannot be opened; WebSocket is probed again in the background and taken back
   * when it works. `'websocket'` or `'sse'` force one.
   * @defaultValue 'auto'
   * @example { transport: 'sse' } // a network known to block WebSockets
   */
  transport?: 'auto' | 'websocket' | 'sse'
  /**
   * `'auto'` only. `after`: WebSocket attempts that fail before they open (refused, or
   * closed before open) before SSE is tried; one not open within `connectTimeout` (a proxy
   * that swallows the upgrade) moves to SSE at once. `probe`: the first
   * delay (ms) before WebSocket is tried again in the background while on SSE; it doubles
   * up to `maxProbe`. The transport that worked is remembered for the page's session
   * (`storage`), so a reload does not pay the failed attempts again.
   * @defaultValue { after: 2, probe: 5000, maxProbe: 60000 }
   * @example { fallback: { after: 1 } }
   */
  fallback?: { after?: number; probe?: number; maxProbe?: number }
  /**
   * A WebSocket that has not opened after this many ms counts as failed.
   * @defaultValue 2500
   * @example { connectTimeout: 5000 }
   */
  connectTimeout?: number
  /**
   * ms between the WebSocket's `ping` texts (the server answers `pong`); `0` is off. A link
   * silent for `idleTimeout` is replaced.
   * @defaultValue 25000
   * @example { heartbeat: 10_000 }
   */
  heartbeat?: number
  /**
   * Headers of the SSE request and the POSTs, or a function called on every connect. A
   * WebSocket handshake cannot carry headers: use cookies or a token in a url function.
   * @defaultValue none
   * @example { headers: async () => ({ authorization: `Bearer ${await token()}` }) }
   */
  headers?: HeadersInput | (() => HeadersInput | Promise<HeadersInput>)
  /**
   * Whether cookies go with the SSE request and the POSTs.
   * @defaultValue 'same-origin'
   */
  credentials?: RequestCredentials
  /**
   * The largest frame (characters) the client reads; a bigger one is skipped with a
   * `protocol` error.
   * @defaultValue 1048576
   */
  maxMessageSize?: number
  /** Injectable WebSocket constructor. @defaultValue globalThis.WebSocket */
  WebSocket?: typeof WebSocket
  /** Injectable fetch. @defaultValue globalThis.fetch */
  fetch?: typeof fetch
  /**
   * Where the transport that worked is remembered; `null` remembers nothing.
   * @defaultValue sessionStorage, where there is one
   */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null
  /** @defaultValue globalThis timers */
  timers?: Timers
  /** @defaultValue Math.random */
  random?: () => number
}

export type { RealtimeClientFrame, RealtimeServerFrame }
