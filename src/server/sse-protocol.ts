/**
 * The SSE side of the protocol apart from any socket: where the resume id is read, the
 * first bytes, the `reset` event, the heartbeat. `createSseHandler`, the realtime SSE
 * transport and the MSW mocks of `tabwire/testing` all call these. Browser-safe.
 */
import { formatEvent } from './format.ts'
import type { LogEntry, Replay } from './log.ts'

/** The response headers of every stream (a handler's extra headers come first). */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const

/** The comment sent to a stream with nothing waiting, so clients and proxies see it alive. */
export const SSE_HEARTBEAT = ': heartbeat\n\n'

/** The first bytes of a stream: the reconnection time hint. */
export const retryField = (retry: number) => `retry: ${retry}\n\n`

/**
 * The resume id of a request: its `Last-Event-ID` header, else the query parameter `param`
 * of `target` (a path with its query, or a whole url without a fragment); null when there is neither.
 */
export function resumeId(header: string | readonly string[] | null | undefined, target: string, param: string): string | null {
  if (header !== undefined && header !== null) return typeof header === 'string' ? header : (header[0] ?? null)
  const query = target.indexOf('?')
  return query < 0 ? null : new URLSearchParams(target.slice(query + 1)).get(param)
}

/**
 * What a stream starts with once `since` answered: a `reset` event when continuity broke
 * (data `{ "epoch", "reason" }`, id the log's head, so the client goes on from there), else nothing.
 */
export function sseStart(epoch: string, replay: Replay): string | undefined {
  if (!('reset' in replay)) return undefined
  return formatEvent({ event: 'reset', id: replay.head, data: JSON.stringify({ epoch, reason: replay.reset }) })
}

/** A log entry as an event: its id, its type and its data. Throws for an entry `formatEvent` refuses. */
export const entryEvent = (entry: LogEntry) => formatEvent({ id: entry.id, event: entry.event, data: entry.data })
