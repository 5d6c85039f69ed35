/**
 * Pure helpers of bench/tabs.ts: argument parsing, statistics over delivered ids, and the
 * plain-text table it prints. No browser, no server: easy to reason about on their own.
 */

/** `<epoch>.<seq>` apart (the ids of tabwire/server's memory log); undefined if not one. */
export function parseId(id: string): { epoch: string; seq: number } | undefined {
  const match = /^([A-Za-z0-9_-]+)\.(\d+)$/.exec(id)
  return match ? { epoch: match[1]!, seq: Number(match[2]) } : undefined
}

/** The seq of an id, or -1 when it is not a log id. */
export const seqOf = (id: string | null | undefined): number => (id ? (parseId(id)?.seq ?? -1) : -1)

/** The value at quantile `q` (0..1) of `values`, nearest rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

/** What one tab's ids of one stream say, against the contiguous range it should have from its first id. */
export interface IdCheck {
  /** Ids delivered. */
  delivered: number
  /** Seqs in the range first..last that never came. */
  lost: number
  /** Ids delivered more than once (every extra delivery counts). */
  duplicated: number
  /** Deliveries whose seq is lower than one delivered before (a repeat counts as a duplicate, not here). */
  outOfOrder: number
  /** Epochs seen (more than one means the log restarted, or ids are not comparable). */
  epochs: number
  /** Ids that are not `<epoch>.<seq>`. */
  malformed: number
  first: string | undefined
  last: string | undefined
}

/** Checks one tab's ids: each seq once, in order, none missing between the first and the last. */
export function checkIds(ids: readonly string[]): IdCheck {
  const seen = new Set<number>()
  const epochs = new Set<string>()
  let duplicated = 0
  let outOfOrder = 0
  let malformed = 0
  let max = -1
  let min = Number.POSITIVE_INFINITY
  for (const id of ids) {
    const parsed = parseId(id)
    if (!parsed) {
      malformed++
      continue
    }
    epochs.add(parsed.epoch)
    if (seen.has(parsed.seq)) duplicated++
    else if (parsed.seq < max) outOfOrder++
    seen.add(parsed.seq)
    max = Math.max(max, parsed.seq)
    min = Math.min(min, parsed.seq)
  }
  const lost = seen.size === 0 ? 0 : max - min + 1 - seen.size
  return { delivered: ids.length, lost, duplicated, outOfOrder, epochs: epochs.size, malformed, first: ids[0], last: ids.at(-1) }
}

/** One tab's deliveries of a stream: ids and their times (ms since the epoch, sub-ms). */
export interface Deliveries {
  tab: number
  ids: readonly string[]
  times: readonly number[]
}

/** How the tabs' delivery times of the same ids compare. */
export interface Spread {
  /** Tabs that delivered at least one id in the window. */
  receivingTabs: number
  /** Ids every receiving tab delivered (the ones compared). */
  comparedIds: number
  /** For each compared id and each tab but the first to deliver it: its time minus the first tab's. */
  deltas: number[]
  /** The same deltas by the tab that was behind. */
  byTab: Map<number, number[]>
  /** How often each tab delivered an id first. */
  firstBy: Map<number, number>
}

/**
 * For every id all receiving tabs delivered (first delivery of it in each tab), the delay of
 * each tab behind the tab that delivered it first. Only deliveries at or after `from` count.
 */
export function spread(tabs: readonly Deliveries[], from: number, to: number): Spread {
  const perTab = tabs.map((t) => {
    const at = new Map<string, number>()
    t.ids.forEach((id, i) => {
      const time = t.times[i]!
      if (time >= from && time <= to && !at.has(id)) at.set(id, time)
    })
    return { tab: t.tab, at }
  })
  const receiving = perTab.filter((t) => t.at.size > 0)
  const deltas: number[] = []
  const byTab = new Map<number, number[]>()
  const firstBy = new Map<number, number>()
  let comparedIds = 0
  if (receiving.length >= 1) {
    for (const id of receiving[0]!.at.keys()) {
      const times = receiving.map((t) => t.at.get(id))
      if (times.some((t) => t === undefined)) continue
      comparedIds++
      const first = Math.min(...(times as number[]))
      const firstTab = receiving[times.indexOf(first)]!.tab
      firstBy.set(firstTab, (firstBy.get(firstTab) ?? 0) + 1)
      let skipped = false
      ;(times as number[]).forEach((t, i) => {
        // The first tab's own zero is not a follower's delay (skip it once; a tie elsewhere is a real 0).
        if (t === first && !skipped) return void (skipped = true)
        const tab = receiving[i]!.tab
        deltas.push(t - first)
        const list = byTab.get(tab) ?? []
        if (list.push(t - first) === 1) byTab.set(tab, list)
      })
    }
  }
  return { receivingTabs: receiving.length, comparedIds, deltas, byTab, firstBy }
}

/** `1.23` style, or `—` for NaN. */
export const ms = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '—')

/** A plain-text table: the first column left-aligned, the others too (they hold text). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows]
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)))
  const line = (r: readonly string[]) => `| ${r.map((cell, c) => (cell ?? '').padEnd(widths[c]!)).join(' | ')} |`
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

export interface BenchArgs {
  tabs: number
  runs: number
  /** Seconds of steady stream for the latency comparison. */
  steady: number
  /** ms between two quotes. */
  interval: number
}

/** `--tabs 8 --runs 20 --steady 5 --interval 20` (also `--tabs=8`). */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { tabs: 8, runs: 20, steady: 5, interval: 20 }
  const limits: Record<keyof BenchArgs, [number, number]> = { tabs: [2, 32], runs: [1, 500], steady: [1, 120], interval: [5, 1000] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') throw new UsageError('')
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(arg)
    const name = match?.[1] as keyof BenchArgs | undefined
    if (!match || !name || !Object.hasOwn(limits, name)) throw new UsageError(`unknown argument '${arg}'`)
    const raw = match[2] ?? argv[++i]
    const value = Number(raw)
    const [lo, hi] = limits[name]
    if (raw === undefined || raw === '' || !Number.isInteger(value) || value < lo || value > hi) {
      throw new UsageError(`--${name} takes a whole number from ${lo} to ${hi} (got '${raw ?? ''}')`)
    }
    args[name] = value
  }
  return args
}

export class UsageError extends Error {}

export const USAGE = `usage: node bench/tabs.ts [--tabs 8] [--runs 20] [--steady 5] [--interval 20]
  --tabs N      tabs open in one browser context (2–32)
  --runs N      failovers measured per kind (leader close, renderer crash)
  --steady S    seconds of steady stream for the latency comparison
  --interval M  ms between two quotes on the demo server`
