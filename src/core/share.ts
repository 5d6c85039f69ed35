import { misuse } from './errors'
import { streamKey } from './key'
import { shareAcrossTabs } from './tabs/share-across-tabs'
import type { Shareable, TabDecodeOptions, TabResume, TabShareInjectables, TabShareOptions } from './tabs/types'

declare const process: { env: Record<string, string | undefined> }

/**
 * Who shares a stream's connection:
 * - `'tabs'`: every tab of the origin (one connection per browser; see `shareAcrossTabs`);
 * - `'tab'`: the users of the stream in this tab;
 * - `false`: nobody, each user has its own;
 * - options: `'tabs'` with a namespace or heartbeat of its own.
 */
export type ShareMode = 'tabs' | 'tab' | false | TabShareOptions

/**
 * Where a stream's connection lives in a registry: one slot per stream and share mode, and
 * per user (`instance`) when nobody shares.
 */
export function shareSlot(key: string, share: ShareMode | undefined, instance: string): string {
  if (share !== undefined && share !== 'tabs' && share !== 'tab' && share !== false && (typeof share !== 'object' || !share)) {
    throw misuse('share', 'share', process.env.NODE_ENV !== 'production' && "must be 'tabs', 'tab', false or options")
  }
  return `${typeof share === 'object' ? streamKey('tabs', share) : share === false ? instance : (share ?? 'tabs')}|${key}`
}

/**
 * Makes and starts a stream's connection for its share mode. `tab.decode` is how this tab
 * reads messages another tab relays, `tab.sends` relays sends (WebSocket) (as `create`'s connection decodes its own); `create`'s
 * `shared` is true when the connection serves other tabs too. `tab`'s injectables (a
 * simulated tab's locks, channels, timers, page) apply to `'tabs'` only.
 */
export function startShared<T>(
  key: string,
  share: ShareMode | undefined,
  create: (resume: TabResume<T> | undefined, shared: boolean) => Shareable<T>,
  tab?: TabDecodeOptions<T> & TabShareInjectables,
): Shareable<T> {
  const connection =
    share === 'tab' || share === false ? create(undefined, false) : shareAcrossTabs(key, create, { ...(share === 'tabs' ? {} : share), ...tab })
  connection.connect()
  return connection
}
