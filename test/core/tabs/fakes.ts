// Browser-like doubles for the parts of core/tabs: a task queue the test drains by hand, a
// Web Locks manager whose grants reach the page in a later task (as in a browser, unlike
// Node's, which grants inside `request()`), in-memory BroadcastChannels whose deliveries
// are tasks too, and a hand-driven connection to lead with. No sleeps: a test runs tasks
// and lets microtasks settle explicitly.
import { setImmediate as nodeSetImmediate } from 'node:timers'
import { afterEach, expect } from 'vitest'
import { INTERNAL_PROPS } from '../../../scripts/internal-props.ts'
import type { ConnectionSnapshot, RealtimeMessage } from '../../../src/core/connection'
import type { RealtimeError } from '../../../src/core/errors'
import { IDLE } from '../../../src/core/store'
import type { Shareable, TabChannel } from '../../../src/core/tabs/types'
import type { WireMessage } from '../../../src/core/transport'

/**
 * Lets every queued microtask (promise callbacks, `queueMicrotask`) run: a `node:timers`
 * setImmediate runs only once the microtask queue is empty, and fake timers never hold it.
 */
export const settle = () => new Promise<void>((resolve) => nodeSetImmediate(resolve))

export interface TaskQueue {
  push(task: () => void): void
  readonly size: number
  /** Runs the oldest task, then lets microtasks settle; false when there was none. */
  step(): Promise<boolean>
  /** Runs tasks (with microtasks settling after each) until none is left. */
  run(limit?: number): Promise<number>
}

/** Macrotasks the test runs by hand. */
export function taskQueue(): TaskQueue {
  const queue: (() => void)[] = []
  const queueApi: TaskQueue = {
    push: (task) => void queue.push(task),
    get size() {
      return queue.length
    },
    async step() {
      await settle()
      const task = queue.shift()
      if (!task) return false
      task()
      await settle()
      return true
    },
    async run(limit = 10_000) {
      let ran = 0
      while (await queueApi.step()) if (++ran > limit) throw new Error('taskQueue: more tasks than the limit (a loop?)')
      return ran
    },
  }
  return queueApi
}

export const abortError = (message = 'aborted') => new DOMException(message, 'AbortError')

interface LockRequest {
  readonly name: string
  readonly n: number
  readonly steal: boolean
  readonly signal: AbortSignal | undefined
  readonly callback: (lock: Lock | null) => unknown
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  /** pending: in the queue; granted: holds the lock, callback not run yet; running: callback ran; done. */
  phase: 'pending' | 'granted' | 'running' | 'done'
  /** Its promise already settled (a steal rejected it); what the callback returns is ignored. */
  settled: boolean
}

export interface FakeLocksOptions {
  /** Every request rejects with this (e.g. a sandboxed frame's SecurityError). */
  refuse?: () => unknown
  /**
   * A signal aborted after the grant but before the callback ran: `'rejects'` (Chromium and
   * Node: the request rejects, the callback never runs, the lock goes back) or `'ignored'`
   * (the spec's letter: only a request still in the queue can be aborted).
   * @defaultValue 'rejects'
   */
  abortAfterGrant?: 'rejects' | 'ignored'
  /**
   * When a robbed holder hears of a steal: at once (its request rejects now), or in a later
   * task the test runs (a paused page, which learns of it only after it woke, maybe after
   * frames other tabs posted meanwhile).
   * @defaultValue 'now'
   */
  stealNotice?: 'now' | 'task'
  tasks?: TaskQueue
}

export interface FakeLocks extends Pick<LockManager, 'request' | 'query'> {
  readonly tasks: TaskQueue
  /** Every request made, in order. */
  readonly log: { name: string; steal: boolean; signal: boolean }[]
  /** The request holding `name` now (granted, delivered or not), by its number in `log` (1-based). */
  holder(name: string): number | undefined
  /** Numbers of the requests waiting for `name`. */
  waiting(name: string): number[]
}

/**
 * An exclusive-mode Web Locks manager that behaves like a browser's: a lock is granted in
 * order, held from the grant on, and the callback runs in a later task (one the test runs
 * from `tasks`). A `signal` abort removes a waiting request (it rejects with the reason);
 * `steal` takes the lock at once and the holder's request rejects with an AbortError (its
 * callback, if not run yet, still runs later: the page learns of the steal and of its grant
 * on different paths); a callback's result settling releases the lock.
 */
export function fakeLocks(options: FakeLocksOptions = {}): FakeLocks {
  const tasks = options.tasks ?? taskQueue()
  const log: FakeLocks['log'] = []
  const held = new Map<string, LockRequest>()
  const queues = new Map<string, LockRequest[]>()
  const queueOf = (name: string) => queues.get(name) ?? (queues.set(name, []), queues.get(name)!)

  const settleWith = (req: LockRequest, ok: boolean, value: unknown) => {
    if (req.settled) return
    req.settled = true
    ok ? req.resolve(value) : req.reject(value)
  }
  const release = (req: LockRequest) => {
    req.phase = 'done'
    if (held.get(req.name) === req) {
      held.delete(req.name)
      grantNext(req.name)
    }
  }
  const deliver = (req: LockRequest) => {
    if (req.phase !== 'granted') return
    if (req.signal?.aborted && (options.abortAfterGrant ?? 'rejects') === 'rejects') {
      settleWith(req, false, req.signal.reason)
      return release(req)
    }
    req.phase = 'running'
    let result: unknown
    try {
      result = req.callback({ name: req.name, mode: 'exclusive' } as Lock)
    } catch (thrown) {
      settleWith(req, false, thrown)
      return release(req)
    }
    Promise.resolve(result).then(
      (value) => (settleWith(req, true, value), release(req)),
      (error) => (settleWith(req, false, error), release(req)),
    )
  }
  const grant = (req: LockRequest) => {
    req.phase = 'granted'
    held.set(req.name, req)
    tasks.push(() => deliver(req))
  }
  function grantNext(name: string) {
    if (held.has(name)) return
    const next = queueOf(name).shift()
    if (next) grant(next)
  }

  function request(name: string, ...rest: unknown[]): Promise<unknown> {
    const [lockOptions, callback] = (rest.length === 1 ? [{}, rest[0]] : rest) as [LockOptions | undefined, LockRequest['callback']]
    const { signal, steal = false, ifAvailable = false } = lockOptions ?? {}
    log.push({ name, steal, signal: !!signal })
    if (options.refuse) return Promise.reject(options.refuse())
    if (typeof callback !== 'function') return Promise.reject(new TypeError('callback is not a function'))
    if (steal && (signal || ifAvailable)) return Promise.reject(new DOMException('steal with signal or ifAvailable', 'NotSupportedError'))
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      const req: LockRequest = { name, n: log.length, steal, signal, callback, resolve, reject, phase: 'pending', settled: false }
      signal?.addEventListener('abort', () => {
        if (req.phase !== 'pending') return
        queueOf(name).splice(queueOf(name).indexOf(req), 1)
        req.phase = 'done'
        settleWith(req, false, signal.reason)
      })
      if (steal) {
        const robbed = held.get(name)
        held.delete(name)
        grant(req)
        if (!robbed) return
        const notice = () => settleWith(robbed, false, abortError('the lock was stolen'))
        return options.stealNotice === 'task' ? tasks.push(notice) : notice()
      }
      if (ifAvailable && held.has(name)) {
        req.phase = 'done'
        return tasks.push(() => Promise.resolve(callback(null)).then(resolve, reject))
      }
      queueOf(name).push(req)
      grantNext(name)
    })
  }

  return {
    tasks,
    log,
    request: request as LockManager['request'],
    async query() {
      const info = (req: LockRequest): LockInfo => ({ name: req.name, mode: 'exclusive', clientId: `request-${req.n}` })
      return { held: [...held.values()].map(info), pending: [...queues.values()].flat().map(info) }
    },
    holder: (name) => held.get(name)?.n,
    waiting: (name) => queueOf(name).map((req) => req.n),
  }
}

/** A frame on its way from one tab's channel to another's. */
export interface Delivery {
  readonly from: string
  readonly to: string
  readonly data: unknown
}

export interface FakeChannels {
  /** The channel factory of the tab named `tab`. */
  factory(tab: string): (name: string) => TabChannel
  /** Every post that went out (cloned), in order. */
  readonly posted: { from: string; name: string; data: unknown }[]
  /** Deliveries not made yet. */
  readonly pending: readonly Delivery[]
  /**
   * Delivers the pending frames that `which` picks (all by default), in order, each as its
   * own task with microtasks settling after it; returns how many it delivered. Frames posted
   * meanwhile are delivered too when they match.
   */
  deliver(which?: (d: Delivery) => boolean): Promise<number>
  /** A post by a script that is no tab of ours (a forger, another library). */
  inject(name: string, data: unknown): void
}

/** Fields of posted frames that the build would rename (see `checkWire`). */
const renamed: string[] = []
/**
 * Frames are a wire format between tabs of different builds: none of their field names may
 * be one the build mangles (scripts/internal-props.ts), or two builds would not read each
 * other. Every frame a tab posts is checked, down to its messages and states (an app's
 * payload, `data`, is its own); a test that posted one fails.
 */
export function checkWire(frame: unknown, path = 'frame'): void {
  if (!frame || typeof frame !== 'object') return
  for (const [key, value] of Object.entries(frame)) {
    if (INTERNAL_PROPS.test(key)) renamed.push(`${path}.${key}`)
    if (key !== 'data') checkWire(value, `${path}.${key}`)
  }
}
afterEach(() => {
  expect(renamed.splice(0), 'frame fields that the build renames').toEqual([])
})

/**
 * BroadcastChannels in memory, as a browser's: `postMessage` clones (and throws a
 * DataCloneError for what cannot be cloned), a frame reaches every other open channel of
 * that name in a later task (the test chooses when, and in what order across senders), and
 * a channel closed before that gets nothing.
 */
export function fakeChannels(): FakeChannels {
  const open = new Map<string, Set<{ tab: string; port: TabChannel; closed: boolean }>>()
  const posted: FakeChannels['posted'] = []
  const pending: (Delivery & { run: () => void })[] = []
  const broadcast = (from: string, name: string, message: unknown, self?: object) => {
    const data = structuredClone(message)
    posted.push({ from, name, data })
    for (const end of open.get(name) ?? []) {
      if (end === self) continue
      pending.push({
        from,
        to: end.tab,
        data,
        run: () => void (!end.closed && end.port.onmessage?.({ data: structuredClone(data) } as MessageEvent)),
      })
    }
  }
  return {
    factory: (tab) => (name) => {
      const end = { tab, closed: false, port: undefined as unknown as TabChannel }
      end.port = {
        onmessage: null,
        postMessage(message) {
          if (end.closed) throw new DOMException('the channel is closed', 'InvalidStateError')
          checkWire(message)
          broadcast(tab, name, message, end)
        },
        close() {
          end.closed = true
          open.get(name)?.delete(end)
        },
      }
      if (!open.has(name)) open.set(name, new Set())
      open.get(name)!.add(end)
      return end.port
    },
    posted,
    get pending() {
      return pending
    },
    async deliver(which = () => true) {
      let count = 0
      for (;;) {
        await settle()
        const i = pending.findIndex(which)
        if (i < 0) return count
        const [next] = pending.splice(i, 1)
        next!.run()
        count++
      }
    },
    inject: (name, data) => broadcast('intruder', name, data),
  }
}

/** The page a tab lives in, scripted by the test. */
export function fakePage(visible = true) {
  const listeners = new Set<(event: 'leave' | 'return' | 'visibility') => void>()
  return {
    visible: () => visible,
    subscribe(listener: (event: 'leave' | 'return' | 'visibility') => void) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit(event: 'leave' | 'return' | 'visibility', nowVisible = visible) {
      visible = nowVisible
      for (const listener of [...listeners]) listener(event)
    },
  }
}

export type SendResult = 'sent' | 'queued' | 'rejected'

/** A connection the test drives: what `create` gives a tab that leads. */
export interface FakeShareable extends Shareable<unknown> {
  /** Every message given to `send`, in order. */
  readonly sent: unknown[]
  /** What `send` does next: a result, or a throw. */
  sendWith: (message: unknown, report: ((error: RealtimeError) => void) | undefined) => SendResult
  /** What the socket still held when it was closed (returned by `close()`). */
  queued: unknown[]
  readonly closed: boolean
  setStatus(status: ConnectionSnapshot<unknown>['status']): void
  /** A message off the wire: wire listeners hear it first, then message listeners. */
  emit(message: WireMessage): void
}

export function fakeShareable(): FakeShareable {
  let snapshot: ConnectionSnapshot<unknown> = IDLE
  let closed = false
  const subs = new Set<() => void>()
  const wires = new Set<(m: WireMessage) => void>()
  const messages = new Set<(m: RealtimeMessage<unknown>) => void>()
  const errors = new Set<(e: RealtimeError) => void>()
  const set = (patch: Partial<ConnectionSnapshot<unknown>>) => {
    snapshot = { ...snapshot, ...patch }
    for (const listener of [...subs]) listener()
  }
  const add =
    <L>(set: Set<L>) =>
    (listener: L) => {
      set.add(listener)
      return () => void set.delete(listener)
    }
  const fake: FakeShareable = {
    sent: [],
    sendWith: () => 'sent',
    queued: [],
    get closed() {
      return closed
    },
    subscribe: add(subs),
    getSnapshot: () => snapshot,
    onMessage: add(messages),
    onWire: add(wires),
    onError: add(errors),
    report(error) {
      set({ error })
      for (const listener of [...errors]) listener(error)
    },
    connect: () => set({ status: 'connecting' }),
    reconnect: () => set({ status: 'connecting' }),
    close() {
      closed = true
      set({ status: 'closed' })
      return fake.queued.splice(0)
    },
    send(message, options) {
      fake.sent.push(message)
      return fake.sendWith(message, options?.report || undefined)
    },
    setStatus: (status) => set({ status }),
    emit(m) {
      for (const listener of [...wires]) listener(m)
      for (const listener of [...messages]) listener({ data: m.data, event: m.event, id: m.id, raw: m.data })
      set({ data: m.data, lastEventId: m.id ?? snapshot.lastEventId })
    },
  }
  return fake
}
