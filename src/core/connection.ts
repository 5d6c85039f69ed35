import { attemptWait, backoffDelay, MAX_ATTEMPTS_PER_SECOND } from './backoff'
import type { Connection, ConnectionConfig, ConnectionSnapshot, RealtimeMessage } from './connection-types'
import { type EnvironmentSignal, globalEnvironment } from './environment'
import { RealtimeError } from './errors'
import { type Effect, initialState, type MachineEvent, type MachineState, type PauseReason, transition } from './machine'
import { defaultFrame, type Timers } from './runtime'
import { createStore, delivered, emitter } from './store'
import type { TransportSink, WireMessage } from './transport'

export type { Connection, ConnectionConfig, ConnectionSnapshot, EngineOptions, RealtimeMessage } from './connection-types'
// Kept here while other modules still import it from the engine; its home is ./store.
export { emitter } from './store'

/** A wire message as `onMessage` listeners get it, or, when `decode` throws, the `parse` error it is (with the message's id). */
export function decodeMessage<T>(decode: ((message: WireMessage) => T) | undefined, message: WireMessage): RealtimeMessage<T> | RealtimeError {
  try {
    return { data: decode ? decode(message) : (message.data as T), event: message.event, id: message.id, raw: message.data }
  } catch (thrown) {
    return new RealtimeError('parse', `bad '${message.event}' message: ${thrown}`, { raw: message.data, cause: thrown, id: message.id })
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
  const [retryTimer, idleTimer, uptimeTimer, wakeTimer, hiddenTimer] = [timer(), timer(), timer(), timer(), timer()]

  let machine: MachineState = initialState
  // Status, attempt and connection errors publish at once; data, ids and reported errors
  // once per frame (see createStore).
  const store = createStore<ConnectionSnapshot<T>>(
    { status: machine.status, data: undefined, lastEventId: config.lastEventId, error: null, attempt: machine.attempt },
    config.scheduleFrame ?? defaultFrame(timers),
  )
  let serverRetry: number | undefined
  let generation = 0
  let transport: { close(): void } | null = null
  let lastActivity = 0
  let stopEnvironment: (() => void) | null = null
  /** When the latest attempts started, oldest first: the rate bound reads them. */
  const starts: number[] = []

  const messages = emitter<RealtimeMessage<T>>()
  const wires = emitter<WireMessage>()
  const errors = emitter<RealtimeError>()

  /** Runs a machine transition; `patch` goes into the snapshot with it, if it changed anything. */
  function dispatch(event: MachineEvent, patch?: Partial<ConnectionSnapshot<T>>) {
    const before = machine
    const [next, effects] = transition(machine, event, machineConfig)
    machine = next
    const failure = next.error !== before.error && next.error
    for (const effect of effects) run(effect)
    // An effect may have run a nested transition (a transport that fails in its factory):
    // publish what the machine is now, not what this transition made it.
    if (machine !== before) {
      const { status, attempt, error } = machine
      store.set({ ...patch, status, attempt, ...(error !== before.error && { error }) }, { urgent: true })
    }
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
    transport = null
    const gen = ++generation
    const live = () => gen === generation
    // Whatever the server asks (`retry: 1`) and however often reconnect() is called, attempts
    // keep to the rate bound: one that would pass it waits (any later effect cancels that).
    const wait = attemptWait(starts, now())
    if (wait > 0) return retryTimer.set(() => live() && open(), wait)
    if (starts.push(now()) > MAX_ATTEMPTS_PER_SECOND) starts.shift()
    // The idle clock runs from the start of the attempt: an attempt that gets no answer
    // at all (a hung request) is abandoned after idleTimeout, like a silent stream.
    lastActivity = now()
    armIdle()
    // Calls from a replaced transport are ignored: a late callback cannot disturb this one.
    const sink: TransportSink = {
      // Opening is activity, and a fresh stream starts with no error from the old one.
      open: () => live() && ((lastActivity = now()), dispatch({ type: 'opened' }, { error: null })),
      message: (message) => live() && deliver(message),
      activity: () => void (live() && (lastActivity = now())),
      lastEventId: (id) => void (live() && store.set({ lastEventId: id })),
      retryHint: (ms) => void (live() && (serverRetry = ms)),
      report: (e) => void (live() && report(e)),
      fail: (e, retryable, retryAfter) => live() && dispatch({ type: 'failed', error: e, retryable, retryAfter }),
    }
    try {
      const t = config.transport({ sink, lastEventId: store.peek().lastEventId, attempt: machine.attempt })
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
    store.set({ error: e })
    errors.emit(e)
  }

  function deliver(message: WireMessage) {
    lastActivity = now()
    if (config.accepts && !config.accepts(message.event)) return
    wires.emit(message)
    const decoded = decodeMessage(config.decode, message)
    if (decoded instanceof RealtimeError) return report(decoded)
    const s = store.peek()
    store.set(delivered(s, decoded.data, s.lastEventId))
    messages.emit(decoded)
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
    subscribe: store.subscribe,
    getSnapshot: store.get,
    onMessage: messages.add,
    onWire: wires.add,
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
