import { type Connection, createConnection, type EngineOptions, type RealtimeMessage } from '../connection'
import type { Timers } from '../runtime'
import { emitter } from '../store'
import type { TransportFactory, WireMessage } from '../transport'
import type { RealtimeClientFrame, RealtimeServerFrame } from './protocol'
import type { FrameLink, RealtimeTransportHost, RealtimeTransportKind } from './transport-types'

/**
 * What a tab asks of the connection that carries every tab's channels (it reaches the
 * leader tab's wire through the cross-tab layer's sends, or directly in the leader):
 * - `want`: the channels this tab uses now (its whole set, replacing the last one with a
 *   lower `v`), each with where this tab's data ends (its cursor), or null;
 * - `pub`: a publish, by its id (`pid`): taken once however often it comes;
 * - `bye`: this tab left.
 */
export type WireRequest =
  | { op: 'want'; tab: string; v: number; ch: [string, string | null][] }
  | { op: 'pub'; pid: string; channel: string; data: unknown }
  | { op: 'bye'; tab: string }

/**
 * What the wire emits (and the cross-tab layer relays to every tab), as `WireMessage.event`:
 * the server's frames by their `type` (`event`, `snapshot`, `subscribed`, `reset`, `ack`,
 * `error`), and its own:
 * - `hi`: a new leader's wire started: every tab tells it what it wants and publishes again
 *   what was not acknowledged;
 * - `last`: `{ channel, m }`, the last message of a channel that a tab without data for it
 *   just asked for (late tabs show the current value at once);
 * - `unsub`: `{ channel }`, no tab uses the channel any more: tabs forget its cursor;
 * - `transport`: the transport now carrying the channels.
 * Every one has a unique id, so tabs skip what they already delivered across leader changes.
 */
export type WireEvent = RealtimeServerFrame['type'] | 'hi' | 'last' | 'unsub' | 'transport'

export interface WireOptions extends EngineOptions {
  /** Makes the transport for this wire (see `realtimeTransport`). */
  transport(host: RealtimeTransportHost): TransportFactory
  /** Where this tab's data for a channel ends (its own cursor): preferred over a tab's when subscribing. */
  cursor(channel: string): string | undefined
  /** This tab's id: its interest is never pruned. */
  tab: string
  /** The tabs alive now (by the locks they hold), or undefined when that cannot be told. */
  liveTabs?: () => Promise<Set<string> | undefined>
  /**
   * ms between checks for tabs that went away without a `bye` (crashed).
   * @defaultValue 5000
   */
  pruneEvery?: number
  timers?: Timers
}

/** The leader's connection for a realtime client: the channels every tab wants, on one link. */
export interface RealtimeWire extends Connection<unknown> {
  /** Takes a tab's request; a publish is `'sent'` on an open link, else `'queued'`. */
  send(request: WireRequest): 'sent' | 'queued'
  /** The transport carrying the channels now. */
  readonly kind: RealtimeTransportKind | undefined
}

/**
 * The leader tab's side of `createRealtime`: the union of the channels every tab wants,
 * subscribed on one link with per-channel cursors (so a reconnect, a transport move or a
 * new leader resumes each channel where it was), and the publishes not yet acknowledged,
 * sent again on every new link (the server takes a `pid` once).
 */
export function createRealtimeWire(options: WireOptions): RealtimeWire {
  const timers = options.timers ?? (globalThis as Timers)
  const now = options.now ?? Date.now
  const nonce = Math.random().toString(36).slice(2, 10)
  let n = 0
  const ownId = () => `~${nonce}.${++n}`
  const tabs = new Map<string, { v: number; ch: Map<string, string | null>; at: number }>()
  /** Channels on the wire, each with its cursor (the last id that went through, or where the subscription started). */
  const cursors = new Map<string, string | undefined>()
  const last = new Map<string, WireMessage>()
  const pending = new Map<string, RealtimeClientFrame>()
  let link: FrameLink | undefined
  let kind: RealtimeTransportKind | undefined
  let prune: unknown
  const wires = emitter<WireMessage>()
  const messages = emitter<RealtimeMessage<unknown>>()

  /** Emits a message of the wire's own, as if it came off the link. */
  const emit = (event: WireEvent, data: unknown) => {
    const m: WireMessage = { event, data, id: ownId() }
    wires.emit(m)
    messages.emit({ data, event, id: m.id, raw: data })
  }
  const out = (frames: RealtimeClientFrame[]) => frames.length && link?.send(frames)
  const subscribe = (channel: string): RealtimeClientFrame => {
    const since = cursors.get(channel)
    return since === undefined ? { type: 'subscribe', channel } : { type: 'subscribe', channel, since }
  }

  /** Brings the wire's channels to the union of what the tabs want. */
  const update = (asked?: { tab: string; ch: Map<string, string | null> }) => {
    const union = new Map<string, string | null>()
    for (const { ch } of tabs.values()) for (const [channel, since] of ch) if (!union.get(channel)) union.set(channel, since)
    const frames: RealtimeClientFrame[] = []
    for (const [channel, since] of union) {
      if (cursors.has(channel)) {
        // A tab whose data of a live channel ends elsewhere than the wire's (none yet, or a
        // stale cursor after it lost track): it gets the channel's last message.
        const m = last.get(channel)
        if (m && asked?.ch.has(channel) && asked.ch.get(channel) !== cursors.get(channel)) emit('last', { channel, m })
        continue
      }
      cursors.set(channel, options.cursor(channel) ?? since ?? undefined)
      frames.push(subscribe(channel))
    }
    for (const channel of [...cursors.keys()]) {
      if (union.has(channel)) continue
      cursors.delete(channel)
      last.delete(channel)
      frames.push({ type: 'unsubscribe', channel })
      emit('unsub', { channel })
    }
    out(frames)
  }

  const host: RealtimeTransportHost = {
    opened(next, transport) {
      link = next
      if (transport !== kind) emit('transport', (kind = transport))
      out([...[...cursors.keys()].map(subscribe), ...pending.values()])
    },
    closed() {
      link = undefined
    },
    receive(frame) {
      if (frame.type === 'hello') return undefined
      const channel = 'channel' in frame ? frame.channel : undefined
      const on = channel !== undefined && cursors.has(channel)
      // Frames of a channel no tab wants any more (in flight when it was left) are dropped.
      if (!on && frame.type !== 'ack' && frame.type !== 'error') return undefined
      let id = ownId()
      if (frame.type === 'event') {
        cursors.set(frame.channel, frame.id)
        id = `${frame.channel}\n${frame.id}`
      } else if (frame.type === 'subscribed') {
        if (cursors.get(frame.channel) === undefined && frame.head !== null) cursors.set(frame.channel, frame.head)
      } else if (frame.type === 'reset') {
        cursors.set(frame.channel, frame.head)
      } else if (frame.type === 'ack' || (frame.type === 'error' && frame.pid !== undefined)) {
        pending.delete(frame.pid!)
      }
      const m: WireMessage = { event: frame.type, data: frame, id }
      if (frame.type === 'event' || frame.type === 'snapshot') last.set(frame.channel, m)
      return m
    },
  }

  const engine = createConnection<unknown>({ ...options, transport: options.transport(host) })

  /** Drops the interest of tabs that are gone (their lock went with them). */
  const check = () => {
    prune = timers.setTimeout(() => {
      void options
        .liveTabs?.()
        .then((live) => {
          if (!live) return
          const before = tabs.size
          const old = now() - (options.pruneEvery ?? 5000)
          for (const [tab, t] of tabs) if (tab !== options.tab && t.at < old && !live.has(tab)) tabs.delete(tab)
          if (tabs.size !== before) update()
        })
        .catch(() => undefined)
        .then(() => prune !== undefined && check())
    }, options.pruneEvery ?? 5000)
  }

  return {
    ...engine,
    onWire: (listener) => {
      const offs = [engine.onWire(listener), wires.add(listener)]
      return () => offs.forEach((off) => off())
    },
    onMessage: (listener) => {
      const offs = [engine.onMessage(listener), messages.add(listener)]
      return () => offs.forEach((off) => off())
    },
    get kind() {
      return kind
    },
    connect() {
      engine.connect()
      if (prune === undefined && options.liveTabs) check()
      emit('hi', nonce)
    },
    send(request) {
      if (request.op === 'pub') {
        if (pending.has(request.pid)) return link ? 'sent' : 'queued'
        const frame: RealtimeClientFrame = { type: 'publish', channel: request.channel, data: request.data, pid: request.pid }
        pending.set(request.pid, frame)
        out([frame])
        return link ? 'sent' : 'queued'
      }
      if (request.op === 'bye') {
        if (tabs.delete(request.tab)) update()
        return 'sent'
      }
      const known = tabs.get(request.tab)
      if (known && known.v >= request.v) return 'sent'
      // A tab new to this leader (it opened later): which transport carries the channels.
      if (!known && kind) emit('transport', kind)
      const asked = { v: request.v, ch: new Map(request.ch), at: now() }
      tabs.set(request.tab, asked)
      update({ tab: request.tab, ch: asked.ch })
      return 'sent'
    },
    close() {
      timers.clearTimeout(prune)
      prune = undefined
      link = undefined
      engine.close()
    },
  }
}
