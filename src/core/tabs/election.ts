/**
 * Where this tab stands in a stream's election:
 * - `idle`: out of it (not started, or away: frozen or in the back/forward cache);
 * - `queued`: waiting for the lock behind the leader;
 * - `stealing`: taking the lock from a leader that went silent;
 * - `leading`: holding the lock, for the whole leadership;
 * - `refused`: the lock manager will not serve this page (a sandboxed frame): no sharing;
 * - `closed`: stopped for good, until joined again.
 */
export type ElectionState = 'idle' | 'queued' | 'stealing' | 'leading' | 'refused' | 'closed'

export interface ElectionEvents {
  /** This tab holds the lock; `release` gives it up. */
  _lead(release: () => void): void
  /** Another tab took the lock from this leader; the election is `queued` again. */
  _stolen(): void
  /** The lock manager refused a request (not an abort): the tab must do without sharing. */
  _refused(error: unknown): void
}

export interface Election {
  readonly _state: () => ElectionState
  /** Queues for the lock (from `idle` or `closed`). */
  _join(): void
  /** Takes the lock from whoever holds it (a silent leader). */
  _steal(): void
  /** Leaves: a request in flight is given up, a held lock released. */
  _leave(next?: 'idle' | 'closed'): void
  /**
   * For a leader: a check that it still holds the lock, for when its timers ran late (a long
   * task, a paused page). Undefined while it ran on time in the last `late` ms (or the lock
   * manager cannot list holders); else whether this tab still holds the lock, once known.
   * `beat`: the check is the leader's beat, which, run on time, counts as running; `ask`:
   * asks the lock manager even on time (a frame says another tab leads).
   */
  _watch(now: () => number, late: number): (beat?: boolean, ask?: boolean) => Promise<boolean> | undefined
}

/**
 * One Web Lock per stream, held for a whole leadership. Every request carries a token: a
 * grant for a request this tab gave up on (it left, stole, or closed meanwhile) is released
 * at once, so a tab that closed while a steal was in flight never wakes up leading; so is
 * a grant another tab stole before its callback ran (the tab lines up again).
 */
export function createElection(locks: Pick<LockManager, 'request'> & Partial<Pick<LockManager, 'query'>>, name: string, on: ElectionEvents): Election {
  let state: ElectionState = 'idle'
  let token = 0
  let abort: AbortController | undefined
  let release: (() => void) | undefined

  const request = (steal: boolean) => {
    abort?.abort()
    const mine = ++token
    const controller = (abort = new AbortController())
    state = steal ? 'stealing' : 'queued'
    /** Its lock was stolen before its callback ran (which still comes): it must not lead. */
    let robbed = false
    const grant = () => {
      if (robbed && mine === token) request(false)
      if (robbed || mine !== token || (state !== 'queued' && state !== 'stealing')) return Promise.resolve()
      abort = undefined
      state = 'leading'
      return new Promise<void>((resolve) => {
        release = resolve
        on._lead(resolve)
      })
    }
    let call: Promise<unknown>
    try {
      call = locks.request(name, steal ? { steal: true } : { signal: controller.signal }, grant)
    } catch (thrown) {
      call = Promise.reject(thrown)
    }
    call.catch((error: unknown) => {
      if (mine !== token) return
      if ((error as Error)?.name !== 'AbortError') {
        state = 'refused'
        release = undefined
        return on._refused(error)
      }
      // A held lock broken by another tab's steal.
      if (state === 'leading') {
        release?.()
        release = undefined
        request(false)
        on._stolen()
      } else robbed = true // stolen between the grant and its callback: line up again then
    })
  }

  return {
    _state: () => state,
    _join() {
      if (state === 'idle' || state === 'closed') request(false)
    },
    _steal() {
      if (state === 'queued' || state === 'idle') request(true)
    },
    _leave(next = 'idle') {
      if (state === 'refused') return
      token++
      abort?.abort()
      abort = undefined
      const held = release
      release = undefined
      state = next
      held?.()
    },
    _watch(now, late) {
      const holder = () => locks.query?.().then(({ held }) => held?.find((l) => l.name === name)?.clientId)
      // Who holds the lock now, as the lock manager lists it: this tab, which just took it.
      let owner: string | undefined
      void holder()?.then((id) => (owner = id), () => {})
      let ranAt = now()
      return (beat, ask) => {
        if (owner === undefined || (!ask && now() - ranAt < late)) return void (beat && (ranAt = now()))
        return holder()!.then((id) => (id === owner ? ((ranAt = now()), true) : false), () => true)
      }
    },
  }
}
