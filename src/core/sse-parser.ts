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
  /** The pending line or event grew past the size limit; the parser stops. */
  overflow(): void
}

/**
 * A streaming parser for `text/event-stream`, exactly as the WHATWG HTML spec reads one:
 * lines end in CRLF, LF or CR (a CR at a chunk's end may be half of a CRLF), `:` starts a
 * comment, one space after the colon is dropped, `id` with NULL is ignored, `retry` takes
 * ASCII digits only, the type defaults to `message`, and an event with no final blank line
 * is never dispatched. It takes decoded text: the UTF-8 decoder (TextDecoder) strips the
 * one leading BOM, as the spec's "UTF-8 decode" does, so the parser does not.
 *
 * Memory is bounded: a line or event longer than `maxSize` characters calls `overflow`.
 * Work is linear in the input however the chunks fall.
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
  let stopped = false

  const overflow = () => {
    stopped = true
    handlers.overflow()
  }

  const line = (text: string) => {
    if (text === '') {
      // Blank line: dispatch. The last event id updates even when there is no data.
      if (idBuffer !== lastId) handlers.id((lastId = idBuffer))
      if (data !== undefined) handlers.event(type || 'message', data, lastId)
      data = undefined
      type = ''
      return
    }
    const colon = text.indexOf(':')
    if (colon === 0) return handlers.comment?.()
    const field = colon === -1 ? text : text.slice(0, colon)
    const value = colon === -1 ? '' : text.slice(text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1)
    if (field === 'data') {
      // Lines join with LF; a one-line event keeps its value as it is (no copy).
      data = data === undefined ? value : `${data}\n${value}`
      if (data.length > maxSize) overflow()
    } else if (field === 'event') type = value
    else if (field === 'id') {
      if (!value.includes('\0')) idBuffer = value
    } else if (field === 'retry' && /^\d+$/.test(value)) handlers.retry(Number(value))
  }

  return {
    feed(chunk: string) {
      if (stopped) return
      const n = chunk.length
      let i = 0
      if (skipLF && n > 0) {
        skipLF = false
        if (chunk.charCodeAt(0) === 10) i = 1
      }
      // Next CR and LF positions, found once and reused: -1 means none left in this chunk.
      let cr = -2
      let lf = -2
      while (i < n && !stopped) {
        if (cr !== -1 && cr < i) cr = chunk.indexOf('\r', i)
        if (lf !== -1 && lf < i) lf = chunk.indexOf('\n', i)
        const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf)
        if (end === -1) break
        const text = pending + chunk.slice(i, end)
        pending = ''
        i = end + 1
        if (end === cr) {
          if (i === n) skipLF = true
          else if (chunk.charCodeAt(i) === 10) i++
        }
        line(text)
      }
      if (i < n && !stopped) {
        // Appending keeps a rope in V8; only a completed line is flattened, so a long line
        // split into many small chunks costs linear time.
        pending += chunk.slice(i)
        if (pending.length + (data?.length ?? 0) > maxSize) overflow()
      }
    },
  }
}
