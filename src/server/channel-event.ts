/**
 * Pieces the channel endpoints share (`createWebSocketHandler`, `createRealtimeHandler`): the
 * JSON of an `event` frame, a log's head, the origin check.
 */
import type { LogEntry, AnyReplayLog } from './log.ts'

/**
 * The JSON text of the `event` frame of `entry` on `channel`: the entry's data goes out as it
 * is when it is JSON text, else as a JSON string. Throws for an entry without a string id
 * (the feed skips it with a warning).
 */
export function channelEventJson(channel: string): (entry: LogEntry) => string {
  // Framed once per channel, not per entry.
  const prefix = `{"type":"event","channel":${JSON.stringify(channel)},"id":`
  return (entry) => {
    if (typeof entry.id !== 'string') throw new TypeError('the entry has no string id')
    const event = entry.event === undefined ? '' : `,"event":${JSON.stringify(String(entry.event))}`
    return `${prefix}${JSON.stringify(entry.id)}${event},"data":${asJson(String(entry.data))}}`
  }
}

/** The log's head, if it tells one (a custom store's getter may fail: then it does not). */
export function readHead(log: AnyReplayLog): string | null {
  try {
    const head = log.head
    return typeof head === 'string' ? head : null
  } catch {
    return null
  }
}

/** Whether a request's `Origin` header is one of `origins` (a request without one is not). */
export function originAllowed(origins: readonly string[], origin: string | undefined): boolean {
  return origin !== undefined && origins.includes(origin)
}

/** The entry's data as JSON: itself when it is JSON text, else as a JSON string. */
function asJson(data: string): string {
  try {
    // Parsed only to check it: the text goes out as it is, never stringified again, so
    // data too deeply nested for JSON.stringify cannot throw here.
    JSON.parse(data)
    return data
  } catch {
    return JSON.stringify(data)
  }
}
