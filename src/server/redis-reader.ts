/**
 * The one reader of a set of Redis logs: a loop of blocking `XREAD`s, on its own connection,
 * over every stream that has a listener in this process, fanned out to those listeners
 * (one Redis read per instance, not per client). It notices a lost history (a new epoch),
 * and when Redis is unreachable it reports it, retries with backoff and resumes from the last
 * seq it told, so nothing appended meanwhile is missed.
 */
import type { LogEntry } from './log.ts'
import type { RedisLink, RedisLogErrorKind } from './redis-link.ts'
import { fieldsOf, HEAD_SCRIPT, readReply, seqOf } from './redis-scripts.ts'

/** One stream, as this process follows it. */
export interface StreamState {
  readonly key: string
  readonly meta: string
  /** The epoch last seen in Redis (undefined before the first answer). */
  epoch: string | undefined
  /** The epochs this stream had before: an entry of one is from a lost history. */
  readonly left: Set<string>
  /** The newest seq told to the listeners (or the head when reading started). */
  seq: number
  /** Whether the loop reads it: its head was read after the first listener came. */
  reading: boolean
  /** The head being read for the first listener: `since` waits for it, so no entry falls between. */
  started: Promise<void> | undefined
  readonly listeners: Set<(entry: LogEntry) => void>
  readonly lost: Set<(epoch: string) => void>
  waiters: { seq: number; resolve(): void }[]
}

/** What the reader needs besides the connections. */
export interface ReaderOptions {
  link: RedisLink
  /** How long one `XREAD` blocks (ms); lost histories are looked for at most this often. */
  block: number
  /** The wait before the retry after `attempt` failures, in ms. */
  backoff(attempt: number): number
  setTimeout(fn: () => void, ms: number): unknown
  now(): number
  freshEpoch(): string
  fault(kind: RedisLogErrorKind, message: string, cause: unknown): void
  recovered(kind: RedisLogErrorKind): void
  /** A listener threw. */
  listenerError(error: unknown, entry: LogEntry): void
}

/** The reader of a set of Redis logs. */
export interface Reader {
  /** The state of stream `key`, made on first use (dropped again when it has no listener). */
  stream(key: string): StreamState
  /** The state of stream `key` if this process follows it. */
  peek(key: string): StreamState | undefined
  /** Adds a listener to `state`; the stream is read while it has one. */
  listen(state: StreamState, listener: (entry: LogEntry) => void): () => void
  /** Adds a listener for a lost history of `state` (a new epoch), or a gap in what was read (the same epoch). */
  lost(state: StreamState, listener: (epoch: string) => void): () => void
  /** Resolves once the listeners were told `seq` (at once when nobody listens). */
  told(state: StreamState, seq: number): Promise<void>
  /** An epoch (and the seq before the newest entry) a script answered: a new one means the history was lost. */
  seen(state: StreamState, epoch: string, headSeq: number): void
  /** `'open'`, `'retrying'` while Redis is unreachable, `'closed'`. */
  readonly status: 'open' | 'retrying' | 'closed'
  close(): void
}

/** Starts the reader loop (it idles while no stream has a listener). */
export function createReader(options: ReaderOptions): Reader {
  const { link, block } = options
  const streams = new Map<string, StreamState>()
  let status: Reader['status'] = 'open'
  const isClosed = () => status === 'closed'
  let wakeIdle: (() => void) | undefined
  let blockedId: string | undefined
  let readerId: string | undefined
  let checked = options.now()

  const settle = (state: StreamState, all = false) => {
    if (!state.waiters.length) return
    const done = all ? state.waiters : state.waiters.filter((w) => w.seq <= state.seq)
    state.waiters = all ? [] : state.waiters.filter((w) => w.seq > state.seq)
    for (const waiter of done) waiter.resolve()
  }

  /** A stream nobody here follows any more is dropped: dynamic channels come and go. */
  const forget = (state: StreamState) => {
    if (!state.listeners.size && !state.lost.size && streams.get(state.key) === state) streams.delete(state.key)
  }

  const wake = () => {
    wakeIdle?.()
    // A blocked XREAD reads the streams it was sent with: unblocked, the loop sends the new set.
    if (blockedId !== undefined) link.command(['CLIENT', 'UNBLOCK', blockedId]).catch(() => {})
  }

  const seen = (state: StreamState, epoch: string, headSeq: number) => {
    if (state.epoch === undefined || state.epoch === epoch) return void (state.epoch = epoch)
    const before = state.epoch
    state.left.add(before)
    state.epoch = epoch
    state.seq = headSeq
    settle(state, true)
    options.fault('history-lost', `stream "${state.key}" lost its history (epoch ${before} → ${epoch}, a flushed or restarted Redis); its clients resume to a reset`, undefined)
    cut(state, epoch, headSeq)
    wake()
  }

  /** Tells the `lost` listeners: the stream's clients are cut, and resume to a reset. */
  const cut = (state: StreamState, epoch: string, headSeq: number) => {
    for (const listener of [...state.lost]) {
      try {
        listener(epoch)
      } catch (error) {
        options.listenerError(error, { id: `${epoch}.${headSeq}`, seq: headSeq, event: undefined, data: '' })
      }
    }
  }

  const start = (state: StreamState) => {
    const started: Promise<void> = link.command(['EVAL', HEAD_SCRIPT, '2', state.key, state.meta, options.freshEpoch()]).then((reply) => {
      if (state.started !== started || !state.listeners.size) return
      const [epoch, seq] = reply as [string, number]
      seen(state, String(epoch), Number(seq))
      state.seq = Math.max(state.seq, Number(seq))
      state.reading = true
      settle(state)
      wake()
    })
    state.started = started
    // Tried again by the loop; `since` sees the failure and fails its client, which retries.
    started.catch(() => {
      if (state.started === started) state.started = undefined
    })
    return started
  }

  /**
   * Tells the listeners the entries an `XREAD` answered, each under the epoch it was appended
   * in: one of a new epoch (a flushed Redis, noticed here before any epoch check) is a lost
   * history first; one of an epoch already left (read before the flush) is dropped. A seq
   * that skips some (trimmed before this reader read them: it fell behind by more than the
   * capacity) is a gap: the clients are cut, and resume to a `reset`, never past a hole.
   */
  const deliver = (state: StreamState, entries: readonly [string, string[]][]) => {
    for (const [id, fields] of entries) {
      const seq = seqOf(id)
      const { epoch, data, event } = fieldsOf(fields)
      if (!state.reading || !(seq > state.seq) || epoch === undefined || state.left.has(epoch)) continue
      if (epoch !== state.epoch) seen(state, epoch, seq - 1)
      else if (seq !== state.seq + 1) {
        options.fault('gap', `stream "${state.key}" was read too late: entries ${state.seq + 1} to ${seq - 1} were trimmed first (more than its capacity behind); its clients resume to a reset`, undefined)
        cut(state, epoch, seq - 1)
      }
      state.seq = seq
      const entry: LogEntry = { id: `${epoch}.${seq}`, seq, event, data }
      for (const listener of [...state.listeners]) {
        try {
          listener(entry)
        } catch (error) {
          options.listenerError(error, entry)
        }
      }
    }
    settle(state)
  }

  /** Reads every followed stream's head: a changed epoch is a lost history. */
  const checkEpochs = async () => {
    checked = options.now()
    for (const state of streams.values()) {
      if (!state.reading) continue
      const [epoch, seq] = (await link.command(['EVAL', HEAD_SCRIPT, '2', state.key, state.meta, options.freshEpoch()])) as [string, number]
      seen(state, String(epoch), Number(seq))
    }
  }

  const idle = () => new Promise<void>((resolve) => (wakeIdle = resolve)).finally(() => (wakeIdle = undefined))

  const loop = async () => {
    let attempt = 0
    let recovering = false
    while (status !== 'closed') {
      try {
        for (const state of streams.values()) if (state.listeners.size && !state.reading) await (state.started ?? start(state))
        const active = [...streams.values()].filter((s) => s.reading)
        if (!active.length) {
          await idle()
          continue
        }
        const reader = await link.reader()
        readerId ??= String(await reader.sendCommand(['CLIENT', 'ID']))
        if (recovering) await checkEpochs()
        blockedId = readerId
        const args = ['XREAD', 'COUNT', '1000', 'BLOCK', String(block), 'STREAMS', ...active.map((s) => s.key), ...active.map((s) => `${s.seq}-0`)]
        const reply = await reader.sendCommand(args).finally(() => (blockedId = undefined))
        if (recovering) {
          recovering = false
          status = 'open'
          options.recovered('unavailable')
        }
        attempt = 0
        for (const [key, entries] of readReply(reply)) {
          const state = streams.get(key)
          if (state) deliver(state, entries)
        }
        if (options.now() - checked >= block) await checkEpochs()
      } catch (error) {
        readerId = undefined
        // Closed while a read was in flight: the loop ends.
        if (isClosed()) return
        recovering = true
        status = 'retrying'
        options.fault('unavailable', 'reading the streams failed; retrying with backoff', error)
        await new Promise<void>((resolve) => options.setTimeout(resolve, options.backoff(attempt++)))
      }
    }
  }
  void loop()

  return {
    stream(key) {
      let state = streams.get(key)
      if (!state) streams.set(key, (state = { key, meta: `${key}:meta`, epoch: undefined, left: new Set(), seq: 0, reading: false, started: undefined, listeners: new Set(), lost: new Set(), waiters: [] }))
      return state
    },
    listen(state, listener) {
      state.listeners.add(listener)
      if (!state.started) start(state).catch(() => {})
      return () => {
        if (!state.listeners.delete(listener) || state.listeners.size) return
        state.reading = false
        state.started = undefined
        settle(state, true)
        forget(state)
      }
    },
    peek: (key) => streams.get(key),
    lost(state, listener) {
      state.lost.add(listener)
      return () => {
        state.lost.delete(listener)
        forget(state)
      }
    },
    told(state, seq) {
      if (!state.listeners.size || (seq <= state.seq && state.reading)) return Promise.resolve()
      return new Promise<void>((resolve) => state.waiters.push({ seq, resolve }))
    },
    seen,
    get status() {
      return status
    },
    close() {
      status = 'closed'
      for (const state of streams.values()) settle(state, true)
      wake()
      link.close()
    },
  }
}
