import { createDecoder, type DecodeOptions } from './decode'
import { misuse } from './errors'
import { streamKey } from './key'
import { shareAcrossTabs } from './tabs'
import type { Shareable, TabRelay, TabResume, TabShareOptions } from './tab-types'

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
    throw misuse('share', "must be 'tabs', 'tab', false or options")
  }
  return `${typeof share === 'object' ? streamKey('tabs', share) : share === false ? instance : (share ?? 'tabs')}|${key}`
}

/**
 * Makes and starts a stream's connection for its share mode. `decoding` is how this tab
 * decodes messages another tab relays (as `create`'s connection decodes its own).
 */
export function startShared<T>(
  key: string,
  share: ShareMode | undefined,
  create: (resume: TabResume<T> | undefined, relay: TabRelay | undefined) => Shareable<T>,
  decoding: DecodeOptions<T> = {},
): Shareable<T> {
  const connection =
    share === 'tab' || share === false
      ? create(undefined, undefined)
      : shareAcrossTabs(key, create, { ...(share === 'tabs' ? {} : share), decode: createDecoder(decoding) })
  connection.connect()
  return connection
}
