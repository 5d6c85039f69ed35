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
import { defaultFrame, defaultTimers, type FrameScheduler, type Timers, reportListenerError } from './runtime'
import type { TransportFactory, TransportSink, WireMessage } from './transport'

/** A decoded message, as `onMessage` listeners get it. */
export interface RealtimeMessage<T> {
  data: T
  /** The event type (`message` unless the server named one). */
  event: string
  /** The event id, if the message carried one. */
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
   * above the server's heartbeat interval (tabwire/server sends one every 15 s).
   * @defaultValue 45000
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
  /** Schedules a coalesced render flush. @defaultValue requestAnimationFrame, else a 16 ms timer */
  scheduleFrame?: FrameScheduler
}

export interface ConnectionConfig<T> extends EngineOptions {
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
  /** Starts, if idle or closed. */
  connect(): void
  /** Starts again now with the attempt count reset: works in every status. */
  reconnect(): void
  /** Stops and cancels every timer. */
  close(): void
}

/** How often the wake detector ticks, and the gap that means the machine slept. */
const WAKE_TICK = 10_000
const WAKE_GAP = 70_000

/** The framework-free connection engine: one per stream. */
export function createConnection<T>(config: ConnectionConfig<T>): Connection<T> {
  const timers = config.timers ?? defaultTimers()
  const now = config.now ?? Date.now
  const random = config.random ?? Math.random
  const environment = config.environment ?? globalEnvironment()
  const scheduleFrame = config.scheduleFrame ?? defaultFrame(timers)
  const idleTimeout = config.idleTimeout ?? 45_000
  const machineConfig = { maxRetries: config.maxRetries ?? Infinity, hasAuthHook: !!config.onAuthError }

  let machine: MachineState = initialState
  let data: T | undefined
  let lastEventId = config.lastEventId
  let error: RealtimeError | null = null
  let serverRetry: number | undefined
  let snapshot: ConnectionSnapshot<T> = freeze()
  let generation = 0
  let transport: { close(): void } | null = null
  let lastActivity = 0
  let lastTick = 0
  let cancelFrame: (() => void) | null = null
  let stopEnvironment: (() => void) | null = null
  const timer = { retry: undefined as unknown, idle: undefined as unknown, uptime: undefined as unknown }
  let wakeTimer: unknown
  let hiddenTimer: unknown

  const listeners = new Set<() => void>()
  const messageListeners = new Set<(message: RealtimeMessage<T>) => void>()
  const errorListeners = new Set<(error: RealtimeError) => void>()

  function freeze(): ConnectionSnapshot<T> {
    return Object.freeze({ status: machine.status, data, lastEventId, error, attempt: machine.attempt })
  }

  function publish(urgent: boolean) {
    if (!urgent) {
      cancelFrame ??= scheduleFrame(() => {
        cancelFrame = null
        publish(true)
      })
      return
    }
    cancelFrame?.()
    cancelFrame = null
    const s = snapshot
    if (s.status === machine.status && s.data === data && s.lastEventId === lastEventId && s.error === error && s.attempt === machine.attempt) return
    snapshot = freeze()
    for (const listener of [...listeners]) call(listener, undefined)
  }

  function call<A>(listener: (arg: A) => void, arg: A) {
    try {
      listener(arg)
    } catch (thrown) {
      reportListenerError(thrown)
    }
  }

  function report(e: RealtimeError) {
    for (const listener of [...errorListeners]) call(listener, e)
  }

  function dispatch(event: MachineEvent) {
    const before = machine
    const [next, effects] = transition(machine, event, machineConfig)
    machine = next
    if (next.error !== before.error) {
      error = next.error
      if (next.error) report(next.error)
    }
    for (const effect of effects) run(effect)
    syncWake()
    if (next !== before) publish(true)
  }

  function clear(name: keyof typeof timer) {
    if (timer[name] !== undefined) timers.clearTimeout(timer[name])
    timer[name] = undefined
  }

  function run(effect: Effect) {
    switch (effect.type) {
      case 'open':
        return open()
      case 'drop':
        generation++
        transport?.close()
        transport = null
        clear('idle')
        clear('uptime')
        return
      case 'schedule-retry': {
        clear('retry')
        const delay = backoffDelay(config, effect.attempt, random(), serverRetry, effect.retryAfter)
        timer.retry = timers.setTimeout(() => {
          timer.retry = undefined
          dispatch({ type: 'retry' })
        }, delay)
        return
      }
      case 'cancel-retry':
        return clear('retry')
      case 'watch-uptime':
        clear('uptime')
        timer.uptime = timers.setTimeout(() => {
          timer.uptime = undefined
          dispatch({ type: 'stable' })
        }, config.minUptime ?? 5000)
        return
      case 'ask-auth': {
        const asked = generation
        Promise.resolve()
          .then(() => config.onAuthError!(effect.error))
          .catch(() => false)
          .then((retry) => {
            if (generation === asked) dispatch({ type: 'auth-answered', retry: retry === true, error: effect.error })
          })
      }
    }
  }

  function open() {
    transport?.close()
    const gen = ++generation
    const live = () => gen === generation
    lastActivity = now()
    const sink: TransportSink = {
      open: () => live() && (armIdle(), dispatch({ type: 'opened' })),
      message: (message) => live() && deliver(message),
      activity: () => void (live() && (lastActivity = now())),
      lastEventId: (id) => void (live() && (lastEventId = id)),
      retryHint: (ms) => void (live() && (serverRetry = ms)),
      fail: (e, retryable, retryAfter) =>
        live() && dispatch({ type: 'failed', error: e, retryable, ...(retryAfter === undefined ? {} : { retryAfter }) }),
    }
    try {
      const t = config.transport({ sink, lastEventId, attempt: machine.attempt })
      if (live()) transport = t
      else t.close()
    } catch (thrown) {
      sink.fail(new RealtimeError('network', errorText(thrown), { cause: thrown }), true)
    }
  }

  function armIdle() {
    clear('idle')
    if (idleTimeout <= 0) return
    const wait = Math.max(0, lastActivity + idleTimeout - now())
    timer.idle = timers.setTimeout(() => {
      timer.idle = undefined
      if (now() - lastActivity < idleTimeout) return armIdle()
      dispatch({ type: 'failed', error: new RealtimeError('timeout', `no data for ${idleTimeout} ms`), retryable: true })
    }, wait)
  }

  function deliver(message: WireMessage) {
    lastActivity = now()
    if (config.accepts && !config.accepts(message.event)) return
    let value: T
    try {
      value = config.decode ? config.decode(message) : (message.data as T)
    } catch (thrown) {
      error =
        thrown instanceof RealtimeError
          ? thrown
          : new RealtimeError('parse', `could not decode a '${message.event}' message: ${errorText(thrown)}`, {
              raw: message.data,
              cause: thrown,
            })
      report(error)
      return publish(false)
    }
    data = value
    if (error?.kind === 'parse') error = null
    const decoded: RealtimeMessage<T> = { data: value, event: message.event, id: message.id, raw: message.data }
    for (const listener of [...messageListeners]) call(listener, decoded)
    publish(false)
  }

  function syncWake() {
    const active = machine.status === 'open' || machine.status === 'reconnecting' || machine.status === 'connecting'
    if (!active) {
      if (wakeTimer !== undefined) timers.clearTimeout(wakeTimer)
      wakeTimer = undefined
      return
    }
    if (wakeTimer !== undefined) return
    lastTick = now()
    const tick = () => {
      const gap = now() - lastTick
      lastTick = now()
      wakeTimer = timers.setTimeout(tick, WAKE_TICK)
      if (gap > WAKE_GAP) dispatch({ type: 'wake' })
    }
    wakeTimer = timers.setTimeout(tick, WAKE_TICK)
  }

  function onSignal(signal: EnvironmentSignal) {
    const pause = (reason: PauseReason) => dispatch({ type: 'pause', reason })
    const resume = (reason: PauseReason) => dispatch({ type: 'resume', reason })
    switch (signal) {
      case 'offline':
        return pause('offline')
      case 'online':
        return resume('offline')
      case 'pagehide':
        return pause('pagehide')
      case 'pageshow':
        return resume('pagehide')
      case 'hidden': {
        const policy = config.pauseWhenHidden ?? false
        if (policy === false || hiddenTimer !== undefined) return
        hiddenTimer = timers.setTimeout(() => {
          hiddenTimer = undefined
          pause('hidden')
        }, policy === true ? 0 : policy)
        return
      }
      case 'visible':
        if (hiddenTimer !== undefined) timers.clearTimeout(hiddenTimer)
        hiddenTimer = undefined
        return resume('hidden')
    }
  }

  function watchEnvironment() {
    if (stopEnvironment) return
    stopEnvironment = environment.subscribe(onSignal)
    const current = environment.current()
    if (!current.includes('offline')) dispatch({ type: 'resume', reason: 'offline' })
    if (!current.includes('hidden')) dispatch({ type: 'resume', reason: 'hidden' })
    for (const signal of current) if (signal === 'offline' || config.pauseWhenHidden) onSignal(signal)
  }

  function stopWatching() {
    stopEnvironment?.()
    stopEnvironment = null
    if (hiddenTimer !== undefined) timers.clearTimeout(hiddenTimer)
    hiddenTimer = undefined
  }

  return {
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    getSnapshot: () => snapshot,
    onMessage(listener) {
      messageListeners.add(listener)
      return () => void messageListeners.delete(listener)
    },
    onError(listener) {
      errorListeners.add(listener)
      return () => void errorListeners.delete(listener)
    },
    connect() {
      watchEnvironment()
      dispatch({ type: 'connect' })
    },
    reconnect() {
      watchEnvironment()
      dispatch({ type: 'reconnect' })
    },
    close() {
      dispatch({ type: 'close' })
      stopWatching()
    },
  }
}

export function errorText(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown)
}
