/**
 * What every mock of tabwire/testing has in common: its own registry of open connections
 * (MSW's `ws` client list updates asynchronously and misses a client that just connected),
 * the fault controls, output paced by an injectable clock, and queues of what clients did.
 */

/**
 * The timers a mock waits with (latency, flood pacing); tests may inject fake ones.
 * @example const timers: MockTimers = { setTimeout: (f, ms) => clock.setTimeout(f, ms), clearTimeout: (h) => clock.clearTimeout(h) }
 */
export interface MockTimers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Options every mock takes (see each mock's own options). */
export interface MockOptions {
  /**
   * The timers used for `setLatency` and `flood`.
   * @defaultValue the global `setTimeout` / `clearTimeout`
   * @example mockSseHandler(url, { timers: { setTimeout: (f, ms) => clock.setTimeout(f, ms), clearTimeout: (h) => clock.clearTimeout(h) } })
   */
  timers?: MockTimers
}

/**
 * One open connection, as the mock's registry sees it.
 * @example expect(await mock.nextConnection()).toMatchObject({ transport: 'sse', lastEventId: 'e1.4' })
 */
export interface MockConnectionInfo {
  /** `'sse'` (a streamed `GET`) or `'websocket'`. */
  readonly transport: 'sse' | 'websocket'
  /** The url the client asked for, query included. */
  readonly url: string
  /** SSE: the resume id the request carried (`Last-Event-ID`, else the query parameter); null for none. */
  readonly lastEventId: string | null
}

/**
 * The fault controls every mock has, callable from a test or a story (`play`, a button).
 * @example
 * const quotes = mockSseHandler('/api/quotes')
 * quotes.fail(503)
 * quotes.drop()
 */
export interface MockControls {
  /**
   * Cuts every open connection abruptly (SSE: the body errors; WebSocket: close 1006). Clients reconnect and resume.
   * @example act(() => quotes.drop()); expect((await quotes.nextConnection()).lastEventId).toBe(lastId)
   */
  drop(): void
  /**
   * Stops writing to the open connections and reading from them, without closing them (new
   * connections are served): a dead connection the client must notice (its `idleTimeout`).
   * @example quotes.stall() // then advance the client's clock past idleTimeout
   */
  stall(): void
  /**
   * Ends every open connection cleanly, after the frames still on their way (`setLatency`),
   * as a server's written bytes arrive before its close: WebSockets with `code`, SSE streams
   * by ending the body.
   * @param code - the WebSocket close code; defaults to 1012 (service restart), as `dropAll` of the server does.
   * @example chat.close(4001) // an app-defined code the client may treat as final
   */
  close(code?: number): void
  /**
   * The next `times` connection attempts are refused: SSE with HTTP `status` (and
   * `Retry-After` when given), WebSocket closed before it opens with 1006 (a browser cannot
   * see the status of a refused upgrade either). `times` defaults to 1 and adds to what is
   * left; `Infinity` refuses every attempt until `fail(status, 0)`, which clears all
   * refusals. `retryAfter` is in seconds.
   * @example quotes.fail(503, 2, 1) // two attempts get 503 with Retry-After: 1, the third is served
   * @example quotes.fail(401, Infinity) // until quotes.fail(401, 0)
   */
  fail(status: number, times?: number, retryAfter?: number): void
  /**
   * Delays every frame the mock sends, and the start of each new SSE response, by `ms` on the
   * mock's timers (0, the default: none). Order is kept.
   * @example mock.setLatency(200)
   */
  setLatency(ms: number): void
  /**
   * Offline: open connections drop and new attempts fail as a network error (WebSocket: close
   * 1006 before open) until `setOffline(false)`. The page's own `online`/`offline` events are
   * the app's to fire.
   * @example mock.setOffline(true); window.dispatchEvent(new Event('offline'))
   */
  setOffline(offline: boolean): void
  /**
   * Open connections, from the mock's own registry (up to date synchronously, unlike MSW's
   * `ws` client list).
   * @example expect(mock.connections.map((c) => c.transport)).toEqual(['websocket'])
   */
  readonly connections: readonly MockConnectionInfo[]
  /**
   * The next connection made; one that came before the call and was not taken by an earlier
   * call counts, so a connection made just before the `await` is not missed.
   * @example const { lastEventId } = await quotes.nextConnection()
   */
  nextConnection(): Promise<MockConnectionInfo>
}

/** A connection's transport-specific ends, given to the core. */
export interface ConnectionEnds extends MockConnectionInfo {
  /** Writes one frame's text now. */
  write(text: string): void
  /** Cuts it abruptly. */
  drop(): void
  /** Ends it cleanly. */
  close(code: number): void
}

/** A registered connection: what a mock's protocol code writes through. */
export interface Connection {
  readonly info: MockConnectionInfo
  /** Sends a frame after the latency, unless stalled. */
  send(text: string): void
  readonly stalled: boolean
  /** Cuts this connection abruptly. */
  drop(): void
  /** Ends this connection cleanly (WebSocket: with `code`). */
  close(code: number): void
  /** Leaves the registry (called once the connection ended, from either side). */
  end(): void
}

/** A queue of what clients did; each `next` takes the oldest match not yet taken. */
export interface Happenings<T> {
  push(value: T): void
  next(match?: (value: T) => boolean): Promise<T>
}

export function happenings<T>(): Happenings<T> {
  const untaken: T[] = []
  const waiters: { match: (value: T) => boolean; resolve: (value: T) => void }[] = []
  return {
    push(value) {
      const i = waiters.findIndex((w) => w.match(value))
      if (i < 0) return void untaken.push(value)
      waiters.splice(i, 1)[0]!.resolve(value)
    },
    next(match = () => true) {
      const i = untaken.findIndex(match)
      if (i >= 0) return Promise.resolve(untaken.splice(i, 1)[0]!)
      return new Promise<T>((resolve) => waiters.push({ match, resolve }))
    },
  }
}

/** How a connection attempt is answered: served, refused with a status, or a network error. */
export type Admission = { refused: false } | { refused: true; status: number; retryAfter: number | undefined } | { refused: true; status: 0 }

export interface MockCore extends Omit<MockControls, 'connections'> {
  readonly timers: MockTimers
  readonly connections: readonly MockConnectionInfo[]
  /** Decides the next attempt (it counts against `fail`). */
  admit(): Admission
  /** Resolves after the latency (at once without). */
  wait(): Promise<void>
  /** Registers an open connection. */
  add(ends: ConnectionEnds): Connection
  /** Runs `fn` for every open connection. */
  each(fn: (connection: Connection) => void): void
}

/** The public controls of `core` (the connections getter is the mock's own). */
export function controlsOf(core: MockCore): Omit<MockControls, 'connections'> {
  const { drop, stall, close, fail, setLatency, setOffline, nextConnection } = core
  return { drop, stall, close, fail, setLatency, setOffline, nextConnection }
}

const defaultTimers: MockTimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export function createMockCore(options: MockOptions = {}): MockCore {
  const timers = options.timers ?? defaultTimers
  const open = new Map<Connection, ConnectionEnds>()
  const stalled = new WeakSet<Connection>()
  const arrived = happenings<MockConnectionInfo>()
  const failures: { status: number; retryAfter: number | undefined }[] = []
  let latency = 0
  let offline = false
  let always: { status: number; retryAfter: number | undefined } | undefined

  const all = (fn: (connection: Connection, ends: ConnectionEnds) => void) => [...open].forEach(([c, e]) => fn(c, e))

  return {
    timers,
    get connections() {
      return [...open.keys()].map((c) => c.info)
    },
    admit() {
      if (offline) return { refused: true, status: 0 }
      const failure = always ?? failures.shift()
      return failure ? { refused: true, ...failure } : { refused: false }
    },
    wait: () => (latency > 0 ? new Promise<void>((resolve) => void timers.setTimeout(resolve, latency)) : Promise.resolve()),
    add(ends) {
      // Frames wait in order: each timer sends the oldest, so a change of latency keeps the order.
      // A clean close waits behind them (a number: the close code).
      const queue: (string | number)[] = []
      const later = (item: string | number) => {
        queue.push(item)
        timers.setTimeout(() => {
          const next = queue.shift()
          if (typeof next === 'number') return connection.close(next)
          if (next !== undefined && open.has(connection) && !stalled.has(connection)) ends.write(next)
        }, latency)
      }
      const info: MockConnectionInfo = { transport: ends.transport, url: ends.url, lastEventId: ends.lastEventId }
      const connection: Connection = {
        info,
        send(text) {
          if (stalled.has(connection) || !open.has(connection) || typeof queue.at(-1) === 'number') return
          if (latency <= 0 && !queue.length) return ends.write(text)
          later(text)
        },
        get stalled() {
          return stalled.has(connection)
        },
        drop() {
          if (open.delete(connection)) ends.drop()
        },
        close(code) {
          if (queue.length && typeof queue.at(-1) !== 'number' && !stalled.has(connection)) return later(code)
          if (open.delete(connection)) ends.close(code)
        },
        end: () => void open.delete(connection),
      }
      open.set(connection, ends)
      arrived.push(info)
      return connection
    },
    each: (fn) => all((c) => fn(c)),
    drop: () => all((c, e) => (c.end(), e.drop())),
    stall: () => all((c) => stalled.add(c)),
    close: (code = 1012) => all((c) => c.close(code)),
    fail(status, times = 1, retryAfter) {
      if (!(Number.isInteger(status) && status >= 100 && status <= 599)) throw new RangeError(`[tabwire/testing] fail: ${status} is not an HTTP status`)
      if (!((Number.isInteger(times) && times >= 0) || times === Number.POSITIVE_INFINITY)) throw new RangeError(`[tabwire/testing] fail: times must be a whole number (0 clears) or Infinity, not ${times}`)
      if (times === 0) failures.length = 0
      always = times === Number.POSITIVE_INFINITY ? { status, retryAfter } : undefined
      for (let i = 0; i < times && !always; i++) failures.push({ status, retryAfter })
    },
    setLatency(ms) {
      if (!(ms >= 0)) throw new RangeError('[tabwire/testing] setLatency: ms must be 0 or more')
      latency = ms
    },
    setOffline(value) {
      offline = value
      if (value) all((c, e) => (c.end(), e.drop()))
    },
    nextConnection: () => arrived.next(),
  }
}
