import type { RealtimeMessage } from '../connection-types'
import { misuse, RealtimeError } from '../errors'
import { hashKey, streamKey } from '../key'
import { defaultFrame, type Timers } from '../runtime'
import { type ShareMode, startShared } from '../share'
import { createStore, emitter, type Store } from '../store'
import { globalPage } from '../tabs/page'
import { createSends } from '../tabs/sends'
import type { Shareable, TabShareInjectables } from '../tabs/types'
import type { SendResult } from '../web-socket-options'
import type { ChannelMessage, ChannelReset, ChannelSnapshot, RealtimeChannel, RealtimeClient, RealtimeOptions, RealtimeSnapshot } from './client-types'
import { isChannelName } from './protocol'
import { readRelayed } from './relayed'
import { realtimeTransport } from './transport'
import { createRealtimeWire, type RealtimeWire, type WireRequest } from './wire'

declare const process: { env: Record<string, string | undefined> }

export type * from './client-types'

/** What a tab keeps of a channel: of every channel on the connection (a tab may lead next), and more of those it holds. */
interface Channel {
  holders: number
  grace: unknown
  /** The channel's own error (the server refused it…), until its next event or subscription. */
  failure: RealtimeError | null
  /** Ids of the last {@link SEEN} events delivered, oldest first in `order`. */
  seen: Set<string>
  order: string[]
  /** The cursor is older than the leader's (this tab lost track, see `lostTrack`) until the channel's next event or its last. */
  stale?: boolean
  /** The id of the last event this tab delivered, or where the subscription started. */
  cursor: string | undefined
  store?: Store<ChannelSnapshot<unknown>>
  messages: ReturnType<typeof emitter<ChannelMessage<unknown>>>
  resets: ReturnType<typeof emitter<ChannelReset>>
  errors: ReturnType<typeof emitter<RealtimeError>>
}

type Pending = { channel: string; data: unknown; done?: (id: string | RealtimeError) => void }

/**
 * Events per channel whose ids a tab remembers: a replay that overlaps what it delivered (a
 * channel subscribed again from an older cursor, for a tab back from the back/forward
 * cache) is delivered once.
 */
const SEEN = 1000

const ERROR_KINDS: Record<string, RealtimeError['kind']> = { unauthorized: 'auth', 'too-many': 'overflow', 'too-large': 'overflow' }

/**
 * A realtime client: channels on one connection per browser, WebSocket first with SSE
 * fallback (see `realtimeTransport`). Framework-free; `useRealtime` is its hook. Channels
 * are reference-counted across holds and tabs; each resumes from its own cursor across
 * reconnects, transport moves and leader changes; publishes are acknowledged and taken once.
 * @example
 * const realtime = createRealtime({ url: '/realtime' })
 * const room = realtime.channel<Said, Say>('room:lobby')
 * room.onMessage((m) => append(m.data))
 * room.publish({ text: 'hi' })
 */
export function createRealtime(options: RealtimeOptions): RealtimeClient {
  const { url } = options
  if (typeof url === 'function' ? !options.key : typeof url !== 'string' || !url) {
    throw misuse('createRealtime', 'url', process.env.NODE_ENV !== 'production' && 'expected a url, or a url function with a `key`')
  }
  const timers = options.timers ?? (globalThis as Timers)
  const schedule = options.scheduleFrame ?? defaultFrame(timers)
  const share = options.share ?? 'tabs'
  const key = streamKey('rt', { url: typeof url === 'function' ? 'fn' : url, key: options.key, transport: options.transport ?? 'auto' })
  const namespace = (typeof share === 'object' && share.namespace) || 'tabwire'
  const locks = (typeof share === 'object' && (share as TabShareInjectables).locks) || (globalThis as { navigator?: Navigator }).navigator?.locks
  const tab = Math.random().toString(36).slice(2)
  const tabLock = `${namespace}:rt:${hashKey(key)}:`
  const channels = new Map<string, Channel>()
  const pending = new Map<string, Pending>()
  const state = createStore<RealtimeSnapshot>({ status: 'idle', error: null, attempt: 0, retryAt: null, paused: null, role: 'solo', transport: undefined }, schedule)
  const errors = emitter<RealtimeError>()
  let shared: Shareable<unknown> | undefined
  let wire: RealtimeWire | undefined
  let v = 0
  let announcing = false
  let away = false
  let unlock: (() => void) | undefined
  let offs: (() => void)[] = []

  const entry = (name: string) => {
    let c = channels.get(name)
    if (!c) channels.set(name, (c = { holders: 0, grace: undefined, failure: null, seen: new Set(), order: [], cursor: undefined, messages: emitter(), resets: emitter(), errors: emitter() }))
    return c
  }
  const held = () => [...channels].filter(([, c]) => c.store)
  const want = (): WireRequest => ({ op: 'want', tab, v: ++v, ch: held().map(([name, c]) => [name, c.cursor ?? null]) })
  /** Tells the leader what this tab wants now (once per turn, however many holds changed). */
  const announce = () => {
    if (announcing) return
    announcing = true
    queueMicrotask(() => {
      announcing = false
      if (shared && !away) shared.send?.(want())
    })
  }
  const pub = (pid: string, p: Pending) => shared?.send?.({ op: 'pub', pid, channel: p.channel, data: p.data } satisfies WireRequest)

  /** Holds this tab's lock while it is there: the leader forgets the channels of a tab whose lock went (it crashed). */
  const hold = () => {
    if (unlock || typeof locks?.request !== 'function') return
    const released = new Promise<void>((resolve) => (unlock = resolve))
    void locks.request(tabLock + tab, () => released).catch(() => undefined)
  }
  const letGo = () => (unlock?.(), (unlock = undefined))
  const liveTabs = async () => {
    if (typeof locks?.query !== 'function') return undefined
    const { held: names = [] } = await locks.query()
    return new Set(names.flatMap((l) => (l.name?.startsWith(tabLock) ? [l.name.slice(tabLock.length)] : [])))
  }

  const setAll = (patch: Partial<ChannelSnapshot<unknown>>) => {
    for (const [, c] of held()) c.store!.set({ ...patch, ...('error' in patch && { error: c.failure ?? patch.error }) }, { urgent: true })
  }
  const mirror = () => {
    const { status, attempt, error, retryAt, paused, role } = shared!.getSnapshot()
    const patch = { status, attempt, error, retryAt, paused, role }
    state.set(patch, { urgent: true })
    setAll(patch)
  }
  /** The channel is fine again: its error is the connection's. */
  const healed = (c: Channel) => {
    if (!c.failure) return
    c.failure = null
    c.store?.set({ error: state.peek().error }, { urgent: true })
  }

  /** Marks `id` delivered on `c`; false when it already was (a replay that overlaps one this tab had). */
  const fresh = (c: Channel, id: string) => {
    if (c.seen.has(id)) return false
    c.seen.add(id)
    if (c.order.push(id) > SEEN) c.seen.delete(c.order.shift()!)
    return true
  }
  /**
   * This tab missed messages nobody can give it again: each channel it holds gets a reset,
   * and its cursors are stale. Were it to lead with them, the server would replay history
   * the other tabs have: it asks the leader for each channel's last message (see `last`),
   * and forgets the cursors of channels it does not hold.
   */
  const lostTrack = () => {
    for (const [channel, c] of channels) {
      if (!c.store) {
        channels.delete(channel)
        continue
      }
      c.stale = true
      const reset: ChannelReset = { channel, reason: 'gap', epoch: '' }
      c.store.set({ reset }, { urgent: true })
      c.resets.emit(reset)
    }
    announce()
  }

  /** A message of the shared connection (this tab's own as leader, or relayed); anything malformed is ignored. */
  const receive = (m: RealtimeMessage<unknown>) => {
    const r = readRelayed(m.event, m.data)
    if (!r) return
    if (r.t === 'hi') {
      announce()
      for (const [pid, p] of pending) pub(pid, p)
      return
    }
    if (r.t === 'transport') return state.set({ transport: r.kind }, { urgent: true }), setAll({ transport: r.kind })
    if (r.t === 'unsub') {
      if (!channels.get(r.channel)?.store) channels.delete(r.channel)
      return
    }
    if (r.t === 'last') {
      // The channel's latest, for a tab with nothing of it yet or with a stale cursor: its data, not a message.
      const c = channels.get(r.channel)
      if (!c?.store || (c.store.peek().data !== undefined && !c.stale)) return
      const f = r.frame
      if (f.type === 'event') (c.cursor = c.stale ? f.id : (c.cursor ?? f.id)), fresh(c, f.id)
      c.stale = false
      return c.store.set({ data: f.data, lastEventId: f.type === 'event' ? f.id : undefined })
    }
    const f = r.frame
    if (f.type === 'ack' || (f.type === 'error' && f.pid !== undefined)) {
      // Only the tab that published it hears of its publish: another tab's refusal is not this tab's error.
      const p = pending.get(f.pid!)
      if (!p) return
      pending.delete(f.pid!)
      p.done?.(f.type === 'ack' ? f.id : new RealtimeError(ERROR_KINDS[f.code] ?? 'protocol', f.message))
      if (f.type === 'error') channels.get(p.channel)?.errors.emit(new RealtimeError(ERROR_KINDS[f.code] ?? 'protocol', `publish refused: ${f.message}`))
      return
    }
    if (f.type === 'error' && f.channel === undefined) return errors.emit(new RealtimeError('protocol', `the server refused a frame: ${f.message}`))
    if (!('channel' in f) || f.channel === undefined) return
    const c = entry(f.channel)
    if (f.type === 'event' || f.type === 'snapshot') {
      if (f.type === 'event' && !fresh(c, f.id)) return
      if (f.type === 'event') (c.cursor = f.id), (c.stale = false)
      const id = f.type === 'event' ? f.id : undefined
      healed(c)
      c.store?.set({ data: f.data, lastEventId: id ?? c.store.peek().lastEventId })
      c.messages.emit({ channel: f.channel, data: f.data, event: (f.type === 'event' && f.event) || 'message', id, raw: f.data, snapshot: f.type === 'snapshot' })
    } else if (f.type === 'subscribed') {
      c.cursor ??= f.head ?? undefined
      healed(c)
    } else if (f.type === 'reset') {
      c.cursor = f.head
      const reset: ChannelReset = { channel: f.channel, reason: f.reason, epoch: f.epoch }
      c.store?.set({ reset }, { urgent: true })
      c.resets.emit(reset)
    } else if (f.type === 'error') {
      const error = new RealtimeError(ERROR_KINDS[f.code] ?? 'protocol', `channel ${JSON.stringify(f.channel)}: ${f.message}`)
      c.failure = error
      c.store?.set({ error }, { urgent: true })
      c.errors.emit(error)
    }
  }

  /** Closed by `close()`: holds see `closed`, nothing connects until `reconnect()`. */
  let stopped = false
  const start = () => {
    if (shared || stopped) return
    hold()
    const create = (_resume: unknown, sharedAcross: boolean): Shareable<unknown> => {
      wire = createRealtimeWire({
        ...options,
        tab,
        transport: (host) => realtimeTransport(url, options, host),
        cursor: (name) => channels.get(name)?.cursor,
        liveTabs: sharedAcross ? liveTabs : undefined,
      })
      // This tab's own wants and publishes reach the wire at once, not after the sends' grace.
      wire.send(want())
      for (const [pid, p] of pending) wire.send({ op: 'pub', pid, channel: p.channel, data: p.data })
      return wire
    }
    // Before the cross-tab layer's own listener: a leaving tab's `bye` still reaches the
    // leader (the layer closes the channel on leave), so its channels go at once; it tells
    // them again when it comes back.
    const leaving = ((typeof share === 'object' && (share as TabShareInjectables).page) || globalPage()).subscribe((event) => {
      if (event === 'leave' && !away) (away = true), shared?.send?.({ op: 'bye', tab } satisfies WireRequest), letGo()
      else if (event === 'return' && away) (away = false), hold(), announce()
    })
    shared = startShared<unknown>(key, share as ShareMode, create, { sends: createSends })
    offs = [
      leaving,
      shared.subscribe(mirror),
      shared.onMessage(receive),
      shared.onError((error) => {
        errors.emit(error)
        // This tab missed messages nobody can give it again (it was away or stalled longer
        // than the leader tab remembers): every channel it holds may have lost events.
        if (error.kind === 'gap') lostTrack()
      }),
    ]
    mirror()
    announce()
  }

  const client: RealtimeClient = {
    channel<T, Out>(name: string): RealtimeChannel<T, Out> {
      if (!isChannelName(name)) throw misuse('realtime.channel', 'name', process.env.NODE_ENV !== 'production' && 'a channel name is a non-empty string of at most 256 characters')
      start()
      const c = entry(name)
      timers.clearTimeout(c.grace)
      c.holders++
      if (!c.store) {
        const s = state.peek()
        c.store = createStore<ChannelSnapshot<unknown>>({ ...s, data: undefined, lastEventId: undefined, reset: null }, schedule)
        announce()
      }
      const mine: (() => void)[] = []
      const add =
        <A>(e: { add(l: (a: A) => void): () => void }) =>
        (listener: (a: A) => void) => {
          const off = e.add(listener)
          mine.push(off)
          return off
        }
      let released = false
      const publish = (data: Out, publishOptions?: { ack: true }): SendResult | Promise<string> => {
        let result: SendResult = 'rejected'
        let problem: RealtimeError | undefined
        let json: string | undefined
        try {
          json = JSON.stringify(data ?? null)
        } catch (cause) {
          problem = new RealtimeError('protocol', 'the data could not be turned into JSON; it was not published', { cause })
        }
        if (json !== undefined && json.length > (options.maxPublishSize ?? 65_536)) problem = new RealtimeError('protocol', 'the data is larger than maxPublishSize; it was not published')
        else if (pending.size >= (options.maxQueued ?? 1000)) problem = new RealtimeError('overflow', 'too many publishes wait for an acknowledgement; it was not published')
        const pid = `${tab}.${Math.random().toString(36).slice(2)}`
        const settled = new Promise<string>((resolve, reject) => {
          if (problem) return reject(problem)
          const p: Pending = { channel: name, data, done: (r) => (typeof r === 'string' ? resolve(r) : reject(r)) }
          pending.set(pid, p)
          // Not posted (the page is away, or no channel now): it waits for the next leader's `hi`.
          result = pub(pid, p) === 'sent' ? 'sent' : 'queued'
        })
        if (problem) c.errors.emit(problem)
        if (publishOptions?.ack) return settled
        settled.catch(() => undefined)
        return result
      }
      return {
        name,
        subscribe: (listener) => c.store!.subscribe(listener),
        getSnapshot: () => c.store!.get() as ChannelSnapshot<T>,
        onMessage: add(c.messages) as RealtimeChannel<T, Out>['onMessage'],
        onReset: add(c.resets),
        onError: add(c.errors),
        publish: publish as RealtimeChannel<T, Out>['publish'],
        release() {
          if (released) return
          released = true
          for (const off of mine) off()
          if (--c.holders > 0) return
          c.grace = timers.setTimeout(() => {
            if (c.holders > 0) return
            c.store = undefined
            announce()
          }, options.grace ?? 1000)
        },
      }
    },
    peek: <T>(name: string) => channels.get(name)?.store?.get() as ChannelSnapshot<T> | undefined,
    subscribe: state.subscribe,
    getSnapshot: state.get,
    onError: errors.add,
    reconnect() {
      stopped = false
      if (shared) shared.reconnect()
      else start()
    },
    close() {
      for (const off of offs) off()
      offs = []
      // A follower tells the leader its channels are free; a tab whose own connection closes
      // now has nobody to tell (unsubscribing would only send frames, or POSTs, after it).
      if (shared?.getSnapshot().role === 'follower') shared.send?.({ op: 'bye', tab } satisfies WireRequest)
      shared?.close()
      shared = undefined
      wire = undefined
      letGo()
      stopped = true
      for (const [, p] of pending) p.done?.(new RealtimeError('ended', 'the realtime client was closed before the server acknowledged the publish'))
      pending.clear()
      // Holds stay (a mounted component keeps its data and shows `closed`); `reconnect()`
      // subscribes them again. Channels nobody here holds are forgotten.
      for (const [name, c] of channels) if (!c.store) channels.delete(name)
      const patch = { status: 'closed', error: null, attempt: 0, retryAt: null, paused: null, role: 'solo' } as const
      state.set(patch, { urgent: true })
      setAll(patch)
    },
  }
  return client
}
