import { attemptWait, backoffDelay, MAX_ATTEMPTS_PER_SECOND } from './backoff'
import type { Connection, ConnectionConfig, ConnectionSnapshot } from './connection-types'
import { type EnvironmentSignal, globalEnvironment } from './environment'
import { RealtimeError } from './errors'
import { type Effect, initialState, type MachineEvent, type MachineState, type PauseReason, transition } from './machine'
import { defaultFrame, type Timers, timerSlot } from './runtime'
import { createOutlet, IDLE } from './store'
import type { TransportSink, WireMessage } from './transport'

export type { Connection, ConnectionConfig, ConnectionSnapshot, EngineOptions, RealtimeMessage, TabRole } from './connection-types'

/** How often the wake detector ticks, and the gap between ticks that means the machine slept. */
const WAKE_TICK = 10_000
const WAKE_GAP = 70_000

/** The pause reason each network and page signal starts (a signal named after its reason) or ends. */
const REASONS: Record<EnvironmentSignal, PauseReason> = {
  offline: 'offline',
  online: 'offline',
  pagehide: 'pagehide',
  pageshow: 'pagehide',
  hidden: 'hidden',
  visible: 'hidden',
}

/** The framework-free connection engine: one per stream. */
export function createConnection<T>(config: ConnectionConfig<T>): Connection<T> {
  const timers = config.timers ?? (globalThis as Timers)
  const now = config.now ?? Date.now
  const environment = config.environment ?? globalEnvironment()
  const idleTimeout = config.idleTimeout ?? 45_000
  const machineConfig = { maxRetries: config.maxRetries ?? Infinity, hasAuthHook: !!config.onAuthError }
  const retryTimer = timerSlot(timers)
  const idleTimer = timerSlot(timers)
  const uptimeTimer = timerSlot(timers)
  const wakeTimer = timerSlot(timers)
  const hiddenTimer = timerSlot(timers)

  let machine: MachineState = initialState
  // Status, attempt and connection errors publish at once; data, ids and reported errors
  // once per frame (see createStore).
  const out = createOutlet<T>({ ...IDLE, lastEventId: config.lastEventId }, config.scheduleFrame ?? defaultFrame(timers))
  const { _store: store, _report: report } = out
  let serverRetry: number | undefined
  let generation = 0
  let transport: { close(): void } | null = null
  let lastActivity = 0
  let stopEnvironment: (() => void) | null = null
  /** When the latest attempts started, oldest first: the rate bound reads them. */
  const starts: number[] = []
  /** When the pending retry fires (the snapshot's `retryAt`, published with the next transition); null while none is pending. */
  let retryAt: number | null = null

  /** Runs a machine transition; `patch` goes into the snapshot with it, if it changed anything. */
  function dispatch(event: MachineEvent, patch?: Partial<ConnectionSnapshot<T>>) {
    const before = machine
    const [next, effects] = transition(machine, event, machineConfig)
    machine = next
    const failure = next.error !== before.error && next.error
    for (const effect of effects) run(effect)
    // An effect may have run a nested transition (a transport that fails in its factory):
    // publish what the machine is now, not what this transition made it. (A retry that
    // fires changes no state: `retryAt` stays until the attempt opens or fails.)
    if (machine !== before) {
      const { status, attempt, error, paused } = machine
      store.set({ ...patch, status, attempt, paused: status === 'paused' ? paused[0]! : null, retryAt, ...(error !== before.error && { error }) }, { urgent: true })
    }
    // Listeners hear of an error last, once the transition is done, so one that calls
    // reconnect() or close() starts from a settled state.
    if (failure) out._errors.emit(failure)
  }

  function run(effect: Effect) {
    if (effect === 'open') return open()
    if (effect === 'drop' || effect === 'stop') {
      generation++
      transport?.close()
      transport = null
      idleTimer()
      uptimeTimer()
      if (effect === 'stop') retryTimer(), (retryAt = null)
    } else if (effect === 'uptime') {
      uptimeTimer(() => dispatch({ type: 'stable' }), config.minUptime ?? 5000)
    } else if ('retry' in effect) {
      // The rate bound is waited out here, not at the attempt, so `retryAt` is when it starts.
      const delay = Math.max(
        backoffDelay(config, effect.retry, (config.random ?? Math.random)(), serverRetry, effect.retryAfter),
        attemptWait(starts, now()),
      )
      retryAt = now() + delay
      retryTimer(() => dispatch({ type: 'retry' }), delay)
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
    retryAt = null
    const gen = ++generation
    /** `callback`, for this attempt only: calls from a replaced transport are ignored, so a late one cannot disturb the current. */
    const live =
      <A extends unknown[]>(callback: (...args: A) => unknown) =>
      (...args: A) =>
        void (gen === generation && callback(...args))
    // Whatever the server asks (`retry: 1`) and however often reconnect() is called, attempts
    // keep to the rate bound: one that would pass it waits (any later effect cancels that).
    const wait = attemptWait(starts, now())
    if (wait > 0) return retryTimer(live(open), wait)
    if (starts.push(now()) > MAX_ATTEMPTS_PER_SECOND) starts.shift()
    // The idle clock runs from the start of the attempt: an attempt that gets no answer
    // at all (a hung request) is abandoned after idleTimeout, like a silent stream.
    lastActivity = now()
    armIdle()
    const sink: TransportSink = {
      // Opening is activity, and a fresh stream starts with no error from the old one.
      open: live(() => ((lastActivity = now()), dispatch({ type: 'opened' }, { error: null }))),
      message: live((message: WireMessage) => {
        lastActivity = now()
        if (!config.accepts || config.accepts(message.event)) out._read(message, config.decode, store.peek().lastEventId)
      }),
      activity: live(() => (lastActivity = now())),
      lastEventId: live((id: string) => store.set({ lastEventId: id })),
      retryHint: live((ms: number) => (serverRetry = ms)),
      report: live(report),
      fail: live((error: RealtimeError, retryable: boolean, retryAfter?: number) => dispatch({ type: 'failed', error, retryable, retryAfter })),
    }
    try {
      const t = config.transport({ sink, lastEventId: store.peek().lastEventId, attempt: machine.attempt })
      if (gen === generation) transport = t
      else t.close()
    } catch (cause) {
      sink.fail(new RealtimeError('network', 'could not start', { cause }), true)
    }
  }

  function armIdle() {
    if (idleTimeout > 0) {
      idleTimer(() => {
        if (now() - lastActivity < idleTimeout) return armIdle()
        dispatch({ type: 'failed', error: new RealtimeError('timeout', `no data for ${idleTimeout} ms`), retryable: true })
      }, lastActivity + idleTimeout - now())
    }
  }

  /** A timer that should tick every WAKE_TICK: a much later tick means the machine slept. */
  function tick(last: number) {
    wakeTimer(() => {
      if (now() - last > WAKE_GAP) dispatch({ type: 'wake' })
      tick(now())
    }, WAKE_TICK)
  }

  function onSignal(signal: EnvironmentSignal) {
    const after = config.pauseWhenHidden
    const reason = REASONS[signal]
    const event: MachineEvent = { type: signal === reason ? 'pause' : 'resume', reason }
    if (signal === 'visible') hiddenTimer()
    // 'hidden' pauses as `pauseWhenHidden` says: at once, after a delay, or never.
    if (signal !== 'hidden' || after === true) dispatch(event)
    else if (typeof after === 'number') hiddenTimer(() => dispatch(event), after)
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
    ...out._api,
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
      hiddenTimer()
      wakeTimer()
    },
  }
}
