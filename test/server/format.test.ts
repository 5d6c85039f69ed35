import { describe, expect, it } from 'vitest'
import { createSseParser } from '../../src/core/sse-parser'
import { formatEvent, type SseEvent } from '../../src/server/format'

interface Parsed {
  events: { type: string; data: string; id: string }[]
  retries: number[]
}

/** Reads framed text back with the project's own spec-exact parser, in chunks of `size`. */
function parse(text: string, size = text.length || 1): Parsed {
  const out: Parsed = { events: [], retries: [] }
  const parser = createSseParser(
    {
      event: (type, data, id) => out.events.push({ type, data, id }),
      id: () => {},
      retry: (ms) => out.retries.push(ms),
      oversized: () => {
        throw new Error('oversized')
      },
    },
    1 << 20,
  )
  for (let i = 0; i < text.length; i += size) parser.feed(text.slice(i, i + size))
  return out
}

/** What a client must see for `data`: every line break (CR, LF, CRLF) becomes LF. */
const normalized = (data: string) => data.split(/\r\n|\r|\n/).join('\n')

describe('formatEvent: framing', () => {
  it('writes retry, id, event, then one data line per line, then a blank line', () => {
    expect(formatEvent({ retry: 10, id: 'e.1', event: 'quote', data: 'a\nb' })).toBe('retry: 10\nid: e.1\nevent: quote\ndata: a\ndata: b\n\n')
    expect(formatEvent({ data: 'x' })).toBe('data: x\n\n')
  })

  it('gives every line of multi-line data its own data: field, for LF, CR and CRLF alike', () => {
    for (const data of ['a\nb', 'a\rb', 'a\r\nb', 'a\n\rb', 'a\r\rb']) {
      const text = formatEvent({ data })
      const lines = text.slice(0, -2).split('\n')
      expect(lines.every((line) => line.startsWith('data: ')), JSON.stringify(data)).toBe(true)
      expect(text.replace(/\n/g, ''), 'no CR is ever written').not.toMatch(/\r/)
    }
    expect(formatEvent({ data: 'a\r\nb' })).toBe('data: a\ndata: b\n\n')
    expect(formatEvent({ data: 'a\n\rb' })).toBe('data: a\ndata: \ndata: b\n\n')
  })

  const cases: [string, SseEvent][] = [
    ['single line', { data: 'hello' }],
    ['empty data', { data: '' }],
    ['LF', { data: 'one\ntwo\nthree' }],
    ['CR', { data: 'one\rtwo\rthree' }],
    ['CRLF', { data: 'one\r\ntwo\r\nthree' }],
    ['mixed and blank lines', { data: 'a\r\n\r\nb\rc\n\nd' }],
    ['leading and trailing line breaks', { data: '\nmiddle\n' }],
    ['only line breaks', { data: '\r\n\r\n' }],
    ['leading spaces kept', { data: '  indented\n\tand tabbed' }],
    ['text that looks like fields', { data: 'x\n\nevent: evil\nid: evil\nretry: 1\ndata: smuggled\n: comment' }],
    ['colons', { data: ':::\ndata:data:' }],
    ['unicode', { data: 'π ≈ 3.14\n日本語\r\n😀' }],
    ['JSON', { data: JSON.stringify({ text: 'line1\nline2', n: [1, 2] }, null, 2) }],
    ['with id and type', { data: 'a\nb', id: 'ep.42', event: 'quote' }],
    ['id and type with spaces', { data: 'x', id: ' spaced id ', event: ' odd type ' }],
    ['NULL in data', { data: 'a\0b' }],
  ]

  it.each(cases)('round-trips through createSseParser: %s', (_name, event) => {
    const text = formatEvent(event)
    const expected = [{ type: event.event || 'message', data: normalized(event.data), id: event.id ?? '' }]
    expect(parse(text).events).toEqual(expected)
    // However the bytes fall into chunks (also between a CR and its LF, were there any).
    expect(parse(text, 1).events).toEqual(expected)
    expect(parse(text, 3).events).toEqual(expected)
  })

  it('frames several events that parse back as separate events, in order', () => {
    const text = [
      formatEvent({ id: 'e.1', data: 'first\nevent' }),
      formatEvent({ id: 'e.2', event: 'other', data: 'second\r' }),
      formatEvent({ id: 'e.3', data: '' }),
    ].join('')
    expect(parse(text).events).toEqual([
      { type: 'message', data: 'first\nevent', id: 'e.1' },
      { type: 'other', data: 'second\n', id: 'e.2' },
      { type: 'message', data: '', id: 'e.3' },
    ])
  })
})

describe('formatEvent: refuses fields that would break the framing', () => {
  it.each(['a\nb', 'a\rb', 'a\r\nb', '\n', 'quote\n\ndata: injected'])('rejects the event type %j', (event) => {
    expect(() => formatEvent({ event, data: 'x' })).toThrow(TypeError)
    expect(() => formatEvent({ event, data: 'x' })).toThrow(/event type/)
  })

  it.each(['a\nb', 'a\rb', 'a\r\nb', 'e.1\n', 'e.1\0', '\0'])('rejects the id %j', (id) => {
    expect(() => formatEvent({ id, data: 'x' })).toThrow(TypeError)
    expect(() => formatEvent({ id, data: 'x' })).toThrow(/id/)
  })

  it('a NULL in an event type cannot smuggle anything: it reaches the client unchanged', () => {
    // The spec ignores an id containing NULL (so such an id is refused), but an event type
    // with NULL is dispatched as it is: nothing is lost or injected.
    expect(parse(formatEvent({ event: 'a\0b', data: 'x' })).events).toEqual([{ type: 'a\0b', data: 'x', id: '' }])
  })
})

describe('formatEvent: retry', () => {
  it.each([0, 1, 2000, 3_600_000])('writes retry %i, which the parser reads back', (retry) => {
    const text = formatEvent({ retry, data: 'x' })
    expect(text.startsWith(`retry: ${retry}\n`)).toBe(true)
    expect(parse(text)).toEqual({ events: [{ type: 'message', data: 'x', id: '' }], retries: [retry] })
  })

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects retry %d', (retry) => {
    expect(() => formatEvent({ retry, data: 'x' })).toThrow(/retry/)
  })
})
