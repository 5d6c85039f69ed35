/** What the parser reports. */
export interface SseParserHandlers {
  /** A dispatched event; `id` is the stream's last event id string at that point. */
  event(type: string, data: string, id: string): void
  /** The last event id string changed (set at a blank line, with or without data). */
  id(id: string): void
  /** A valid `retry:` field, in ms. */
  retry(ms: number): void
  /** A comment line (`:` first): a heartbeat, proof of life. */
  comment?(): void
  /**
   * An event passed the size limit and was skipped. Called once, at the event's end (its
   * blank line), after `id` if the event moved the last event id; `id` is the last event id
   * string then, as `event` would have had it.
   */
  oversized(id: string): void
}

/** Fields whose value matters to an event: losing one (a line too long) loses the event. */
const EVENT_FIELDS = new Set(['data', 'event', 'id'])

/**
 * A streaming parser for `text/event-stream`, exactly as the WHATWG HTML spec reads one:
 * lines end in CRLF, LF or CR (a CR at a chunk's end may be half of a CRLF), `:` starts a
 * comment, one space after the colon is dropped, `id` with NULL is ignored, `retry` takes
 * ASCII digits only, the type defaults to `message`, and an event with no final blank line
 * is never dispatched. It takes decoded text: the UTF-8 decoder (TextDecoder) strips the
 * one leading BOM, as the spec's "UTF-8 decode" does, so the parser does not.
 *
 * Memory is bounded: it never holds more than `maxSize` characters of an event (its data
 * and the line being read). An event that would pass that is skipped, not the stream: its
 * data is dropped, the rest of it is read without buffering up to its blank line, its `id:`
 * and `retry:` still count (the last event id moves past it, so a resuming server does
 * not send it again) and `oversized` reports it. A line longer than `maxSize` is
 * discarded to its end; if it was a `data`, `event` or `id` line, its event is skipped.
 * Comments are never buffered. Work is linear in the input however the chunks fall.
 *
 * @param lastId - the last event id string so far: it survives reconnections (spec).
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export function createSseParser(handlers: SseParserHandlers, maxSize: number, lastId = '') {
  let pending = ''
  let skipLF = false
  let data: string | undefined
  let type = ''
  let idBuffer = lastId
  /** The current event passed the limit: its data is not kept, its end reports it. */
  let skipping = false
  /** The rest of the current line is dropped as it comes; `'comment'` reports one at its end. */
  let discarding: false | 'line' | 'comment' = false

  const skip = () => {
    skipping = true
    data = undefined
  }

  /**
   * Whether the line `text` (whole, or its beginning so far) must be discarded. The same
   * answer for a line's beginning as for all of it, so chunk boundaries never matter.
   */
  const tooLong = (text: string) => {
    if (text.length + (data?.length ?? 0) <= maxSize) return false
    // With this line, the event's buffered text passes the limit.
    if (data !== undefined) skip()
    if (text.length <= maxSize) return false
    const colon = text.indexOf(':')
    if (colon !== -1 && EVENT_FIELDS.has(text.slice(0, colon))) skip()
    return true
  }

  const line = (text: string) => {
    if (text === '') {
      // Blank line: dispatch. The last event id updates even when there is no data.
      if (idBuffer !== lastId) handlers.id((lastId = idBuffer))
      if (skipping) handlers.oversized(lastId)
      else if (data !== undefined) handlers.event(type || 'message', data, lastId)
      data = undefined
      type = ''
      skipping = false
      return
    }
    const colon = text.indexOf(':')
    if (colon === 0) return handlers.comment?.()
    if (tooLong(text)) return
    const field = colon === -1 ? text : text.slice(0, colon)
    const value = colon === -1 ? '' : text.slice(text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1)
    if (field === 'data') {
      // Lines join with LF; a one-line event keeps its value as it is (no copy).
      if (!skipping) data = data === undefined ? value : `${data}\n${value}`
    } else if (field === 'event') type = value
    else if (field === 'id') {
      if (!value.includes('\0')) idBuffer = value
    } else if (field === 'retry' && /^\d+$/.test(value)) handlers.retry(Number(value))
  }

  return {
    feed(chunk: string) {
      const n = chunk.length
      let i = 0
      if (skipLF && n > 0) {
        skipLF = false
        if (chunk.charCodeAt(0) === 10) i = 1
      }
      // Next CR and LF positions, found once and reused: -1 means none left in this chunk.
      let cr = -2
      let lf = -2
      while (i < n) {
        if (cr !== -1 && cr < i) cr = chunk.indexOf('\r', i)
        if (lf !== -1 && lf < i) lf = chunk.indexOf('\n', i)
        const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf)
        if (end === -1) break
        const text = discarding ? '' : pending + chunk.slice(i, end)
        const dropped = discarding
        pending = ''
        discarding = false
        i = end + 1
        if (end === cr) {
          if (i === n) skipLF = true
          else if (chunk.charCodeAt(i) === 10) i++
        }
        if (dropped === 'comment') handlers.comment?.()
        else if (!dropped) line(text)
      }
      if (i < n && !discarding) {
        // Appending keeps a rope in V8; only a completed line is flattened, so a long line
        // split into many small chunks costs linear time. (So only a line's first piece is
        // read here: reading a rope's characters would flatten it.)
        if (pending === '' && chunk.charCodeAt(i) === 58) discarding = 'comment'
        else if (tooLong((pending += chunk.slice(i)))) {
          discarding = 'line'
          pending = ''
        }
      }
    },
    /** How many characters the parser holds now (never more than `maxSize`). */
    buffered: () => pending.length + (data?.length ?? 0),
  }
}
