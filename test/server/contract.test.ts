import { describe, expect, it } from 'vitest'
import { replayLogContract, ReplayLogContractError } from '../../src/server/contract'
import { createMemoryLog, type ReplayLog } from '../../src/server/log'
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
