import { describe, expect, it } from 'vitest'
import { replayLogContract, ReplayLogContractError } from '../../src/server/contract'
import { createMemoryLog, type LogEntry, type ReplayLog } from '../../src/server/log'
import { asyncLog } from './helpers'

const quiet = { onListenerError: () => {} }

describe('replayLogContract: the memory log', () => {
  for (const { name, run } of replayLogContract(({ capacity }) => createMemoryLog({ capacity, ...quiet }))) it(name, run)
})

describe('replayLogContract: a store whose since() is async', () => {
  for (const { name, run } of replayLogContract(({ capacity }) => asyncLog(createMemoryLog({ capacity, ...quiet })).log)) it(name, run)
})

/** The memory log with one rule broken, to show the checks catch it. */
function broken(change: (log: ReplayLog) => Partial<ReplayLog>) {
  return ({ capacity }: { capacity: number }) => {
    const log = createMemoryLog({ capacity, ...quiet })
    const methods: ReplayLog = {
      epoch: log.epoch,
      get head() {
        return log.head
      },
      append: (data, event) => log.append(data, event),
      since: (id) => log.since(id),
      subscribe: (listener) => log.subscribe(listener),
    }
    return Object.assign(methods, change(log))
  }
}

describe('replayLogContract: each check can fail', () => {
  const failing = async (factory: ReturnType<typeof broken>, which: RegExp) => {
    const results = await Promise.all(replayLogContract(factory).map((c) => c.run().then(() => undefined, (error: unknown) => ({ name: c.name, error }))))
    const failed = results.filter((r) => r !== undefined)
    expect(failed.length).toBeGreaterThan(0)
    for (const f of failed) expect(f.error).toBeInstanceOf(ReplayLogContractError)
    expect(failed.map((f) => f.name)).toContainEqual(expect.stringMatching(which))
  }

  it('a replay with a hole (the oldest kept entry missing)', () =>
    failing(
      broken((log) => ({
        since: (id) => {
          const replay = log.since(id) as { entries?: unknown[] }
          return replay.entries && replay.entries.length > 1 ? { entries: (replay.entries as never[]).slice(1) } : (replay as never)
        },
      })),
      /exactly the entries after it/,
    ))

  it('a reset without headSeq (the old contract)', () =>
    failing(
      broken((log) => ({
        since: (id) => {
          const replay = log.since(id) as { reset?: string; head?: string }
          return replay.reset ? ({ reset: replay.reset, head: replay.head } as never) : (replay as never)
        },
      })),
      /never gave out/,
    ))

  it('a gap answered with what is left instead of a reset', () =>
    failing(
      broken((log) => ({
        since: (id) => {
          const replay = log.since(id) as { reset?: string }
          return replay.reset === 'gap' ? log.since(log.head) : (replay as never)
        },
      })),
      /never a replay with a hole/,
    ))

  it('a listener that throws out of append', () =>
    failing(
      broken((log) => ({
        subscribe: (listener) =>
          log.subscribe((entry) => {
            listener(entry)
          }),
        append: (data, event) => {
          const entry = log.append(data, event)
          if (data === 'x') throw new Error('rethrown')
          return entry
        },
      })),
      /throwing listener/,
    ))

  it('seq that does not grow', () =>
    failing(
      broken((log) => ({ append: (data, event) => ({ ...log.append(data, event), seq: 1 }) })),
      /append returns the entry/,
    ))

  // Third review: a store that answered a gap to every since() once it had wrapped around,
  // one whose epoch changed on each read, re-entrant appends told out of order, and an
  // async listener whose throw crashed the runner all passed or crashed.
  it('a store that answers a gap reset to every since(id) once it wrapped around', () =>
    failing(
      broken((log) => {
        let count = 0
        return {
          append: (data, event) => (count++, log.append(data, event)),
          since: (id) => (id && count > 5 ? { reset: 'gap', head: log.head!, headSeq: count } : log.since(id)),
        }
      }),
      /can always be resumed from/,
    ))

  it('a store that keeps fewer entries than its capacity', () =>
    failing(() => createMemoryLog({ capacity: 2, ...quiet }), /can always be resumed from/))

  it('an epoch that changes on every read', () =>
    failing(({ capacity }) => {
      const log = broken(() => ({}))({ capacity })
      let reads = 0
      const epoch = log.epoch
      return Object.defineProperty(log, 'epoch', { get: () => `${epoch}x${reads++}` })
    }, /epoch stays the same/))

  it('a log that tells an entry appended by a listener before the one being told', () =>
    failing(
      broken((log) => {
        // The memory log before the third review: listeners told in a plain loop in append.
        const listeners = new Set<(entry: LogEntry) => void>()
        return {
          append: (data, event) => {
            const entry = log.append(data, event)
            for (const listener of [...listeners]) {
              try {
                listener(entry)
              } catch {}
            }
            return entry
          },
          subscribe: (listener) => {
            listeners.add(listener)
            return () => void listeners.delete(listener)
          },
        }
      }),
      /a listener that appends/,
    ))

  it('a store whose unsubscribe throws', () =>
    failing(
      broken((log) => ({
        subscribe: (listener) => {
          const off = log.subscribe(listener)
          return () => {
            off()
            throw new Error('store connection lost')
          }
        },
      })),
      /subscribe tells/,
    ))

  it('a store that tells listeners in a microtask, unguarded: the checks fail, nothing throws where it cannot be caught', async () => {
    const unhandled: unknown[] = []
    const onError = (error: unknown) => unhandled.push(error)
    process.on('uncaughtException', onError)
    try {
      await failing(broken((log) => ({ subscribe: (listener) => log.subscribe((entry) => queueMicrotask(() => listener(entry))) })), /during append/)
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('uncaughtException', onError)
    }
    expect(unhandled).toEqual([])
  })

  it('a listener told after append returns', () =>
    failing(
      broken((log) => ({
        subscribe: (listener) =>
          log.subscribe((entry) =>
            queueMicrotask(() => {
              try {
                listener(entry)
              } catch {
                // The check's own throwing listener: what is tested is when it is told.
              }
            }),
          ),
      })),
      /subscribe tells/,
    ))
})
