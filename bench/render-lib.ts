/**
 * Pure parts of bench/render.ts: the variants, argument parsing, the server's message text
 * and the table. No browser, no server.
 */

export interface Variant {
  /** The table's name of it. */
  name: string
  /** What the page mounts (see bench/render-page.tsx). */
  kind: 'ruw' | 'raw' | 'ws' | 'sse'
  share?: 'tabs' | 'tab' | 'false'
  transport?: 'fetch' | 'eventsource'
  /** Pages in one browser context: a leader and followers for cross-tab sharing, else 1. */
  pages: number
}

/** Every variant, in the table's order; the first is the CPU reference. */
export function variants(followers: number): Variant[] {
  const shared = 1 + followers
  return [
    { name: 'react-use-websocket', kind: 'ruw', pages: 1 },
    { name: 'raw WebSocket + useState', kind: 'raw', pages: 1 },
    { name: "tabwire ws 'tabs'", kind: 'ws', share: 'tabs', pages: shared },
    { name: "tabwire ws 'tab'", kind: 'ws', share: 'tab', pages: 1 },
    { name: 'tabwire ws false', kind: 'ws', share: 'false', pages: 1 },
    { name: "tabwire sse fetch 'tabs'", kind: 'sse', transport: 'fetch', share: 'tabs', pages: shared },
    { name: "tabwire sse fetch 'tab'", kind: 'sse', transport: 'fetch', share: 'tab', pages: 1 },
    { name: "tabwire sse eventsource 'tabs'", kind: 'sse', transport: 'eventsource', share: 'tabs', pages: shared },
    { name: "tabwire sse eventsource 'tab'", kind: 'sse', transport: 'eventsource', share: 'tab', pages: 1 },
  ]
}

/** A variant's URL path on the bench server: /ws/<slug> or /sse/<slug>. */
export const slug = (v: Variant): string => v.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()

export interface RenderArgs {
  /** Messages per second the server aims at. */
  rate: number
  /** Seconds of flood. */
  seconds: number
  /** Messages per WebSocket frame / SSE event (1: one each, the realistic case). */
  batch: number
  /** Seconds to wait, after the flood, for the pages to catch up. */
  drain: number
  /** Follower pages beside the leader for cross-tab sharing. */
  followers: number
  /** Only the variants whose name contains one of these (case-insensitive); all when empty. */
  only: string[]
  /** Where tabwire's sources are (default: this repo's src). */
  src: string | undefined
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench:render -- [--rate 10000] [--seconds 5] [--batch 1] [--drain 5] [--followers 2]
                             [--only "tabwire ws,react-use"] [--src DIR]
  --rate N       messages per second the server aims at, per stream (100–100000)
  --seconds S    seconds of flood (1–60)
  --batch N      messages per WebSocket frame / SSE event (1–1000); 1 is one message per frame
  --drain S      seconds the pages get after the flood to catch up (0–60)
  --followers N  follower pages beside the leader in the shared ('tabs') variants (0–4)
  --only LIST    comma-separated parts of variant names to run (the reference, react-use-websocket,
                 always runs)
  --src DIR      tabwire's src directory to bundle (e.g. an export of an older commit)`

/** `--rate 10000 --seconds 5 …` (also `--rate=10000`). */
export function parseArgs(argv: readonly string[]): RenderArgs {
  const args: RenderArgs = { rate: 10_000, seconds: 5, batch: 1, drain: 5, followers: 2, only: [], src: undefined }
  const limits = { rate: [100, 100_000], seconds: [1, 60], batch: [1, 1000], drain: [0, 60], followers: [0, 4] } as const
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--help' || arg === '-h') throw new UsageError('')
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(arg)
    const name = match?.[1]
    if (!match || !name) throw new UsageError(`unknown argument '${arg}'`)
    const raw = match[2] ?? argv[++i]
    if (raw === undefined || raw === '') throw new UsageError(`--${name} needs a value`)
    if (name === 'only') args.only = raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)
    else if (name === 'src') args.src = raw
    else if (Object.hasOwn(limits, name)) {
      const key = name as keyof typeof limits
      const value = Number(raw)
      const [lo, hi] = limits[key]
      if (!Number.isInteger(value) || value < lo || value > hi) throw new UsageError(`--${name} takes a whole number from ${lo} to ${hi} (got '${raw}')`)
      args[key] = value
    } else throw new UsageError(`unknown argument '${arg}'`)
  }
  return args
}

/** The text of message `seq`: a small ticker-like JSON object. */
export const messageText = (seq: number): string => `{"seq":${seq},"sym":"ACME","px":${(100 + (seq % 997) / 100).toFixed(2)}}`

/** One WebSocket frame / SSE data for seqs from..to: one message, or a JSON array of them. */
export function payloadText(from: number, to: number, batch: number): string {
  if (batch === 1) return messageText(from)
  const parts: string[] = []
  for (let s = from; s <= to; s++) parts.push(messageText(s))
  return `[${parts.join(',')}]`
}

/** What one page measured over the window (flood start → end of the drain). */
export interface PageResult {
  variant: string
  /** 'leader' / 'follower N' in the shared variants, '' otherwise. */
  role: string
  /** Stream connections the page opened (all of them, since it loaded). */
  connections: number
  commits: number
  frames: number
  distinct: number
  delivered: number
  dup: number
  outOfOrder: number
  outOfRange: number
  /** Renderer main-thread task time (CDP Performance.getMetrics TaskDuration), ms. */
  cpuMs: number
  /** Seconds from the flood start to this page's last reading (a busy page answers late). */
  seconds: number
  /** Whether it had every message the server sent when the drain ended. */
  caughtUp: boolean
  errors: string[]
  note?: string
}

export interface VariantResult {
  variant: Variant
  pages: PageResult[]
  /** Messages the server sent (to each connection of the variant). */
  sent: number
  /** Connections the server accepted for this variant. */
  serverConnections: number
  /** Seconds the server flooded for, and the whole window to the end of the drain. */
  floodSeconds: number
  windowSeconds: number
  /** Seconds from the end of the flood until every page caught up (NaN: not within --drain). */
  drainSeconds: number
  /** Ticks the server held back because a socket's buffer was full (the page was not reading). */
  heldBack: number
  /** Share (0..1) of the machine's CPU other processes used during the window. */
  othersCpu: number
  failure?: string
}

export const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—'

/** A plain-text table; numbers right-aligned (any cell that starts with a digit, sign or dash). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows]
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)))
  const numeric = (c: number) => c > 1 && rows.every((r) => /^[-+\d—.]/.test(r[c] ?? ''))
  const cell = (text: string, c: number) => (numeric(c) ? text.padStart(widths[c]!) : text.padEnd(widths[c]!))
  const line = (r: readonly string[]) => `| ${r.map((text, c) => cell(text ?? '', c)).join(' | ')} |`
  const rule = `|${widths.map((w, c) => (numeric(c) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

/** The results table; CPU ratios are to the first page of `reference`. */
export function report(results: readonly VariantResult[], reference: VariantResult | undefined): string {
  const refCpu = reference?.pages[0]?.cpuMs ?? Number.NaN
  const refPerMsg = reference?.pages[0] ? reference.pages[0].cpuMs / reference.pages[0].distinct : Number.NaN
  const header = ['variant', 'page', 'conns', 'commits', 'commits/s', 'frames', 'delivered / sent', 'lost', 'dup', 'ooo', 'CPU ms', '× ruw', 'µs/msg', '× ruw/msg']
  const rows: string[][] = []
  for (const r of results) {
    if (r.failure && r.pages.length === 0) {
      rows.push([r.variant.name, '—', '—', '—', '—', '—', `— / ${fmt(r.sent)}`, '—', '—', '—', '—', '—', '—', '—'])
      continue
    }
    for (const p of r.pages) {
      const perMsg = p.distinct > 0 ? (p.cpuMs * 1000) / p.distinct : Number.NaN
      rows.push([
        r.variant.name,
        p.role || '-',
        fmt(p.connections),
        fmt(p.commits),
        fmt(p.commits / p.seconds),
        fmt(p.frames),
        `${fmt(p.distinct)} / ${fmt(r.sent)}${p.caughtUp ? '' : ' *'}`,
        fmt(r.sent - p.distinct),
        fmt(p.dup),
        fmt(p.outOfOrder),
        fmt(p.cpuMs),
        fmt(p.cpuMs / refCpu, 2),
        fmt(perMsg, 1),
        fmt(perMsg / 1000 / refPerMsg, 2),
      ])
    }
  }
  return table(header, rows)
}
