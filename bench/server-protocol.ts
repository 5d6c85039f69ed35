/** Messages between bench/server.ts and its server and client processes. */

/** Where events go: the SSE log, the WebSocket channel, or both. */
export type Target = 'sse' | 'ws' | 'both'

export type HostRequest = { id: number } & (
  | { type: 'cpu' }
  | { type: 'mem' }
  | { type: 'clients' }
  /** `rate` events per second; 0 appends them all in one tick. */
  | { type: 'send'; target: Target; from: number; count: number; rate: number }
)

export interface HostReply {
  id: number
  /** µs of CPU (user + system) used by the server process so far. */
  cpu?: number
  /** Of which system time (µs). */
  system?: number
  heap?: number
  rss?: number
  clients?: { sse: number; ws: number }
  /** The range a `send` appended, and how far behind its schedule it ended (ms). */
  from?: number
  to?: number
  lagMs?: number
}

export type ClientRequest = { id: number } & (
  /** From now on, every connection expects events `from`…`to` in order; latencies restart. */
  | { type: 'expect'; from: number; to: number }
  | { type: 'stats' }
)

export interface ClientStats {
  id: number
  /** Connections open. */
  open: number
  /** Connections that got every expected event, in order. */
  complete: number
  /** Events received in the expected range. */
  delivered: number
  /** Events out of order, repeated or missing (a gap). */
  wrong: number
  /** Connections closed since they opened. */
  dropped: number
  /** Latency histogram: [bucket, count] pairs, 0.1 ms buckets. */
  histogram: [number, number][]
}
