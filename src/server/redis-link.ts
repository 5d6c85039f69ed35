/**
 * The Redis connections of a set of Redis logs: the command client (given, or made from a
 * url) and a reader duplicated from it for blocking reads, with the errors they report.
 */
import { describeError, warn } from './errors.ts'

/**
 * The part of a node-redis client (`createClient()` of the `redis` package) the Redis logs
 * use. Any client with these members works.
 */
export interface RedisClientLike {
  sendCommand(args: readonly string[]): Promise<unknown>
  duplicate(overrides?: { disableOfflineQueue?: boolean }): RedisClientLike
  connect(): Promise<unknown>
  readonly isOpen: boolean
  readonly isReady: boolean
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'ready' | 'end', listener: () => void): unknown
  destroy(): void
}

/** What failed, in a Redis log's error. */
export type RedisLogErrorKind = 'unavailable' | 'append' | 'history-lost' | 'gap' | 'corrupt'

/**
 * A fault of the Redis logs, reported to `onError`: `unavailable` (the reader lost Redis; the
 * logs retry with backoff and resume from their last ids), `append` (an append failed: it
 * rejects, and the publish is refused), `history-lost` (a stream's epoch changed: a flushed
 * or restarted Redis; its clients are cut and resume to a `reset`), `gap` (this instance read a
 * stream too late: entries were trimmed before it read them; its clients are cut and resume to
 * a `reset`), `corrupt` (a log's keys hold what no log wrote: another type, a malformed seq;
 * that log's reads and appends fail, nothing is deleted, and the other logs go on).
 */
export class RedisLogError extends Error {
  override readonly name = 'RedisLogError'
  readonly kind: RedisLogErrorKind

  constructor(kind: RedisLogErrorKind, message: string, options?: { cause?: unknown }) {
    super(`[tabwire/server] Redis log: ${message}`, options)
    this.kind = kind
  }
}

/** The command client and the reader, as a set of Redis logs uses them. */
export interface RedisLink {
  /** Runs a command on the command client, in call order; rejects at once while Redis is unreachable (at start too). */
  command(args: readonly string[]): Promise<unknown>
  /** The reader's connection, made (and connected) on first use. */
  reader(): Promise<RedisClientLike>
  close(): void
}

/** Options of {@link createLink}. */
export interface LinkOptions {
  client?: RedisClientLike | undefined
  url?: string | undefined
  /** Reports a fault (see {@link episodes}). */
  fault(kind: RedisLogErrorKind, message: string, cause: unknown): void
}

/**
 * Reports a thrown value once per episode: the next report of the same kind (for the same
 * log `key`, when given) waits for `clear`.
 */
export function episodes(report: (error: RedisLogError) => void) {
  const open = new Set<string>()
  return {
    fault(kind: RedisLogErrorKind, message: string, cause: unknown, key = '') {
      // Once per outage, not once per retry or per refused append.
      if (open.has(`${kind} ${key}`)) return
      if (kind !== 'history-lost' && kind !== 'gap') open.add(`${kind} ${key}`)
      report(new RedisLogError(kind, cause === undefined ? message : `${message}: ${describeError(cause)}`, { cause }))
    },
    clear(kind: RedisLogErrorKind, key = '') {
      if (open.delete(`${kind} ${key}`) && kind === 'unavailable') warn('Redis log: Redis is reachable again; reading resumes from the last ids')
    },
  }
}

/** Connections over `client`, or over a client made for `url` (the `redis` package, loaded then). */
export function createLink({ client, url, fault }: LinkOptions): RedisLink {
  let closed = false
  let readerClient: Promise<RedisClientLike> | undefined
  const owned: RedisClientLike[] = []
  const quiet = (c: RedisClientLike, role: string) =>
    c.on('error', (error) => {
      // node-redis emits every socket error (and reconnects by itself); unheard, one would
      // crash the process. The logs report what they could not do.
      if (!closed) fault('unavailable', `the ${role} connection failed`, error)
    })

  const closedError = () => new RedisLogError('unavailable', 'the logs are closed')
  /** Keeps a connection this link made, to end it on close; one made after close ends now. */
  const own = (c: RedisClientLike) => {
    owned.push(c)
    if (closed) end(c)
  }
  const end = (c: RedisClientLike) => {
    try {
      c.destroy()
    } catch {
      // Already gone.
    }
  }

  const made: Promise<RedisClientLike> = client
    ? Promise.resolve(client)
    : import('redis').then(({ createClient }) => {
        // Closed while the package loaded: no connection at all (it would keep the process up).
        if (closed) throw closedError()
        const c = createClient({ url }) as unknown as RedisClientLike
        own(c)
        quiet(c, 'command')
        return c
      })
  /**
   * The command client once its first connection attempt ended, connected or not: node-redis
   * retries by itself, and its `connect()` would not settle while Redis is down.
   */
  const first = made.then(
    (c) =>
      new Promise<RedisClientLike>((resolve) => {
        if (c.isReady || closed) return resolve(c)
        c.on('ready', () => resolve(c))
        c.on('error', () => resolve(c))
        if (!c.isOpen) c.connect().then(() => resolve(c), () => resolve(c))
      }),
  )
  first.catch(() => {})

  return {
    command(args) {
      return first.then((c) => {
        if (closed) throw closedError()
        // A client that waits to reconnect would queue the command for later: refused now instead.
        if (!c.isReady) throw new RedisLogError('unavailable', 'Redis is unreachable')
        return c.sendCommand(args)
      })
    },
    reader() {
      const reader = (readerClient ??= first.then(async (c) => {
        if (closed) throw closedError()
        const r = c.duplicate({ disableOfflineQueue: true })
        own(r)
        quiet(r, 'reader')
        await r.connect()
        // Closed while it connected: close() ended it, and nobody may read on it.
        if (closed) throw closedError()
        return r
      }))
      // A first connection that failed is tried again on the next call.
      reader.catch(() => {
        if (readerClient === reader) readerClient = undefined
      })
      return reader
    },
    close() {
      closed = true
      for (const c of owned) end(c)
    },
  }
}
