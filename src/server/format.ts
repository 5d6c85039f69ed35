/** One SSE event to write. */
export interface SseEvent {
  /** The payload; every line gets its own `data:` field. */
  data: string
  /** The event type; must not contain a line break. */
  event?: string | undefined
  /** The event id; must not contain a line break or NULL. */
  id?: string | undefined
  /** A reconnection time hint in ms. */
  retry?: number | undefined
}

/**
 * Frames one event as `text/event-stream`. Multi-line data is split into one `data:` line
 * per line (CR, LF and CRLF all count), so it cannot smuggle in other fields. An event
 * type or id with a line break (or an id with NULL) is refused with an error, never written.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export function formatEvent({ data, event, id, retry }: SseEvent): string {
  if (event !== undefined && /[\r\n]/.test(event)) throw new TypeError('[tabwire/server] formatEvent: the event type must not contain a line break')
  if (id !== undefined && /[\r\n\0]/.test(id)) throw new TypeError('[tabwire/server] formatEvent: the id must not contain a line break or NULL')
  if (retry !== undefined && !(Number.isInteger(retry) && retry >= 0)) throw new TypeError('[tabwire/server] formatEvent: retry must be a whole number of ms')
  let out = ''
  if (retry !== undefined) out += `retry: ${retry}\n`
  if (id !== undefined) out += `id: ${id}\n`
  if (event !== undefined) out += `event: ${event}\n`
  for (const line of String(data).split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return out + '\n'
}
