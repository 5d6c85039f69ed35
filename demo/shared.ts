/**
 * What the demo server sends and the demo app reads. Types only: the server (Node, type
 * stripping) and the app (Vite) both import this file.
 */

/** The SSE streams, and the chat, by the name the app records them under. */
export type StreamName = 'quotes' | 'notifications' | 'chat'

/** One `quote` event on `/api/quotes`. */
export interface Quote {
  symbol: string
  price: number
  /** Percent change since the stream (or the log) started. */
  change: number
  /** Server time, ms. */
  time: number
}

/** One `notification` event on `/api/notifications`. Title and body are untrusted text. */
export interface Notice {
  level: 'info' | 'success' | 'warning'
  title: string
  body: string
  time: number
}

/** The data of an SSE `reset` event (tabwire/server): the log the client resumed from is gone. */
export interface ResetInfo {
  epoch: string
  reason: string
}

/** What a chat client publishes to the `room` channel; the server echoes it to everyone. */
export interface ChatPost {
  from: string
  text: string
  /** A client-made unique id, to tell a duplicate from a message sent twice. */
  cid: string
}

/** Frames the chat WebSocket receives (tabwire/server's `ServerFrame`, with `pong` filtered by the hook). */
export type ChatIn =
  | { type: 'event'; channel: string; id: string; event?: string; data: unknown }
  | { type: 'subscribed'; channel: string; head: string | null }
  | { type: 'reset'; channel: string; epoch: string; reason: string; head: string }
  | { type: 'error'; code: string; message: string }

/** Frames the chat client sends. */
export type ChatOut =
  | { type: 'subscribe'; channel: 'room'; since?: string | undefined }
  | { type: 'publish'; channel: 'room'; data: ChatPost }

/** `GET /api/admin/stats`. */
export interface DemoStats {
  /** Live connections: SSE streams per endpoint, and chat WebSockets. */
  clients: Record<StreamName, number>
  /** The current log epoch of each stream (a restart of the log makes new ones). */
  epochs: Record<StreamName, string>
  /** The id of the newest entry of each log, if any. */
  heads: Record<StreamName, string | null>
  /** Whether a flood is running. */
  flooding: boolean
  /** The realtime endpoint, `/api/realtime`. */
  realtime: RealtimeStats
  /** The Orders panel's endpoint, `/api/orders`. */
  orders: OrdersStats
}

/** What the server sees of `/api/realtime`. */
export interface RealtimeStats {
  /** Live connections per transport. */
  clients: { websocket: number; sse: number }
  /** Subscriptions per channel, of every connection (channels nobody follows are left out). */
  channels: Record<string, number>
  /** The log epoch of every channel (a restart of the logs makes a new one). */
  epoch: string
  /** Whether WebSocket upgrades are refused (`POST /api/admin/block-websocket`). */
  blocked: boolean
}

/** The chat messages of the realtime `room:lobby` channel. */
export interface LobbyPost {
  from: string
  text: string
  /** A client-made unique id, to find a message in the server's log. */
  cid: string
}

/** What the Realtime panel saw, on `window.__tabwire.realtime`. */
export interface RealtimeRecording {
  /** The id of every event each channel delivered (`onMessage`), in order. */
  ids: Record<string, string[]>
  /** Snapshots delivered per channel (a subscription that did not resume). */
  snapshots: Record<string, number>
  /** Every reset, in order. */
  resets: { channel: string; reason: string; epoch: string; at: number }[]
  /** The transport each time it changed (`undefined` before a link opened). */
  transports: { transport: string | undefined; status: string; at: number }[]
  /** Every error the channels reported, in order. */
  errors: { channel: string; kind: string; message: string; at: number }[]
}

/** What the page saw, kept on `window.__tabwire` for tests and for poking at in devtools. */
export interface Recording {
  /** The id of every event each stream delivered, in order (resets and chat control frames apart). */
  ids: Record<StreamName, string[]>
  /** When each of `ids` was delivered: ms since the epoch, sub-millisecond (`performance.timeOrigin + now()`). */
  times: Record<StreamName, number[]>
  /** Every reset: the log a stream resumed from was gone. `id` is the new head. */
  resets: { stream: StreamName; id: string | undefined; epoch: string; reason: string; at: number }[]
  /** Every chat message delivered, in order. */
  chat: { id: string; from: string; text: string; cid: string; at: number }[]
  /** Every error a stream reported (`onError`), in order. */
  errors: { stream: StreamName; kind: string; message: string; at: number }[]
  /** Status changes as rendered (React may batch two changes of one task into one). */
  statuses: { stream: StreamName; status: string; at: number }[]
  /** The Realtime panel's channels. */
  realtime: RealtimeRecording
}

/** One order of `GET /api/orders`. `item` is untrusted text. */
export interface Order {
  id: number
  item: string
  quantity: number
  status: 'new' | 'paid' | 'packed' | 'shipped'
}

/** `GET /api/orders`. */
export interface OrdersPage {
  /** Bumped by every change. */
  version: number
  orders: Order[]
  /** This request's number: how many `GET /api/orders` the server has had, this one included. */
  requests: number
}

/** A change event on the realtime channel `orders`: the order `id` changed, the list is at `version`. */
export interface OrderChange {
  version: number
  id: number
  status: Order['status']
}

/** What the server saw of `/api/orders` (in `DemoStats`). */
export interface OrdersStats {
  /** `GET /api/orders` requests so far. */
  requests: number
  /** The list's version. */
  version: number
  /** ms the endpoint waits before it answers (`POST /api/admin/orders {"delay": ms}`). */
  delay: number
}
