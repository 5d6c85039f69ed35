import type { TabLoop } from './tabs-loop'

/** The Web Locks API as one simulated tab sees it (`navigator.locks`). */
export type SimulatedLockManager = Pick<LockManager, 'request' | 'query'>

/** The lock manager of one simulation, shared by its tabs like a browser's by the tabs of an origin. */
export interface SimulatedLocks {
  /** The view of the tab `clientId`, whose grants run as tasks of its `loop`. */
  client(clientId: string, loop: TabLoop): SimulatedLockManager
  /** The tab went away (closed, crashed): its locks are released, its waiting requests dropped. */
  drop(clientId: string): void
  /** What `query()` would give any tab now. */
  snapshot(): LockManagerSnapshot
}

type Callback = (lock: Lock | null) => unknown

interface Request {
  name: string
  mode: LockMode
  clientId: string
  loop: TabLoop
  signal: AbortSignal | undefined
  callback: Callback
  resolve(value: unknown): void
  reject(error: unknown): void
  /** waiting: in the queue; granted: holds the lock, its callback has not run; running; done. */
  phase: 'waiting' | 'granted' | 'running' | 'done'
  /** Another request stole its lock: its promise rejects, whatever its callback returns. */
  stolen?: boolean
}

const notSupported = (message: string) => new DOMException(message, 'NotSupportedError')
const never = () => new Promise<never>(() => {})

/**
 * An in-memory Web Locks manager that behaves like a browser's
 * (https://w3c.github.io/web-locks/): locks are granted in request order, `exclusive` or
 * `shared`, held from the grant on, and the callback runs in a later task of the requesting
 * tab (a frozen tab's callback waits until it resumes, its lock held meanwhile). The
 * promise settles with the callback's result, which releases the lock. `ifAvailable` calls
 * back with `null` when the lock is not free; `steal` takes it at once and the robbed
 * request rejects with an `AbortError` (in a task of the robbed tab); a `signal` aborted
 * while the request waits, or after the grant but before the callback ran (as Chromium
 * does), rejects it with the signal's reason. `query()` lists held and pending locks with
 * each tab's `clientId`.
 * @example
 * const locks = createSimulatedLocks()
 * const a = locks.client('tab-1', createLoop(messageChannelTask(), Date.now))
 * await a.request('leader', async (lock) => lead(lock))
 */
export function createSimulatedLocks(): SimulatedLocks {
  const held = new Map<string, Request[]>()
  const queues = new Map<string, Request[]>()
  const gone = new Set<string>()
  const list = <K>(map: Map<K, Request[]>, name: K) => map.get(name) ?? (map.set(name, []), map.get(name)!)

  const grantable = (req: Request, first: boolean) => {
    const holders = list(held, req.name)
    return first && (req.mode === 'exclusive' ? holders.length === 0 : holders.every((h) => h.mode === 'shared'))
  }
  const release = (req: Request) => {
    const holders = list(held, req.name)
    const at = holders.indexOf(req)
    req.phase = 'done'
    if (at < 0) return
    holders.splice(at, 1)
    grantWaiting(req.name)
  }
  function grantWaiting(name: string) {
    const queue = list(queues, name)
    while (queue[0] && grantable(queue[0], true)) grant(queue.shift()!)
  }
  function grant(req: Request) {
    req.phase = 'granted'
    list(held, req.name).push(req)
    req.loop.queue(() => {
      if (req.phase !== 'granted') return
      if (req.signal?.aborted && !req.stolen) return req.reject(req.signal.reason), release(req)
      req.phase = 'running'
      const settle = (ok: boolean, value: unknown) => (req.stolen || (ok ? req.resolve(value) : req.reject(value)), release(req))
      try {
        Promise.resolve(req.callback({ name: req.name, mode: req.mode } as Lock)).then(
          (value) => settle(true, value),
          (error: unknown) => settle(false, error),
        )
      } catch (thrown) {
        settle(false, thrown)
      }
    })
  }

  const client = (clientId: string, loop: TabLoop): SimulatedLockManager => {
    function request(name: string, ...rest: [Callback] | [LockOptions | undefined, Callback]): Promise<unknown> {
      if (gone.has(clientId)) return never()
      const [options = {}, callback] = rest.length === 1 ? [{}, rest[0]] : rest
      const { mode = 'exclusive', ifAvailable = false, steal = false, signal } = options
      if (typeof callback !== 'function') return Promise.reject(new TypeError('LockManager.request: the callback is not a function'))
      if (String(name).startsWith('-')) return Promise.reject(notSupported('lock names starting with "-" are reserved'))
      if (steal && ifAvailable) return Promise.reject(notSupported('steal and ifAvailable cannot be combined'))
      if (steal && mode !== 'exclusive') return Promise.reject(notSupported('steal needs mode exclusive'))
      if (signal && (steal || ifAvailable)) return Promise.reject(notSupported('signal cannot be combined with steal or ifAvailable'))
      if (signal?.aborted) return Promise.reject(signal.reason)
      return new Promise((resolve, reject) => {
        const req: Request = { name: String(name), mode, clientId, loop, signal, callback, resolve, reject, phase: 'waiting' }
        const queue = list(queues, req.name)
        if (steal) {
          // The robbed tab's callback still runs if it had not (its grant task is queued): it
          // learns of the steal from the rejection, a task of its own after that.
          for (const robbed of list(held, req.name).splice(0)) {
            robbed.stolen = true
            robbed.loop.queue(() => robbed.reject(new DOMException('the lock was stolen', 'AbortError')))
          }
          queue.unshift(req)
        } else if (ifAvailable && !grantable(req, queue.length === 0)) {
          req.phase = 'done'
          return loop.queue(() => {
            try {
              Promise.resolve(callback(null)).then(resolve, reject)
            } catch (thrown) {
              reject(thrown)
            }
          })
        } else queue.push(req)
        signal?.addEventListener('abort', () => {
          if (req.phase !== 'waiting') return
          queue.splice(queue.indexOf(req), 1)
          req.phase = 'done'
          reject(signal.reason)
          grantWaiting(req.name)
        })
        grantWaiting(req.name)
      })
    }
    return {
      request: request as LockManager['request'],
      query: async () => (gone.has(clientId) ? never() : snapshot()),
    }
  }
  const info = (r: Request): LockInfo => ({ name: r.name, mode: r.mode, clientId: r.clientId })
  const snapshot = (): LockManagerSnapshot => ({ held: [...held.values()].flat().map(info), pending: [...queues.values()].flat().map(info) })

  return {
    client,
    snapshot,
    drop(clientId) {
      gone.add(clientId)
      for (const queue of queues.values()) for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.clientId === clientId) queue.splice(i, 1)
      for (const holders of [...held.values()]) for (const r of holders.filter((h) => h.clientId === clientId)) release(r)
      for (const name of queues.keys()) grantWaiting(name)
    },
  }
}
