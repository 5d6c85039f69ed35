// An in-memory realtime server behind the fake WebSocket: it speaks the protocol of
// src/core/realtime/protocol.ts (subscribe with since, subscribed, reset, events,
// unsubscribe, publish with pid ack and de-dup, ping/pong) so the client and its cross-tab
// layer can be driven end to end in one process, without a network.
import type { RealtimeClientFrame, RealtimeServerFrame } from '../../../src/core/realtime/protocol'
import { type FakeSocket, fakeWebSockets } from '../fake-web-socket'

interface Log {
  epoch: string
  seq: number
  entries: { id: string; data: unknown }[]
}

export function fakeRealtimeServer() {
  const fake = fakeWebSockets()
  const logs = new Map<string, Log>()
  const subs = new Map<FakeSocket, Set<string>>()
  const pids = new Map<string, string>()
  /** Every frame clients sent, parsed, with the socket's index. */
  const received: { socket: number; frame: RealtimeClientFrame }[] = []
  let accepting = true
  /** Channels whose subscriptions are refused as unauthorized. */
  const refused = new Set<string>()
  /** Channels that refuse publishes. */
  const readOnly = new Set<string>()
  let epochs = 0

  const log = (channel: string) => {
    let l = logs.get(channel)
    if (!l) logs.set(channel, (l = { epoch: `e${++epochs}`, seq: 0, entries: [] }))
    return l
  }
  const to = (socket: FakeSocket, frame: RealtimeServerFrame) => {
    if (socket.readyState === 1) socket.receive(JSON.stringify(frame))
  }
  const append = (channel: string, data: unknown) => {
    const l = log(channel)
    const id = `${l.epoch}.${++l.seq}`
    l.entries.push({ id, data })
    for (const [socket, set] of subs) if (set.has(channel)) to(socket, { type: 'event', channel, id, data })
    return id
  }

  const handle = (socket: FakeSocket, text: unknown) => {
    if (text === 'ping') return socket.receive('pong')
    const frame = JSON.parse(text as string) as RealtimeClientFrame
    received.push({ socket: fake.sockets.indexOf(socket), frame })
    const set = subs.get(socket)!
    if (frame.type === 'subscribe' && refused.has(frame.channel)) {
      to(socket, { type: 'error', code: 'unauthorized', message: 'not for you', channel: frame.channel })
    } else if (frame.type === 'subscribe') {
      const l = log(frame.channel)
      set.add(frame.channel)
      const head = l.entries.at(-1)?.id ?? `${l.epoch}.0`
      to(socket, { type: 'subscribed', channel: frame.channel, head })
      if (frame.since === undefined) return
      const at = frame.since === `${l.epoch}.0` ? 0 : l.entries.findIndex((e) => e.id === frame.since) + 1
      if (at === 0 && frame.since !== `${l.epoch}.0`) return to(socket, { type: 'reset', channel: frame.channel, epoch: l.epoch, reason: 'unknown', head })
      for (const e of l.entries.slice(at)) to(socket, { type: 'event', channel: frame.channel, id: e.id, data: e.data })
    } else if (frame.type === 'unsubscribe') {
      set.delete(frame.channel)
    } else if (frame.type === 'publish' && readOnly.has(frame.channel)) {
      to(socket, { type: 'error', code: 'read-only', message: 'no publishing here', channel: frame.channel, ...(frame.pid && { pid: frame.pid }) })
    } else if (frame.type === 'publish') {
      const known = frame.pid && pids.get(frame.pid)
      const id = known || append(frame.channel, frame.data)
      if (frame.pid) pids.set(frame.pid, id)
      if (frame.pid) to(socket, { type: 'ack', channel: frame.channel, pid: frame.pid, id })
    }
  }

  const Base = fake.WebSocket as unknown as new (url: string, protocols?: string | string[]) => FakeSocket
  class ServedSocket extends Base {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols)
      // The handshake completes in a later task, as on a network.
      setTimeout(() => {
        if (this.readyState !== 0) return
        if (!accepting) return this.serverClose(1006)
        subs.set(this, new Set())
        this.open()
      })
    }
    override send(data: unknown) {
      super.send(data)
      if (this.readyState === 1) handle(this, data)
    }
    override close(code?: number, reason?: string) {
      super.close(code, reason)
      subs.delete(this)
      if (this.readyState !== 3) this.serverClose(code ?? 1000)
    }
  }

  return {
    WebSocket: ServedSocket as unknown as typeof WebSocket,
    sockets: fake.sockets,
    received,
    refused,
    readOnly,
    /** Sockets open now. */
    get open() {
      return fake.sockets.filter((s) => s.readyState === 1).length
    },
    /** The channels the open sockets follow, sorted. */
    subscriptions() {
      return [...subs.values()].flatMap((s) => [...s]).sort()
    },
    /** Appends to a channel; subscribers get it at once. */
    emit: append,
    entries: (channel: string) => log(channel).entries,
    /** The channel's log is replaced (a new epoch): a subscription from an old id gets a reset. */
    restart(channel: string) {
      logs.delete(channel)
      log(channel)
    },
    /** Sends the channel's last `n` events again to its subscribers (a replay that overlaps). */
    repeat(channel: string, n: number) {
      for (const [socket, set] of subs) if (set.has(channel)) for (const e of log(channel).entries.slice(-n)) to(socket, { type: 'event', channel, id: e.id, data: e.data })
    },
    /** Cuts every open socket. */
    drop(code = 1012) {
      for (const socket of fake.sockets) if (socket.readyState === 1) (subs.delete(socket), socket.serverClose(code))
    },
    /** Whether new sockets are refused. */
    set accepting(value: boolean) {
      accepting = value
    },
  }
}
