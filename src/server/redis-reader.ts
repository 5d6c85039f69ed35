/**
 * The one reader of a set of Redis logs: a loop of blocking `XREAD`s, on its own connection,
 * over every stream that has a listener in this process, fanned out to those listeners
 * (one Redis read per instance, not per client). It notices a lost history (a new epoch)
 * and a gap (entries trimmed before it read them), leaves out a stream whose keys are
 * corrupt, and when Redis is unreachable it reports it, retries with backoff and resumes from
 * the last seq it told, so nothing appended meanwhile is missed.
 */
import { describeError } from './errors.ts'
import { fieldsOf, HEAD_SCRIPT, HEADS_SCRIPT, headOf, isCorrupt, logKeyOf, readReply, seqOf } from './redis-scripts.ts'
import { type Reader, type ReaderOptions, type StreamState, settle, streamState, tell, tellLost } from './redis-stream.ts'

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

  const cut = (state: StreamState, epoch: string, headSeq: number) => tellLost(state, epoch, headSeq, options.listenerError)

  /**
   * What this process knows of a stream, for the scripts: its epoch and the seq it read up to
   * (a Redis that answers a lower seq in that epoch went back in time: see `ENSURE`).
   */
  const knows = (state: StreamState) => [state.epoch ?? '', String(state.seq)]

  /** The stream's head, read (and its epoch started when it has none, or went back) in Redis. */
  const head = (state: StreamState) => link.command(['EVAL', HEAD_SCRIPT, '2', state.stream, state.meta, options.freshEpoch(), ...knows(state)]).then(headOf)

  /**
   * The stream's keys hold what no log wrote: it alone stops being read (an `XREAD` of it
   * would fail every stream's), its clients are cut, and it is tried again a `block` later.
   */
  const broke = (state: StreamState, error: unknown) => {
    const wasReading = state.reading
    state.reading = false
    state.started = undefined
    state.retryAt = options.now() + block
    settle(state, true)
    options.fault('corrupt', `stream "${state.key}" is not read: ${describeError(error)}`, undefined, state.key)
    if (wasReading && state.epoch !== undefined) cut(state, state.epoch, state.seq)
  }

  const start = (state: StreamState) => {
    const started: Promise<void> = head(state).then(([epoch, seq]) => {
      if (state.started !== started || !state.listeners.size) return
      seen(state, epoch, seq)
      state.seq = Math.max(state.seq, seq)
      state.reading = true
      options.recovered('corrupt', state.key)
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
      tell(state, { id: `${epoch}.${seq}`, seq, event, data }, options.listenerError)
    }
    settle(state)
  }

  /**
   * Reads every followed stream's head, in one script call per 500 streams: a changed epoch
   * is a lost history, and so is a seq below the one read in the same epoch (the script
   * starts a new epoch then). Answers how many streams broke.
   */
  const checkEpochs = async () => {
    checked = options.now()
    const reading = [...streams.values()].filter((s) => s.reading)
    let broken = 0
    for (let i = 0; i < reading.length; i += 500) {
      const batch = reading.slice(i, i + 500)
      const keys = batch.flatMap((s) => [s.stream, s.meta])
      const heads = (await link.command(['EVAL', HEADS_SCRIPT, String(keys.length), ...keys, options.freshEpoch(), ...batch.flatMap(knows)])) as [number, unknown, unknown][]
      for (const [k, state] of batch.entries()) {
        const [ok, epoch, seq] = heads[k] ?? []
        if (!state.reading) continue
        try {
          if (ok !== 1) throw new Error(String(epoch))
          seen(state, ...headOf([epoch, seq]))
        } catch (error) {
          broke(state, error)
          broken++
        }
      }
    }
    return broken
  }

  /** Starts reading the streams that have listeners; one whose keys are corrupt is left out. */
  const startAll = async () => {
    for (const state of streams.values()) {
      if (!state.listeners.size || state.reading || options.now() < state.retryAt) continue
      await (state.started ?? start(state)).catch((error: unknown) => {
        if (!isCorrupt(error)) throw error
        broke(state, error)
      })
    }
  }

  /** Waits for a new listener (or `ms`, when given). */
  const idle = (ms?: number) =>
    new Promise<void>((resolve) => {
      wakeIdle = resolve
      if (ms !== undefined) options.setTimeout(resolve, ms)
    }).finally(() => (wakeIdle = undefined))

  const loop = async () => {
    let attempt = 0
    let recovering = false
    while (status !== 'closed') {
      try {
        await startAll()
        const active = [...streams.values()].filter((s) => s.reading)
        if (!active.length) {
          // A stream left out is tried again later.
          await idle([...streams.values()].some((s) => s.listeners.size) ? block : undefined)
          continue
        }
        const reader = await link.reader()
        readerId ??= String(await reader.sendCommand(['CLIENT', 'ID']))
        if (recovering) await checkEpochs()
        blockedId = readerId
        const args = ['XREAD', 'COUNT', '1000', 'BLOCK', String(block), 'STREAMS', ...active.map((s) => s.stream), ...active.map((s) => `${s.seq}-0`)]
        const reply = await reader.sendCommand(args).finally(() => (blockedId = undefined))
        if (recovering) {
          recovering = false
          status = 'open'
          options.recovered('unavailable')
        }
        attempt = 0
        for (const [key, entries] of readReply(reply)) {
          const state = streams.get(logKeyOf(key))
          if (state) deliver(state, entries)
        }
        if (options.now() - checked >= block) await checkEpochs()
      } catch (error) {
        readerId = undefined
        // Closed while a read was in flight: the loop ends.
        if (isClosed()) return
        // One stream's key of another type fails the whole XREAD: that stream is left out.
        if (error instanceof Error && error.message.startsWith('WRONGTYPE') && (await checkEpochs().catch(() => 0))) continue
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
      if (!state) streams.set(key, (state = streamState(key)))
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
