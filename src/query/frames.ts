import type { QueryKey } from '@tanstack/react-query'
import type { RealtimeMessage } from '../core/connection-types'
import { RealtimeError } from '../core/errors'

/**
 * What a server sends to make queries stale, with no client code: `{ type: 'invalidate',
 * queryKey }` (one key, an array) or `{ type: 'invalidate', queryKeys }` (several).
 */
export type InvalidateFrame = { type: 'invalidate'; queryKey: QueryKey } | { type: 'invalidate'; queryKeys: readonly QueryKey[] }

/**
 * Reads an {@link InvalidateFrame} from a message (its data, or its data as JSON text) and
 * returns its keys. Anything else throws a `protocol` {@link RealtimeError} (the bridge
 * passes it to `onError`; the stream goes on). Use it as the bridge's `invalidate`.
 * @example createQueryBridge(queryClient, { invalidate: invalidateFrameKeys })
 */
export function invalidateFrameKeys(message: RealtimeMessage<unknown>): readonly QueryKey[] {
  let frame = message.data
  if (typeof frame === 'string') {
    try {
      frame = JSON.parse(frame)
    } catch {
      throw bad(message, 'not JSON')
    }
  }
  if (typeof frame !== 'object' || frame === null || (frame as { type?: unknown }).type !== 'invalidate') throw bad(message, "not { type: 'invalidate' }")
  const { queryKey, queryKeys } = frame as { queryKey?: unknown; queryKeys?: unknown }
  const keys = queryKeys === undefined ? [queryKey] : queryKeys
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(Array.isArray)) throw bad(message, 'queryKey must be an array (queryKeys an array of arrays)')
  return keys as QueryKey[]
}

const bad = (message: RealtimeMessage<unknown>, why: string) =>
  new RealtimeError('protocol', `bad invalidate frame: ${why}`, { raw: message.raw, id: message.id })
