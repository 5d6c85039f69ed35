/**
 * "Replay, then live" for the mocks: the rule of the server's feed (src/server/feed.ts)
 * without its sockets. The log is listened to before `since` is asked, entries heard during
 * the replay are held, and every entry is written at most once, in `seq` order, so there is
 * no gap and no duplicate at the seam. What the feed adds for real sockets (framing once for
 * every client, batching, backpressure and the slow-client bound) a mock does not need.
 */
import { describeError, warn } from '../server/errors.ts'
import type { LogEntry, Replay, ReplayLog } from '../server/log.ts'

export interface MockFollowOptions {
  /** The id the client resumes after (none: live entries only). */
  since: string | null | undefined
  /** Once `since` answered, before the replay. */
  start(replay: Replay): void
  /** One entry for the client. */
  entry(entry: LogEntry): void
  /** The log failed this client (since threw or answered nonsense): the connection is cut, as the server does. */
  failed(): void
  /** The newest `seq` a subscription this one replaces already wrote. */
  after?: number | undefined
}

export interface MockFollowing {
  /** Stops; answers the newest `seq` written. */
  stop(): number
}

export function followLog(log: ReplayLog, options: MockFollowOptions): MockFollowing {
  let lastSeq = options.after ?? Number.NEGATIVE_INFINITY
  let held: LogEntry[] | undefined = []
  let stopped = false
  const deliver = (entry: LogEntry) => {
    if (stopped || !(entry.seq > lastSeq)) return
    lastSeq = entry.seq
    options.entry(entry)
  }
  const off = log.subscribe((entry) => {
    if (held) held.push(entry)
    else deliver(entry)
  })
  const stop = () => {
    if (!stopped) off()
    stopped = true
    return lastSeq
  }
  const check = (replay: Replay) => {
    if (typeof replay !== 'object' || replay === null || !('reset' in replay || Array.isArray((replay as { entries?: unknown }).entries))) {
      throw new TypeError('since() answered neither { entries } nor { reset, head, headSeq }')
    }
  }
  const catchUp = async (replay: Replay) => {
    if (stopped) return
    check(replay)
    if ('reset' in replay) lastSeq = Math.max(lastSeq, replay.headSeq)
    // As the feed: the client has everything up to its id, and a long replay comes page by page.
    else if (Number.isSafeInteger(replay.afterSeq)) lastSeq = Math.max(lastSeq, replay.afterSeq!)
    options.start(replay)
    for (let page: Replay = replay; 'entries' in page; ) {
      page.entries.forEach(deliver)
      if (typeof page.more !== 'function' || stopped) break
      const rest = await page.more()
      if (stopped) return
      check(rest)
      if ('reset' in rest) throw new Error(`the replay lost continuity (${rest.reset}): the client resumes to a reset`)
      page = rest
    }
    if (stopped) return
    const waiting = held!.sort((a, b) => a.seq - b.seq)
    held = undefined
    waiting.forEach(deliver)
  }
  const cut = (error: unknown) => {
    if (stopped) return
    warn(`mock: a client's replay failed, so it was cut (it retries): ${describeError(error)}`)
    stop()
    options.failed()
  }
  // Asked at once, as the server does: the answer is the log as the client joined.
  try {
    Promise.resolve(log.since(options.since)).then(catchUp).catch(cut)
  } catch (error) {
    cut(error)
  }
  return { stop }
}
