/**
 * Settings from the page's query string, so a test (or a curious user) can tune them:
 *   ?idle=1500       idle timeout of every stream, ms (SSE idleTimeout; WebSocket heartbeat timeout)
 *   ?delay=300       base of the reconnection backoff, ms (the SSE server's `retry:` replaces it)
 *   ?maxDelay=5000   cap of the backoff, ms
 *   ?pauseHidden=3000  ms a tab may stay hidden before its SSE streams let go (0 = never); they resume
 *                    from the last id when it is visible again
 *   ?name=alice      the chat name (a random guest name by default)
 *   ?share=tabs      who shares each stream's connection: `tabs` (one per browser, the default),
 *                    `tab` (one per tab) or `off` (one per component)
 *   ?beat=1000       ms between the leader tab's heartbeats; a follower takes over after 4 × beat of silence
 *   ?channels=prices:ACME,notifications,room:lobby   the Realtime panel's channels (empty: none)
 *   ?probe=5000      ms before the realtime client first tries WebSocket again while on SSE (doubling…)
 *   ?maxProbe=60000  …up to this many ms
 *   ?only=realtime   show only the Realtime panel (and the fault panel): no other stream is opened
 *   ?only=orders     show only the Orders panel (and the fault panel): one realtime channel, `orders`
 *   ?window=100      ms the Orders panel's bridge gathers invalidations before it refetches (0: one frame)
 */
const params = new URLSearchParams(location.search)

const number = (name: string, fallback: number, min: number): number => {
  const value = Number(params.get(name))
  return params.has(name) && Number.isFinite(value) && value >= min ? value : fallback
}

const SHARES = { tabs: 'tabs', tab: 'tab', off: false } as const
const given = params.get('share')
const mode = given && Object.hasOwn(SHARES, given) ? (given as keyof typeof SHARES) : 'tabs'
const beat = number('beat', 0, 10)
const DEFAULT_CHANNELS = 'prices:ACME,prices:BOLT,prices:FLUX,prices:NOVA,notifications,room:lobby'

export const config = {
  idle: number('idle', 8000, 100),
  delay: number('delay', 500, 0),
  maxDelay: number('maxDelay', 5000, 0),
  pauseHidden: number('pauseHidden', 3000, 0),
  /** `?share=` as given (`tabs`, `tab` or `off`), and as the hooks take it. */
  mode,
  share: mode === 'tabs' && beat ? { heartbeat: beat } : SHARES[mode],
  /** The Realtime panel's channels, in order; duplicates and empty names left out. */
  channels: [...new Set((params.get('channels') ?? DEFAULT_CHANNELS).split(',').map((c) => c.trim()).filter(Boolean))],
  probe: params.has('probe') ? number('probe', 5000, 10) : undefined,
  maxProbe: params.has('maxProbe') ? number('maxProbe', 60_000, 10) : undefined,
  window: number('window', 0, 0),
  only: (['realtime', 'orders'] as const).find((only) => params.get('only') === only),
  name: (params.get('name') ?? '').trim().slice(0, 32) || `guest-${Math.random().toString(36).slice(2, 6)}`,
}

/** Options every stream of the demo shares. */
export const engine = { idleTimeout: config.idle, initialDelay: config.delay, maxDelay: config.maxDelay, share: config.share }

/**
 * For the SSE streams: a browser opens at most 6 HTTP/1.1 connections to one host. Shared
 * across tabs, the whole browser holds one per stream; with `?share=tab` or `off` each tab
 * holds its own, so background tabs let go of theirs (a shared stream never pauses: it
 * serves the visible tabs too).
 */
export const sse = { ...engine, pauseWhenHidden: config.pauseHidden > 0 ? config.pauseHidden : false }
