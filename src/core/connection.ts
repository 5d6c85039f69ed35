import { backoffDelay, type BackoffOptions } from './backoff'
import { type Environment, type EnvironmentSignal, globalEnvironment } from './environment'
import { RealtimeError } from './errors'
import {
  type ConnectionStatus,
  type Effect,
  initialState,
  type MachineEvent,
  type MachineState,
  type PauseReason,
  transition,
} from './machine'
import { defaultFrame, type FrameScheduler, type Timers, reportListenerError } from './runtime'
import type { TransportFactory, TransportSink, WireMessage } from './transport'

/** A decoded message, as `onMessage` listeners get it. */
export interface RealtimeMessage<T> {
  data: T
  /** The event type (`message` unless the server named one). */
  event: string
  /**
   * The stream's last event id when this message arrived (what `MessageEvent.lastEventId`
   * reports): the message's own id, or the last one before it.
   */
  id: string | undefined
  /** The payload before decoding. */
  raw: unknown
}

/** What a connection looks like now. Immutable; keeps its identity until something changes. */
export interface ConnectionSnapshot<T> {
  readonly status: ConnectionStatus
  /** The latest decoded message's data. */
  readonly data: T | undefined
  /** The last event id seen, sent as `Last-Event-ID` on reconnect. */
  readonly lastEventId: string | undefined
  /** The latest error; cleared when the connection opens (or, for `parse`, by the next good message). */
  readonly error: RealtimeError | null
  /** Failed attempts since the connection last stayed up for `minUptime`. */
  readonly attempt: number
}

/** Engine options shared by every transport. */
export interface EngineOptions extends BackoffOptions {
  /**
   * Retries before giving up with a `max-retries` error. `reconnect()` starts again.
   * @defaultValue Infinity
   */
  maxRetries?: number
  /**
   * How long (ms) a connection must stay open before the attempt count resets, so a
   * server that accepts and drops at once still backs off.
   * @defaultValue 5000
   */
  minUptime?: number
  /**
   * If no bytes at all (messages or comments) arrive for this long (ms), the connection is
   * dead: it is dropped with a `timeout` error and reconnected. `0` turns it off. Keep it
   * above the server's heartbeat interval (tabwire/server sends one every 15 s). The native
   * EventSource cannot see comments or unlisted event types: there only messages count,
   * so it is off by default.
   * @defaultValue 45000 (fetch SSE); 0 (native EventSource, and WebSocket without `heartbeat`)
   */
  idleTimeout?: number
  /**
   * Pause while the page is hidden: `true` at once, a number after that many ms hidden.
   * The connection comes back at once when the page is visible again.
   * @defaultValue false
   * @example { pauseWhenHidden: 60_000 } // let go of the stream after a minute in a background tab
   */
  pauseWhenHidden?: boolean | number
  /**
   * Called on a 401/403. Refresh credentials and resolve `true` to try once more, or
   * `false` to stay closed with the `auth` error.
   * @example { onAuthError: async () => { await refreshToken(); return true } }
   */
  onAuthError?: (error: RealtimeError) => boolean | Promise<boolean>
  /** Injectable timers (tests, odd runtimes). @defaultValue globalThis timers */
  timers?: Timers
  /** Injectable clock. @defaultValue Date.now */
  now?: () => number
  /** Injectable random in `[0, 1)` for the jitter. @defaultValue Math.random */
  random?: () => number
  /** Where network and page signals come from. @defaultValue the global scope's */
  environment?: Environment
  /**
   * Schedules a coalesced render flush; it must call back later, never synchronously.
   * @defaultValue requestAnimationFrame, else a 16 ms timer
   */
  scheduleFrame?: FrameScheduler
}

export interface ConnectionConfig<T> extends EngineOptions {
  /** Opens one attempt; called for every (re)connection. */
  transport: TransportFactory
  /** Turns a wire message into data. A throw becomes a `parse` error; the stream goes on. */
  decode?: (message: WireMessage) => T
  /** Which event types are messages. @defaultValue every type */
  accepts?: (event: string) => boolean
  /** An id to resume from on the first connection. */
  lastEventId?: string
}

export interface Connection<T> {
  /** Listens for snapshot changes (data changes are coalesced to one per frame). */
  subscribe(listener: () => void): () => void
  getSnapshot(): ConnectionSnapshot<T>
  /** Listens for every message, synchronously and in order, never coalesced. */
  onMessage(listener: (message: RealtimeMessage<T>) => void): () => void
  /** Listens for every error as it happens. */
  onError(listener: (error: RealtimeError) => void): () => void
  /**
   * Reports an error that is not the connection's own (a bad message, a full send queue):
   * it goes to the snapshot and to `onError` listeners; the connection goes on.
   */
  report(error: RealtimeError): void
  /** Starts, if idle or closed. */
  connect(): void
  /** Starts again now with the attempt count reset: works in every status. */
  reconnect(): void
  /** Stops and cancels every timer. */
  close(): void
}

/** A wire message as `onMessage` listeners get it, or the `parse` error it is when `decode` throws. */
export function decodeMessage<T>(decode: ((message: WireMessage) => T) | undefined, message: WireMessage): RealtimeMessage<T> | RealtimeError {
  try {
    return { data: decode ? decode(message) : (message.data as T), event: message.event, id: message.id, raw: message.data }
  } catch (thrown) {
    return new RealtimeError('parse', `bad '${message.event}' message: ${thrown}`, { raw: message.data, cause: thrown })
  }
}

/** How often the wake detector ticks, and the gap between ticks that means the machine slept. */
const WAKE_TICK = 10_000
const WAKE_GAP = 70_000

/** The framework-free connection engine: one per stream. */
export function createConnection<T>(config: ConnectionConfig<T>): Connection<T> {
  const timers = config.timers ?? (globalThis as Timers)
  const now = config.now ?? Date.now
  const environment = config.environment ?? globalEnvironment()
  const scheduleFrame = config.scheduleFrame ?? defaultFrame(timers)
  const idleTimeout = config.idleTimeout ?? 45_000
  const machineConfig = { maxRetries: config.maxRetries ?? Infinity, hasAuthHook: !!config.onAuthError }
  const timer = (): Timer => {
    let handle: unknown
    const clear = () => {
      timers.clearTimeout(handle)
      handle = undefined
    }
    return {
      clear,
      set(callback, ms) {
        clear()
        handle = timers.setTimeout(() => {
          handle = undefined
          callback()
        }, ms)
      },
    }
  }
  const retryTimer = timer()
  const idleTimer = timer()
  const uptimeTimer = timer()
  const wakeTimer = timer()
  const hiddenTimer = timer()

  let machine: MachineState = initialState
  let data: T | undefined
  let lastEventId = config.lastEventId
  let error: RealtimeError | null = null
  let serverRetry: number | undefined
  let snapshot: ConnectionSnapshot<T> = freeze()
  let generation = 0
  let transport: { close(): void } | null = null
  let lastActivity = 0
  let cancelFrame: (() => void) | null = null
  let stopEnvironment: (() => void) | null = null

  const listeners = emitter<void>()
  const messages = emitter<RealtimeMessage<T>>()
  const errors = emitter<RealtimeError>()

  function freeze(): ConnectionSnapshot<T> {
    return { status: machine.status, data, lastEventId, error, attempt: machine.attempt }
  }

  /**
   * Urgent changes (status, connection errors) show at once; data and parse errors are
   * coalesced to one flush per frame.
   */
  function publish(urgent?: boolean) {
    if (!urgent) {
      cancelFrame ??= scheduleFrame(() => publish(true))
      return
    }
    cancelFrame?.()
    cancelFrame = null
    const s = snapshot
    if (s.status !== machine.status || s.data !== data || s.lastEventId !== lastEventId || s.error !== error || s.attempt !== machine.attempt) {
      snapshot = freeze()
      listeners.emit()
    }
  }

  function dispatch(event: MachineEvent) {
    const before = machine
    const [next, effects] = transition(machine, event, machineConfig)
    machine = next
    const failure = next.error !== before.error && (error = next.error)
    for (const effect of effects) run(effect)
    if (next !== before) publish(true)
    // Listeners hear of an error last, once the transition is done, so one that calls
    // reconnect() or close() starts from a settled state.
    if (failure) errors.emit(failure)
  }

  function run(effect: Effect) {
    if (effect === 'open') return open()
    if (effect === 'drop' || effect === 'stop') {
      generation++
      transport?.close()
      transport = null
      idleTimer.clear()
      uptimeTimer.clear()
      if (effect === 'stop') retryTimer.clear()
    } else if (effect === 'uptime') {
      uptimeTimer.set(() => dispatch({ type: 'stable' }), config.minUptime ?? 5000)
    } else if ('retry' in effect) {
      const delay = backoffDelay(config, effect.retry, (config.random ?? Math.random)(), serverRetry, effect.retryAfter)
      retryTimer.set(() => dispatch({ type: 'retry' }), delay)
    } else {
      const asked = generation
      Promise.resolve()
        .then(() => config.onAuthError!(effect.auth))
        .catch(() => false)
        .then((retry) => {
          if (generation === asked) dispatch({ type: 'auth-answered', retry: retry === true, error: effect.auth })
        })
    }
  }

  function open() {
    transport?.close()
    const gen = ++generation
    const live = () => gen === generation
    // The idle clock runs from the start of the attempt: an attempt that gets no answer
    // at all (a hung request) is abandoned after idleTimeout, like a silent stream.
    lastActivity = now()
    armIdle()
    // Calls from a replaced transport are ignored: a late callback cannot disturb this one.
    const sink: TransportSink = {
      // Opening is activity, and a fresh stream starts with no error from the old one.
      open: () => live() && ((lastActivity = now()), (error = null), dispatch({ type: 'opened' })),
      message: (message) => live() && deliver(message),
      activity: () => void (live() && (lastActivity = now())),
      lastEventId: (id) => void (live() && (lastEventId = id)),
      retryHint: (ms) => void (live() && (serverRetry = ms)),
      fail: (e, retryable, retryAfter) => live() && dispatch({ type: 'failed', error: e, retryable, retryAfter }),
    }
    try {
      const t = config.transport({ sink, lastEventId, attempt: machine.attempt })
      if (live()) transport = t
      else t.close()
    } catch (thrown) {
      sink.fail(new RealtimeError('network', 'could not start', { cause: thrown }), true)
    }
  }

  function armIdle() {
    if (idleTimeout > 0) {
      idleTimer.set(() => {
        if (now() - lastActivity < idleTimeout) return armIdle()
        dispatch({ type: 'failed', error: new RealtimeError('timeout', `no data for ${idleTimeout} ms`), retryable: true })
      }, lastActivity + idleTimeout - now())
    }
  }

  function report(e: RealtimeError) {
    errors.emit((error = e))
    publish()
  }

  function deliver(message: WireMessage) {
    lastActivity = now()
    if (config.accepts && !config.accepts(message.event)) return
    const decoded = decodeMessage(config.decode, message)
    if (decoded instanceof RealtimeError) return report(decoded)
    data = decoded.data
    if (error?.kind === 'parse') error = null
    messages.emit(decoded)
    publish()
  }

  /** A timer that should tick every WAKE_TICK: a much later tick means the machine slept. */
  function tick(last: number) {
    wakeTimer.set(() => {
      if (now() - last > WAKE_GAP) dispatch({ type: 'wake' })
      tick(now())
    }, WAKE_TICK)
  }

  function onSignal(signal: EnvironmentSignal) {
    const pause = (reason: PauseReason) => dispatch({ type: 'pause', reason })
    const resume = (reason: PauseReason) => dispatch({ type: 'resume', reason })
    if (signal === 'offline') pause('offline')
    else if (signal === 'online') resume('offline')
    else if (signal === 'pagehide') pause('pagehide')
    else if (signal === 'pageshow') resume('pagehide')
    else if (signal === 'visible') {
      hiddenTimer.clear()
      resume('hidden')
    } else if (config.pauseWhenHidden === true) pause('hidden')
    else if (typeof config.pauseWhenHidden === 'number') hiddenTimer.set(() => pause('hidden'), config.pauseWhenHidden)
  }

  /** Follows the environment from (re)start to close; syncs with its state now first. */
  function watch() {
    if (stopEnvironment) return
    stopEnvironment = environment.subscribe(onSignal)
    const current = environment.current()
    onSignal(current.includes('offline') ? 'offline' : 'online')
    onSignal(current.includes('hidden') ? 'hidden' : 'visible')
    tick(now())
  }

  return {
    subscribe: listeners.add,
    getSnapshot: () => snapshot,
    onMessage: messages.add,
    onError: errors.add,
    report,
    connect() {
      watch()
      dispatch({ type: 'connect' })
    },
    reconnect() {
      watch()
      dispatch({ type: 'reconnect' })
    },
    close() {
      dispatch({ type: 'close' })
      stopEnvironment?.()
      stopEnvironment = null
      hiddenTimer.clear()
      wakeTimer.clear()
    },
  }
}

interface Timer {
  set(callback: () => void, ms: number): void
  clear(): void
}

/** A listener set whose listeners cannot break each other: a throw is reported, not raised. */
export function emitter<A>() {
  const set = new Set<(arg: A) => void>()
  return {
    add(listener: (arg: A) => void) {
      set.add(listener)
      return () => void set.delete(listener)
    },
    emit(arg: A) {
      for (const listener of [...set]) {
        try {
          listener(arg)
        } catch (thrown) {
          reportListenerError(thrown)
        }
      }
    },
  }
}
