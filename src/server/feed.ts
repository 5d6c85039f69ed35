/**
 * "Replay, then live": the one routine both handlers serve a log with. Per log (SSE) or
 * channel (WebSocket), a feed listens to the log once, frames each entry once, and writes
 * the same bytes to every live client, batched per tick. A client that joins first gets
 * what it missed, paced by its socket (a replay never counts as slow), while live entries
 * are held for it up to `maxBuffered` bytes; then it joins the live clients, with no gap and
 * no duplicate at the seam (entries are compared by `seq`, see `ReplayLog`).
 */
import { describeError, quote, warn } from './errors.ts'
import { type DrainWait, fits } from './drain.ts'
import type { LogEntry, Replay, AnyReplayLog } from './log.ts'

/** One client's socket, as a feed sees it. */
export interface Sink {
  /** Wraps payload bytes in this socket's framing; sinks with the same function share bytes. */
  readonly encode: (payload: Buffer) => Buffer
  /** Writes encoded bytes; false when the socket asks to wait for `drain`. */
  write(bytes: Buffer): boolean
  /** Bytes waiting in the socket. */
  readonly buffered: number
  /** Whether bytes can still be written. */
  readonly open: boolean
  /** Whether the last write asked to wait for `drain` and it has not come yet. */
  readonly needsDrain: boolean
  /** Resolves once the socket drained or closed; every waiter on a socket shares one listener. */
  drained(): DrainWait
}

export interface FollowOptions {
  sink: Sink
  /** The id the client resumes after (none: live entries only). */
  since: string | null | undefined
  /** The payload to write before the replay, once `since` answered (WebSocket: `subscribed`, a reset frame). */
  start(replay: Replay): Buffer | undefined
  /** Lets the client go, once: it fell `maxBuffered` behind (`'slow'`), or the log failed it (`'failed'`). */
  cut(reason: 'slow' | 'failed'): void
  /**
   * The newest `seq` this socket already got from the same log (a subscription it replaces):
   * nothing up to it is written again. None: -Infinity.
   */
  after?: number
}

export interface Following {
  /** Ends it (the client left, unsubscribed or resubscribed); answers the newest `seq` written to it. */
  stop(): number
}

export interface Feed {
  /** Starts serving a client. */
  follow(options: FollowOptions): Following
}

export interface FeedOptions {
  log: AnyReplayLog
  /** The payload of an entry; a throw skips the entry with a warning. */
  frame(entry: LogEntry): Buffer
  /** What the feed serves, for warnings (`SSE`, `channel 'room'`). */
  name: string
  maxBuffered: number
  /** Under load, live bytes go out at most once per this many ms (see the handlers' `batchWindow`). */
  batchWindow: number
}

/** A write is at most this big, so no client waits long behind another's chunk. */
const CHUNK_BYTES = 65_536

interface Frame {
  readonly seq: number
  readonly bytes: Buffer
}

interface Member {
  readonly options: FollowOptions
  /** The newest entry written to this client (or covered by its reset). */
  lastSeq: number
  /** Live entries held while the client catches up. */
  held: Frame[]
  heldBytes: number
  stopped: boolean
  /** The replay's wait for `drain`, called off when the client stops. */
  waiting: DrainWait | undefined
}

/** Puts `frame` into `frames` in `seq` order (at the end, unless a log told entries out of order). */
function insert(frames: Frame[], frame: Frame) {
  let i = frames.length
  while (i > 0 && frames[i - 1]!.seq > frame.seq) i--
  if (i === frames.length) frames.push(frame)
  else frames.splice(i, 0, frame)
}

export function createFeed({ log, frame, name, maxBuffered, batchWindow }: FeedOptions): Feed {
  const catching = new Set<Member>()
  const live = new Set<Member>()
  /** Framed once per entry, shared by replays and the live path (null: cannot be framed). */
  const framed = new WeakMap<LogEntry, Frame | null>()
  let unsubscribe: (() => void) | undefined
  let batch: Frame[] = []
  let batchBytes = 0
  let scheduled: { cancel(): void } | undefined
  let lastFlush = Number.NEGATIVE_INFINITY
  /** The highest seq heard, to notice a log that tells entries out of order (warned once). */
  let newest = Number.NEGATIVE_INFINITY
  let disordered = false

  const frameOf = (entry: LogEntry): Frame | null => {
    let result = framed.get(entry)
    if (result !== undefined) return result
    try {
      result = { seq: entry.seq, bytes: frame(entry) }
    } catch (error) {
      warn(`${name}: skipped log entry ${quote(entry.id)}, which cannot be framed: ${describeError(error)}`)
      result = null
    }
    if (typeof entry === 'object' && entry !== null) framed.set(entry, result)
    return result
  }

  const leave = (member: Member) => {
    member.stopped = true
    member.held = []
    member.heldBytes = 0
    member.waiting?.cancel()
    member.waiting = undefined
    catching.delete(member)
    live.delete(member)
    if (catching.size || live.size) return
    const off = unsubscribe
    unsubscribe = undefined
    scheduled?.cancel()
    scheduled = undefined
    batch = []
    batchBytes = 0
    // A store's unsubscribe may fail (a broken connection): the client is gone either way.
    try {
      off?.()
    } catch (error) {
      warn(`${name}: the log failed to unsubscribe a listener: ${describeError(error)}`)
    }
  }

  const cut = (member: Member, reason: 'slow' | 'failed') => {
    if (member.stopped) return
    leave(member)
    try {
      member.options.cut(reason)
    } catch (error) {
      warn(`${name}: a client could not be cut: ${describeError(error)}`)
    }
  }

  /** Writes to a live client, or lets it go when `maxBuffered` bytes already wait. */
  const deliver = (member: Member, bytes: Buffer) => {
    const { sink } = member.options
    if (!sink.open) return
    if (!fits(sink, bytes.length, maxBuffered)) return cut(member, 'slow')
    sink.write(bytes)
  }

  /** Writes the frames beyond the client's position, on their own (not shared bytes). */
  const writeNewer = (member: Member, frames: readonly Frame[]) => {
    const newer = frames.filter((f) => f.seq > member.lastSeq)
    if (!newer.length) return
    deliver(member, member.options.sink.encode(Buffer.concat(newer.map((f) => f.bytes))))
    member.lastSeq = newer.at(-1)!.seq
  }

  const flush = () => {
    scheduled?.cancel()
    scheduled = undefined
    const frames = batch
    if (!frames.length) return
    lastFlush = performance.now()
    batch = []
    const payload = frames.length === 1 ? frames[0]!.bytes : Buffer.concat(frames.map((f) => f.bytes), batchBytes)
    batchBytes = 0
    const first = frames[0]!.seq
    const last = frames.at(-1)!.seq
    const encoded = new Map<FollowOptions['sink']['encode'], Buffer>()
    for (const member of live) {
      if (member.lastSeq >= last) continue
      const { encode } = member.options.sink
      if (member.lastSeq < first) {
        let bytes = encoded.get(encode)
        if (!bytes) encoded.set(encode, (bytes = encode(payload)))
        deliver(member, bytes)
        member.lastSeq = last
      } else {
        // Went live inside this batch: only its newer part (rare).
        writeNewer(member, frames)
      }
    }
  }

  const onEntry = (entry: LogEntry) => {
    const f = frameOf(entry)
    if (!f) return
    if (f.seq <= newest && !disordered) {
      disordered = true
      warn(`${name}: the log told entry ${quote(entry.id)} after a newer one (seq ${f.seq} after ${newest}); entries must be told in append order`)
    }
    newest = Math.max(newest, f.seq)
    for (const member of catching) {
      // In seq order, so a log that told entries out of order costs no entry here.
      insert(member.held, f)
      member.heldBytes += f.bytes.length
      if (member.heldBytes > maxBuffered) cut(member, 'slow')
    }
    if (!live.size) return
    insert(batch, f)
    batchBytes += f.bytes.length
    // Batched on purpose: at once when a burst has framed CHUNK_BYTES; otherwise at the end
    // of this turn of the event loop, or, right after another write, once batchWindow has
    // passed since it (one write per socket per window under load, not one per event).
    if (batchBytes >= CHUNK_BYTES) flush()
    else scheduled ??= schedule(flush, lastFlush + batchWindow - performance.now())
  }

  const listener = (entry: LogEntry) => {
    try {
      onEntry(entry)
    } catch (error) {
      warn(`${name}: an entry could not be delivered: ${describeError(error)}`)
    }
  }

  /**
   * Listens to the log, and to a loss of its history: every client is cut then (its ids are
   * of a history that is gone), and reconnects to a `reset` with the new epoch.
   */
  const listen = () => {
    const offEntries = log.subscribe(listener)
    let offLost: (() => void) | undefined
    try {
      offLost = log.onHistoryLost?.(() => {
        warn(`${name}: the log lost its history (new epoch ${quote(log.epoch)}): its clients are cut, to resume with a reset`)
        newest = Number.NEGATIVE_INFINITY
        for (const member of [...catching, ...live]) cut(member, 'failed')
      })
    } catch (error) {
      offEntries()
      throw error
    }
    return () => {
      offLost?.()
      offEntries()
    }
  }

  /** Waits for the client's socket to drain; false when the client stopped or went meanwhile. */
  const drain = async (member: Member) => {
    const waiting = (member.waiting = member.options.sink.drained())
    await waiting.promise
    if (member.waiting === waiting) member.waiting = undefined
    return !member.stopped && member.options.sink.open
  }

  /**
   * Writes frames newer than what the client has, as fast as its socket takes them: a chunk
   * goes only to a socket that is not waiting for `drain` (a replay adds at most one chunk to
   * what waits, whatever else was written before it).
   */
  const paced = async (member: Member, frames: readonly Frame[]) => {
    const { sink } = member.options
    let chunk: Buffer[] = []
    let bytes = 0
    /** The newest seq in the chunk being built. The client's position moves only once it is written. */
    let pending = member.lastSeq
    /** Writes the chunk; false when the client stopped (or went) while it waited to. */
    const write = async () => {
      const payload = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk, bytes)
      chunk = []
      bytes = 0
      // A chunk thrown away here was never the client's: a subscription that replaces this
      // one on the same socket must write it (see `stop`).
      if (sink.needsDrain && !(await drain(member))) return false
      member.lastSeq = pending
      if (!sink.write(sink.encode(payload))) await drain(member)
      return true
    }
    for (const f of frames) {
      if (member.stopped || !sink.open) return
      if (f.seq <= pending) continue
      pending = f.seq
      chunk.push(f.bytes)
      if ((bytes += f.bytes.length) >= CHUNK_BYTES && !(await write())) return
    }
    if (chunk.length && !member.stopped && sink.open) await write()
  }

  const catchUp = async (member: Member) => {
    const { options } = member
    // Asked at once, so the answer is the log as the client joined (entries appended later
    // reach it live, even behind a reset's head), and caught: a store whose since() throws
    // fails this client only.
    let answer: Replay | Promise<Replay>
    try {
      answer = log.since(options.since)
    } catch (error) {
      answer = Promise.reject(error)
    }
    const replay = await answer
    if (member.stopped) return
    if (!isReplay(replay)) throw new TypeError('since() answered neither { entries } nor { reset, head, headSeq }')
    if ('reset' in replay) member.lastSeq = Math.max(member.lastSeq, replay.headSeq)
    // The client has everything up to its id: a listener that hears those entries late (a
    // shared store's reader behind the store) must not send them again.
    else if (Number.isSafeInteger(replay.afterSeq)) member.lastSeq = Math.max(member.lastSeq, replay.afterSeq!)
    const first = options.start(replay)
    if (first) {
      // Frames before the replay count against the bound too (a client that resubscribes
      // without reading must not grow the server's memory one frame at a time).
      const bytes = options.sink.encode(first)
      if (!fits(options.sink, bytes.length, maxBuffered + CHUNK_BYTES)) return cut(member, 'slow')
      options.sink.write(bytes)
    }
    // A long replay page by page: the next is asked for once this one is written, and not at
    // all for a client that left. A page that cannot follow on (trimmed or flushed meanwhile)
    // cuts the client, which resumes to that reset.
    for (let page: Replay = replay; 'entries' in page; ) {
      await paced(member, page.entries.flatMap((entry) => frameOf(entry) ?? []))
      if (typeof page.more !== 'function' || member.stopped || !options.sink.open) break
      const rest: unknown = await page.more()
      if (member.stopped) return
      if (!isReplay(rest)) throw new TypeError('a replay page answered neither { entries } nor { reset, head, headSeq }')
      if ('reset' in rest) return cut(member, 'failed')
      page = rest
    }
    while (member.held.length && !member.stopped) {
      const held = member.held
      member.held = []
      member.heldBytes = 0
      await paced(member, held)
    }
    if (member.stopped) return
    catching.delete(member)
    live.add(member)
  }

  return {
    follow(options) {
      const member: Member = { options, lastSeq: options.after ?? Number.NEGATIVE_INFINITY, held: [], heldBytes: 0, stopped: false, waiting: undefined }
      catching.add(member)
      try {
        unsubscribe ??= listen()
      } catch (error) {
        warn(`${name}: the log refused a subscriber: ${describeError(error)}`)
        cut(member, 'failed')
      }
      if (!member.stopped) {
        catchUp(member).catch((error: unknown) => {
          if (member.stopped) return
          warn(`${name}: a client's replay failed, so it was cut (it retries): ${describeError(error)}`)
          cut(member, 'failed')
        })
      }
      return {
        stop: () => {
          // Everything appended before the client stopped following is its: a resubscribe on
          // the same socket must neither lose what waits in this batch nor get it twice (the
          // new subscription starts after what this one wrote, see `after`).
          try {
            if (live.has(member)) writeNewer(member, batch)
          } catch (error) {
            warn(`${name}: a client's last events could not be written: ${describeError(error)}`)
          }
          leave(member)
          return member.lastSeq
        },
      }
    },
  }
}

function isReplay(value: unknown): value is Replay {
  if (typeof value !== 'object' || value === null) return false
  if ('reset' in value) return 'head' in value && typeof value.head === 'string' && 'headSeq' in value && Number.isSafeInteger(value.headSeq)
  return 'entries' in value && Array.isArray(value.entries)
}

/** Runs `fn` after `ms` (at the end of this turn of the event loop when `ms` ≤ 0). */
function schedule(fn: () => void, ms: number): { cancel(): void } {
  if (ms <= 0) {
    const immediate = setImmediate(fn)
    return { cancel: () => clearImmediate(immediate) }
  }
  const timer = setTimeout(fn, ms)
  return { cancel: () => clearTimeout(timer) }
}
