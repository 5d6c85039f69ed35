/**
 * The demo's realtime endpoint, `/api/realtime` (tabwire/server's `createRealtimeHandler`):
 * one url for the WebSocket and for SSE with POST, channels on logs of their own.
 *
 *   prices:<SYMBOL>   every quote of the symbol (the SSE ticker's quotes too); snapshot: the current quote
 *   notifications     the SSE notifications, again
 *   room:lobby        a chat room any same-origin page may publish to
 *   orders            a change event per order change (demo/orders.ts); the Orders panel refetches
 *
 * Plus what the fault panel needs: count connections per transport and subscriptions per
 * channel, refuse WebSocket upgrades (a proxy that blocks them), drop, stall, restart.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { type AnyReplayLog, createMemoryLog, createRealtimeHandler, type LogEntry, type RealtimeChannel, type RealtimeHandler } from '../src/server/index.ts'
import type { Notice, OrderChange, Quote, RealtimeStats } from './shared.ts'

export interface DemoRealtimeOptions {
  /** The symbols with a `prices:` channel. */
  symbols: readonly string[]
  /** The current quote of a symbol, for a new subscription's snapshot. */
  current: (symbol: string) => Quote | undefined
  /** Origins allowed to connect and publish. */
  origins: readonly string[]
  /** ms between WebSocket pings and SSE heartbeat comments. */
  heartbeat: number
  /** Largest publish in bytes. */
  maxPayload: number
  /**
   * Makes the log of a channel (the demo with `--redis`: a Redis log any instance shares).
   * @defaultValue a memory log of 1000 entries with the generation's epoch
   */
  log?: (channel: string, epoch: string) => AnyReplayLog
  /** Told when an append failed (a Redis log while Redis is down); the event is not sent. */
  onAppendError?: (error: unknown) => void
}

export interface DemoRealtime {
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
  handleRequest(request: IncomingMessage, response: ServerResponse): void
  quote(quote: Quote): void
  notice(notice: Notice): void
  order(change: OrderChange): void
  stats(): RealtimeStats
  /** Every entry of `room:lobby` of the current log, oldest first (the newest 1000). */
  readonly room: readonly LogEntry[]
  /** While blocked, upgrades are refused and the realtime WebSockets open now are cut. */
  block(blocked: boolean): void
  drop(): void
  stall(): void
  /** New logs (new epochs): clients resuming from an old one get a `reset` per channel. */
  restart(): void
  close(): void
}

const LOBBY = 'room:lobby'

export function createDemoRealtime(options: DemoRealtimeOptions): DemoRealtime {
  let blocked = false
  /** The raw sockets of the realtime WebSockets: a block cuts them like a proxy would, without a close frame. */
  const sockets = new Set<Duplex>()
  /** Handlers replaced by a restart, closed after a moment (their clients were dropped). */
  const retired = new Set<RealtimeHandler>()
  let current = generation()

  /** One set of logs and the handler over them. */
  function generation() {
    // One epoch for every channel of a generation: a restart visibly restarts them all.
    const epoch = Math.random().toString(36).slice(2, 10)
    const log = (name: string) => options.log?.(name, epoch) ?? createMemoryLog({ capacity: 1000, epoch })
    const logs = new Map<string, AnyReplayLog>()
    const room: LogEntry[] = []
    for (const symbol of options.symbols) logs.set(`prices:${symbol}`, log(`prices:${symbol}`))
    logs.set('notifications', log('notifications'))
    logs.set('orders', log('orders'))
    const lobby = log(LOBBY)
    lobby.subscribe((entry) => {
      room.push(entry)
      if (room.length > 1000) room.shift()
    })
    logs.set(LOBBY, lobby)
    /** Subscriptions per channel, as the handler tells them (`retain` / `release`). */
    const subscribed = new Map<string, number>()
    const channel = (name: string): RealtimeChannel | undefined => {
      const log = logs.get(name)
      if (!log) return undefined
      if (name === LOBBY) return { log, writable: true }
      if (name.startsWith('prices:')) {
        const symbol = name.slice('prices:'.length)
        return { log, snapshot: () => options.current(symbol) }
      }
      return { log }
    }
    const channels = Object.assign((name: string) => channel(name), {
      retain: (name: string) => void subscribed.set(name, (subscribed.get(name) ?? 0) + 1),
      release: (name: string) => {
        const left = (subscribed.get(name) ?? 0) - 1
        if (left > 0) subscribed.set(name, left)
        else subscribed.delete(name)
      },
    })
    const handler = createRealtimeHandler({ channels, origins: options.origins, heartbeat: options.heartbeat, maxPayload: options.maxPayload })
    return { logs, room, subscribed, handler }
  }

  const append = (name: string, data: unknown) => {
    const appended = current.logs.get(name)?.append(JSON.stringify(data))
    if (appended instanceof Promise) appended.catch((error: unknown) => options.onAppendError?.(error))
  }

  return {
    handleUpgrade(request, socket, head) {
      if (blocked) {
        // What a proxy that does not pass WebSockets answers; the client falls back to SSE.
        socket.on('error', () => {})
        return void socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      }
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      current.handler.handleUpgrade(request, socket, head)
    },
    handleRequest: (request, response) => current.handler.handleRequest(request, response),
    quote: (quote) => void append(`prices:${quote.symbol}`, quote),
    notice: (notice) => void append('notifications', notice),
    order: (change) => void append('orders', change),
    stats() {
      const all = [current.handler, ...retired]
      return {
        clients: {
          websocket: all.reduce((n, h) => n + h.clients.websocket, 0),
          sse: all.reduce((n, h) => n + h.clients.sse, 0),
        },
        channels: Object.fromEntries([...current.subscribed].sort(([a], [b]) => a.localeCompare(b))),
        epoch: current.logs.get(LOBBY)!.epoch,
        blocked,
      }
    },
    get room() {
      return current.room
    },
    block(value) {
      blocked = value
      if (!value) return
      for (const socket of sockets) socket.destroy()
      sockets.clear()
    },
    drop() {
      current.handler.dropAll()
    },
    stall() {
      current.handler.stall()
    },
    restart() {
      const old = current.handler
      current = generation()
      old.dropAll()
      retired.add(old)
      // The dropped clients come back to the new handler; the old one goes once they left.
      const timer = setTimeout(() => {
        old.close()
        retired.delete(old)
      }, 2000)
      timer.unref()
    },
    close() {
      current.handler.close()
      for (const old of retired) old.close()
      retired.clear()
      for (const socket of sockets) socket.destroy()
    },
  }
}
