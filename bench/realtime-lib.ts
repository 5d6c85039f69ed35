/**
 * Pure helpers of bench/realtime.ts: arguments, the channel subsets of the tabs, the check of
 * a tab's deliveries against the server's log, and the bundle sizes (esbuild --minify,
 * production, React external, gzip -9, as scripts/size-tabs.ts measures).
 */
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export interface RealtimeArgs {
  tabs: number
  runs: number
  leaderChanges: number
  switches: number
  /** ms between two appends to each channel. */
  interval: number
  /** Pages pass `options.fetch` bound to the window (a workaround, off by default). */
  bindFetch: boolean
}

export class UsageError extends Error {}

export const USAGE = `usage: node bench/realtime.ts [--tabs 8] [--runs 5] [--leader-changes 20] [--switches 5] [--interval 100]
  --tabs N            tabs open in one browser context (2–16); each holds 5 of 12 channels
  --runs N            fallback / move-back runs of each kind (1–50)
  --leader-changes N  leader tabs closed (and a new tab opened) during the loss check (0–200)
  --switches N        WebSocket → SSE → WebSocket moves during the loss check (0–50)
  --interval M        ms between two appends to each of the 12 channels (10–2000)
  --bind-fetch        pages pass createRealtime a bound fetch: a workaround for the SSE link
                      calling window.fetch unbound ('Illegal invocation'); off by default`

const FLAGS: Record<string, [Exclude<keyof RealtimeArgs, 'bindFetch'>, number, number]> = {
  tabs: ['tabs', 2, 16],
  runs: ['runs', 1, 50],
  'leader-changes': ['leaderChanges', 0, 200],
  switches: ['switches', 0, 50],
  interval: ['interval', 10, 2000],
}

/** `--tabs 8 --runs 5 --leader-changes 20 --switches 5 --interval 100` (also `--tabs=8`). */
export function parseArgs(argv: readonly string[]): RealtimeArgs {
  const args: RealtimeArgs = { tabs: 8, runs: 5, leaderChanges: 20, switches: 5, interval: 100, bindFetch: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') throw new UsageError('')
    if (arg === '--bind-fetch') {
      args.bindFetch = true
      continue
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    const flag = match && FLAGS[match[1]!]
    if (!match || !flag) throw new UsageError(`unknown argument '${arg}'`)
    const raw = match[2] ?? argv[++i]
    const value = Number(raw)
    const [name, lo, hi] = flag
    if (raw === undefined || raw === '' || !Number.isInteger(value) || value < lo || value > hi) {
      throw new UsageError(`--${match[1]} takes a whole number from ${lo} to ${hi} (got '${raw ?? ''}')`)
    }
    args[name] = value
  }
  return args
}

export const CHANNELS = Array.from({ length: 12 }, (_, i) => `ch${String(i + 1).padStart(2, '0')}`)

/** Tab n's 5 channels (n from 0): 5 in a row from 5n, wrapping; tabs 0–11 all get different sets. */
export const subsetOf = (n: number): string[] => Array.from({ length: 5 }, (_, j) => CHANNELS[(5 * n + j) % CHANNELS.length]!)

/** One tab's deliveries of one channel, against the server's log. */
export interface ChannelCheck {
  delivered: number
  lost: number
  duplicated: number
  outOfOrder: number
  /** Deliveries whose data differs from the log's entry of that id, or whose id is not in the log. */
  corrupt: number
  snapshots: number
}

/**
 * Checks one tab's deliveries of a channel: the log's entries from the tab's first delivered
 * id up to its last (`toEnd`: up to the log's end, for a tab still open after the stream
 * stopped and drained) must each come once, in log order, with the log's data.
 */
export function checkChannel(delivered: readonly [string | null, string, number][], log: readonly { id: string; seq: number; data: string }[], toEnd: boolean): ChannelCheck {
  const bySeqIndex = new Map(log.map((e, i) => [e.id, i]))
  const check: ChannelCheck = { delivered: 0, lost: 0, duplicated: 0, outOfOrder: 0, corrupt: 0, snapshots: 0 }
  const seen = new Set<number>()
  let max = -1
  let min = Number.POSITIVE_INFINITY
  for (const [id, data] of delivered) {
    if (id === null) {
      check.snapshots++
      continue
    }
    check.delivered++
    const index = bySeqIndex.get(id)
    if (index === undefined) {
      check.corrupt++
      continue
    }
    if (JSON.stringify(JSON.parse(log[index]!.data)) !== data) check.corrupt++
    if (seen.has(index)) check.duplicated++
    else if (index < max) check.outOfOrder++
    seen.add(index)
    max = Math.max(max, index)
    min = Math.min(min, index)
  }
  if (seen.size) check.lost = (toEnd ? log.length - 1 : max) - min + 1 - seen.size
  return check
}

export const sum = (checks: readonly ChannelCheck[]): ChannelCheck =>
  checks.reduce(
    (a, c) => ({
      delivered: a.delivered + c.delivered,
      lost: a.lost + c.lost,
      duplicated: a.duplicated + c.duplicated,
      outOfOrder: a.outOfOrder + c.outOfOrder,
      corrupt: a.corrupt + c.corrupt,
      snapshots: a.snapshots + c.snapshots,
    }),
    { delivered: 0, lost: 0, duplicated: 0, outOfOrder: 0, corrupt: 0, snapshots: 0 },
  )

const root = fileURLToPath(new URL('..', import.meta.url))

/** min+gzip bytes of `export { names } from '<entry>'` for each [names, entry], production, React external. */
export async function bundleSize(...imports: [names: string, entry: string][]): Promise<number> {
  const result = await build({
    stdin: { contents: imports.map(([names, entry]) => `export { ${names} } from '${entry}'`).join('\n'), resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    external: ['react', 'react-dom'],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  })
  return gzipSync(result.outputFiles[0]!.contents, { level: 9 }).length
}

/** The bench page, bundled for the browser (development build, so the library's `[tabwire]` warnings show). */
export async function bundlePage(bindFetch: boolean): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./realtime-page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    write: false,
    define: { 'process.env.NODE_ENV': '"development"', BENCH_BIND_FETCH: String(bindFetch) },
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}
