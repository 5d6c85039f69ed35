import type { AnyReplayLog as ReplayLog, LogEntry, Replay } from './log.ts'

/** One check of the `ReplayLog` contract: `run` rejects with what the store got wrong. */
export interface ReplayLogCheck {
  readonly name: string
  run(): Promise<void>
}

/**
 * Makes a fresh, empty log for one check: a new lifetime (epoch) on each call, keeping at
 * least the newest `capacity` entries.
 */
export type ReplayLogFactory = (options: { capacity: number }) => ReplayLog | Promise<ReplayLog>

/** Thrown by a check that fails. */
export class ReplayLogContractError extends Error {
  override readonly name = 'ReplayLogContractError'
}

const CAPACITY = 5

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ReplayLogContractError(`[tabwire/server] ReplayLog contract: ${message}`)
}

const show = (value: unknown) => JSON.stringify(value)
const ids = (entries: readonly LogEntry[]) => entries.map((e) => e.id)

/** Lets a store that (wrongly) tells listeners later do it now, so a check sees it. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Calls a function `subscribe` returned: it stops the listener, and must not throw. */
function unsubscribed(off: () => void) {
  try {
    off()
  } catch (error) {
    check(false, `the function subscribe returned threw when called (it must stop the listener, also when called twice): ${String(error)}`)
  }
}

/** What `since(id)` answers, a long replay's pages (`more`) read and joined. */
async function replayOf(log: ReplayLog, id: string | null | undefined): Promise<Replay> {
  let replay = await log.since(id)
  check(typeof replay === 'object' && replay !== null, `since(${show(id)}) answered ${show(replay)}`)
  while ('entries' in replay && replay.more) {
    const rest = await replay.more()
    check(typeof rest === 'object' && rest !== null, `since(${show(id)}): a page answered ${show(rest)}`)
    if ('reset' in rest) return rest
    replay = { entries: [...replay.entries, ...rest.entries], afterSeq: replay.afterSeq, more: rest.more }
  }
  return replay
}

async function entriesAfter(log: ReplayLog, id: string | null | undefined): Promise<readonly LogEntry[]> {
  const replay = await replayOf(log, id)
  check('entries' in replay && Array.isArray(replay.entries), `since(${show(id)}) answered a reset, expected entries: ${show(replay)}`)
  if (!('entries' in replay)) return []
  if (replay.afterSeq !== undefined) {
    check(Number.isSafeInteger(replay.afterSeq), `since(${show(id)}) answered afterSeq ${show(replay.afterSeq)}, not a safe integer`)
    check(replay.entries.every((e) => e.seq > replay.afterSeq!), `since(${show(id)}) answered entries at or before its afterSeq ${replay.afterSeq}`)
  }
  return replay.entries
}

/** Appends one after the other (a shared store's appends settle in turn). */
async function appendAll(log: ReplayLog, count: number, prefix = 'd') {
  const entries: LogEntry[] = []
  for (let i = 0; i < count; i++) entries.push(await log.append(`${prefix}${i + 1}`, i % 2 ? 'tick' : undefined))
  return entries
}

/**
 * Appends, then runs `settled` once append answered: at once for a store that answers with
 * the entry (so a listener told later, even in a microtask, is caught), when the promise
 * settles for one that answers with a promise.
 */
async function appendThen(log: ReplayLog, data: string, settled: (entry: LogEntry) => void = () => {}): Promise<LogEntry> {
  const answer = log.append(data)
  const entry = answer instanceof Promise ? await answer : answer
  settled(entry)
  return entry
}

/** A reset whose head is the newest entry (`newest`), or one before any entry when empty. */
function checkReset(replay: Replay, reasons: readonly string[], newest: LogEntry | undefined, asked: string) {
  check('reset' in replay, `since(${asked}) must answer a reset, not ${show(replay)}`)
  check(reasons.includes(replay.reset), `since(${asked}) reset with reason ${show(replay.reset)}, expected one of ${show(reasons)}`)
  check(typeof replay.head === 'string' && Number.isSafeInteger(replay.headSeq), `a reset needs a string head and a safe-integer headSeq: ${show(replay)}`)
  if (newest) check(replay.head === newest.id && replay.headSeq === newest.seq, `a reset must name the newest entry (${newest.id}, seq ${newest.seq}): ${show(replay)}`)
}

/**
 * The `ReplayLog` contract as checks any store can run, whatever its test runner:
 *
 * ```ts
 * for (const { name, run } of replayLogContract(({ capacity }) => createRedisLog({ capacity, key: randomKey() }))) it(name, run)
 * ```
 *
 * Each check makes its own logs with `create`, appends a few entries and reads them back;
 * `since` may be async.
 */
export function replayLogContract(create: ReplayLogFactory): ReplayLogCheck[] {
  const checks: [string, (log: ReplayLog) => Promise<void>][] = [
    [
      'append returns the entry: unique ids free of line breaks and NULL, seq a strictly growing safe integer, event and data kept',
      async (log) => {
        check(typeof log.epoch === 'string' && log.epoch.length > 0, `epoch must be a non-empty string: ${show(log.epoch)}`)
        const entries = await appendAll(log, 8)
        entries.forEach((entry, i) => {
          check(typeof entry.id === 'string' && !/[\r\n\0]/.test(entry.id), `bad id ${show(entry.id)}`)
          check(Number.isSafeInteger(entry.seq), `seq must be a safe integer: ${show(entry.seq)}`)
          const before = entries[i - 1]
          if (before) check(entry.seq > before.seq, `seq must grow: ${before.seq} then ${entry.seq}`)
          check(entry.data === `d${i + 1}` && entry.event === (i % 2 ? 'tick' : undefined), `entry ${entry.id} changed its data or event: ${show(entry)}`)
        })
        check(new Set(ids(entries)).size === entries.length, `ids must be unique: ${show(ids(entries))}`)
      },
    ],
    [
      'subscribe tells every appended entry once, in order, during append, until unsubscribed',
      async (log) => {
        const heard: LogEntry[] = []
        const off = log.subscribe((entry) => heard.push(entry))
        const first = await appendThen(log, 'a', (entry) =>
          check(
            heard.length === 1 && heard[0]!.id === entry.id,
            `a listener must hear the entry during append (synchronously, or before its promise settles; not later): heard ${show(ids(heard))} when append answered`,
          ),
        )
        const more = await appendAll(log, 3)
        check(show(ids(heard)) === show([first.id, ...ids(more)]), `listeners must hear each entry once, in order: ${show(ids(heard))}`)
        unsubscribed(off)
        unsubscribed(off)
        await log.append('unheard')
        await settle()
        check(show(ids(heard)) === show([first.id, ...ids(more)]), 'an unsubscribed listener must hear nothing more')
      },
    ],
    [
      'a throwing listener neither stops the others nor makes append throw',
      async (log) => {
        const heard: string[] = []
        let appending = false
        let late = false
        const offs = [
          log.subscribe(() => {
            // Thrown only inside append: a store that tells listeners later fails the check
            // below, instead of throwing where nothing can catch it.
            if (!appending) return void (late = true)
            throw new Error('a listener failed (thrown on purpose by the contract check)')
          }),
          log.subscribe((entry) => heard.push(entry.id)),
        ]
        let entry: LogEntry | undefined
        appending = true
        try {
          entry = await appendThen(log, 'x', () => (appending = false))
        } catch (error) {
          check(false, `append threw because a listener did: ${String(error)}`)
        } finally {
          appending = false
        }
        await settle()
        offs.forEach(unsubscribed)
        check(!late, 'listeners must be told during append, not after it returned')
        check(heard.length === 1 && heard[0] === entry!.id, 'the other listener must still hear the entry')
      },
    ],
    [
      'a listener that appends: every listener still hears the entries in append order',
      async (log) => {
        const first: string[] = []
        const second: string[] = []
        let answered = false
        const offs = [
          log.subscribe((entry) => {
            first.push(entry.id)
            // An app that answers in the same log (a bot in a room), once.
            if (!answered) {
              answered = true
              void log.append('answer')
            }
          }),
          log.subscribe((entry) => second.push(entry.id)),
        ]
        // Awaited in turn: a shared store stores the answer once the question is heard, so
        // the answer comes before an entry appended after the question settled.
        const question = await log.append('question')
        const after = await log.append('after')
        await settle()
        offs.forEach(unsubscribed)
        check(first.length === 3 && second.length === 3, `each listener must hear the 3 entries once: ${show(first)}, ${show(second)}`)
        check(first[0] === question.id && first[2] === after.id, `the appending listener heard ${show(first)}`)
        check(
          show(second) === show(first),
          `a listener after the one that appended heard ${show(second)}, but the entries were appended as ${show(first)}: an entry appended by a listener must be told after the one being told`,
        )
      },
    ],
    [
      'epoch stays the same for the whole lifetime of the log',
      async (log) => {
        const epoch = log.epoch
        for (let i = 0; i < 3; i++) {
          const entry = await log.append(`e${i}`)
          await log.since(entry.id)
          check(log.epoch === epoch, `epoch changed from ${show(epoch)} to ${show(log.epoch)} (read again after an append and a since)`)
        }
      },
    ],
    [
      'the newest `capacity` entries can always be resumed from, also after the log wrapped around',
      async (log) => {
        const entries = await appendAll(log, CAPACITY * 3)
        for (const entry of entries.slice(-CAPACITY)) {
          const replay = await replayOf(log, entry.id)
          const expected = ids(entries.slice(entries.indexOf(entry) + 1))
          check(
            'entries' in replay && Array.isArray(replay.entries),
            `since(${entry.id}), one of the newest ${CAPACITY} entries of a log made with capacity ${CAPACITY}, must replay ${show(expected)}, not ${show(replay)}`,
          )
          check(show(ids(replay.entries)) === show(expected), `since(${entry.id}) after wrap-around replayed ${show(ids(replay.entries))}, expected ${show(expected)}`)
        }
      },
    ],
    [
      'since with no id replays nothing',
      async (log) => {
        await appendAll(log, 3)
        for (const id of [null, undefined, '']) check((await entriesAfter(log, id)).length === 0, `since(${show(id)}) must replay nothing`)
      },
    ],
    [
      'since(id) replays exactly the entries after it, oldest first; none after the newest',
      async (log) => {
        const entries = await appendAll(log, CAPACITY)
        for (let i = 0; i < entries.length; i++) {
          const got = await entriesAfter(log, entries[i]!.id)
          const expected = entries.slice(i + 1)
          const { afterSeq } = (await replayOf(log, entries[i]!.id)) as { afterSeq?: number }
          check(afterSeq === undefined || afterSeq === entries[i]!.seq, `since(${entries[i]!.id}) answered afterSeq ${show(afterSeq)}: it is the seq of the entry the id names (${entries[i]!.seq})`)
          check(show(ids(got)) === show(ids(expected)), `since(${entries[i]!.id}) replayed ${show(ids(got))}, expected ${show(ids(expected))}`)
          check(
            got.every((e, j) => e.seq === expected[j]!.seq && e.data === expected[j]!.data && e.event === expected[j]!.event),
            `since(${entries[i]!.id}) changed an entry`,
          )
        }
      },
    ],
    [
      'head, when the log tells it, resumes from where a client starts following',
      async (log) => {
        if (log.head === undefined) return
        const start = log.head
        const entries = await appendAll(log, 2)
        check(log.head === entries[1]!.id, `head must be the newest id (${entries[1]!.id}), not ${show(log.head)}`)
        check(show(ids(await entriesAfter(log, start))) === show(ids(entries)), 'since(the head before any entry) must replay every entry')
        check((await entriesAfter(log, log.head)).length === 0, 'since(head) must replay nothing')
      },
    ],
    [
      'never a replay with a hole: an id older than the log keeps resets with reason gap',
      async (log) => {
        const entries = await appendAll(log, CAPACITY * 4)
        for (let i = 0; i < entries.length; i++) {
          const replay = await replayOf(log, entries[i]!.id)
          if ('reset' in replay) checkReset(replay, ['gap'], entries.at(-1), entries[i]!.id)
          else check(show(ids(replay.entries)) === show(ids(entries.slice(i + 1))), `since(${entries[i]!.id}) replayed ${show(ids(replay.entries))}: a hole`)
        }
        checkReset(await replayOf(log, entries[0]!.id), ['gap'], entries.at(-1), entries[0]!.id)
      },
    ],
    [
      'an id the log never gave out resets (reason invalid or epoch), naming the newest entry',
      async (log) => {
        const other = await create({ capacity: CAPACITY })
        const foreign = (await appendAll(other, 2))[1]!.id
        const entries = await appendAll(log, 3)
        for (const id of [foreign, 'not an id', 'x', `${entries[2]!.id}0`, '\u0000', 'é'.repeat(5000)]) {
          if (id === entries[2]!.id) continue
          checkReset(await replayOf(log, id), ['invalid', 'epoch'], entries.at(-1), show(id))
        }
      },
    ],
    [
      "an empty log resets with a headSeq below every seq to come (the memory log's is 0)",
      async (log) => {
        const replay = await replayOf(log, 'never-given-out')
        checkReset(replay, ['invalid', 'epoch'], undefined, 'never-given-out')
        const first = await log.append('first')
        check('reset' in replay && first.seq > replay.headSeq, `the first entry's seq (${first.seq}) must be above the empty log's headSeq (${'reset' in replay ? replay.headSeq : '?'})`)
      },
    ],
    [
      'entries appended while since runs are in its answer or not, never a hole',
      async (log) => {
        const entries = await appendAll(log, 2)
        const pending = log.since(entries[0]!.id)
        const late = await log.append('late')
        const replay = await pending
        check('entries' in replay && Array.isArray(replay.entries), `since(${entries[0]!.id}) answered ${show(replay)}`)
        const got = show(ids(replay.entries))
        check(got === show([entries[1]!.id]) || got === show([entries[1]!.id, late.id]), `since answered ${got} around a concurrent append`)
      },
    ],
    [
      'changing an answer does not change the log',
      async (log) => {
        const entries = await appendAll(log, 3)
        const answer = await entriesAfter(log, entries[0]!.id)
        if (!Object.isFrozen(answer)) (answer as LogEntry[]).length = 0
        const again = await entriesAfter(log, entries[0]!.id)
        check(show(ids(again)) === show(ids(entries.slice(1))), `since(${entries[0]!.id}) replayed ${show(ids(again))} after an answer was changed`)
      },
    ],
  ]
  return checks.map(([name, body]) => ({ name, run: async () => body(await create({ capacity: CAPACITY })) }))
}
