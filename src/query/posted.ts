import type { Timers } from '../core/runtime'

/** The parts of a Web Locks manager the tab-sharing layer uses (`query` where it exists). */
export type QueryLocks = Pick<LockManager, 'request'> & Partial<Pick<LockManager, 'query'>>

/**
 * Marks of posted results, held as Web Locks. A fetching tab posts its result on a
 * BroadcastChannel, then takes a lock named for it (`<key lock>:posted:<started>:<posted>:<id>`,
 * when its fetch started and when it posted, on the clock every tab shares),
 * then lets go of the key's lock. The post and the locks travel on different paths, so a
 * tab granted the key's lock next may not have the post yet; but the lock manager is one
 * ordered state for the whole browser, so that tab sees the mark (`query()`) and waits for
 * the post instead of fetching a second time. A tab holds one mark per key, for `hold` ms.
 */
export function postedMarks(locks: QueryLocks, timers: Timers, hold: number) {
  const held = new Map<string, () => void>()
  return {
    /** Marks a result just posted for the key lock `name`; resolves once the mark is held. */
    mark(name: string, started: number, posted: number, id: string): Promise<void> {
      return new Promise<void>((marked) => {
        let release!: () => void
        const kept = new Promise<void>((resolve) => (release = resolve))
        const done = () => {
          timers.clearTimeout(timer)
          release()
          if (held.get(name) === done) held.delete(name)
        }
        const timer = timers.setTimeout(done, hold)
        // This tab's previous mark for the key goes once the new one is held.
        const previous = held.get(name)
        held.set(name, done)
        locks.request(`${name}:posted:${started}:${posted}:${id}`, () => (previous?.(), marked(), kept)).catch(() => (previous?.(), done(), marked()))
      })
    },
    /** Ids of the results marked for `name` that `wanted(started, posted, id)`. */
    async marked(name: string, wanted: (started: number, posted: number, id: string) => boolean): Promise<string[]> {
      const head = `${name}:posted:`
      const state = await locks.query?.().catch(() => undefined)
      const ids: string[] = []
      for (const { name: lock = '' } of state?.held ?? []) {
        if (!lock.startsWith(head)) continue
        const [started, posted, id = ''] = lock.slice(head.length).split(':')
        if (id && wanted(Number(started), Number(posted), id)) ids.push(id)
      }
      return ids
    },
    close() {
      for (const done of [...held.values()]) done()
    },
  }
}
