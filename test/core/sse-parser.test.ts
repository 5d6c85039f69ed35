import { createParser } from 'eventsource-parser'
import { describe, expect, it } from 'vitest'
import { createSseParser } from '../../src/core/sse-parser'

type Out = (string | [string, string, string] | number)[]

/** Runs the parser over byte chunks as the fetch transport does (TextDecoder, stream: true). */
function parseBytes(chunks: Uint8Array[], lastId = '', maxSize = 1 << 20) {
  const out: Out = []
  const ids: string[] = []
  const parser = createSseParser(
    {
      event: (type, data, id) => out.push([type, data, id]),
      id: (id) => ids.push(id),
      retry: (ms) => out.push(ms),
      comment: () => out.push('comment'),
      oversized: (id) => out.push(`oversized:${id}`),
    },
    maxSize,
    lastId,
  )
  const decoder = new TextDecoder()
  let held = 0
  for (const chunk of chunks) {
    parser.feed(decoder.decode(chunk, { stream: true }))
    held = Math.max(held, parser.buffered())
  }
  return { out, ids, held }
}

const bytes = (text: string) => new TextEncoder().encode(text)
const parse = (text: string, lastId?: string) => parseBytes([bytes(text)], lastId)

/** Splits bytes at random places (also inside CRLF pairs and multi-byte characters). */
function randomSplit(data: Uint8Array, random: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = []
  let i = 0
  while (i < data.length) {
    const size = 1 + Math.floor(random() * 7)
    chunks.push(data.slice(i, i + size))
    i += size
  }
  return chunks
}

/** A small seeded generator (mulberry32), so failures reproduce. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('sse parser: the spec cases', () => {
  it('dispatches on a blank line, with type message by default', () => {
    expect(parse('data: hello\n\n').out).toEqual([['message', 'hello', '']])
  })

  it('joins data lines with LF and drops only the final LF', () => {
    expect(parse('data: a\ndata:\ndata:  b\n\n').out).toEqual([['message', 'a\n\n b', '']])
  })

  it('accepts CRLF, LF and CR line ends, mixed', () => {
    expect(parse('data: a\r\ndata: b\rdata: c\n\r\n').out).toEqual([['message', 'a\nb\nc', '']])
    expect(parse('event: x\rdata: 1\r\r').out).toEqual([['x', '1', '']])
  })

  it('removes one space after the colon, not more, and none when absent', () => {
    expect(parse('data:x\n\ndata:  x\n\n').out).toEqual([
      ['message', 'x', ''],
      ['message', ' x', ''],
    ])
  })

  it('a field with no colon has an empty value', () => {
    expect(parse('data\n\n').out).toEqual([['message', '', '']])
    expect(parse('data\ndata\n\n').out).toEqual([['message', '\n', '']])
  })

  it('does not dispatch an event without data, but resets the type', () => {
    expect(parse('event: x\n\ndata: y\n\n').out).toEqual([['message', 'y', '']])
  })

  it('reports comments and ignores unknown fields', () => {
    expect(parse(': heartbeat\nfoo: bar\ndata: 1\n\n').out).toEqual(['comment', ['message', '1', '']])
  })

  it('keeps the last event id across events, and updates it on a blank line even without data', () => {
    const { out, ids } = parse('id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid\ndata: d\n\n')
    expect(out).toEqual([
      ['message', 'a', '1'],
      ['message', 'b', '1'],
      ['message', 'c', '2'],
      ['message', 'd', ''],
    ])
    expect(ids).toEqual(['1', '2', ''])
  })

  it('ignores an id that contains NULL', () => {
    expect(parse('id: 7\n\nid: a\0b\ndata: x\n\n').out).toEqual([['message', 'x', '7']])
  })

  it('starts from the last event id of an earlier connection', () => {
    const { out, ids } = parse('data: x\n\n', '41')
    expect(out).toEqual([['message', 'x', '41']])
    expect(ids).toEqual([])
  })

  it('takes retry with ASCII digits only', () => {
    expect(parse('retry: 1500\nretry: 1.5\nretry: -1\nretry: 20a\nretry:\nretry: ٣\n\n').out).toEqual([1500])
  })

  it('never dispatches an unterminated final event', () => {
    expect(parse('data: a\n\ndata: b\n').out).toEqual([['message', 'a', '']])
    expect(parse('data: a').out).toEqual([])
  })

  it('strips one leading BOM (the decoder does it), and only one', () => {
    const bom = [0xef, 0xbb, 0xbf]
    const body = [...bytes('data: x\n\n')]
    expect(parseBytes([new Uint8Array([...bom, ...body])]).out).toEqual([['message', 'x', '']])
    // A second BOM is part of the first field's name, which is then unknown.
    expect(parseBytes([new Uint8Array([...bom, ...bom, ...body])]).out).toEqual([])
    // A BOM split across chunks is still one BOM.
    expect(parseBytes([new Uint8Array(bom.slice(0, 1)), new Uint8Array([...bom.slice(1), ...body])]).out).toEqual([
      ['message', 'x', ''],
    ])
  })

  it('reads "ï»¿" text at the start as text, not as a BOM (eventsource-parser strips it)', () => {
    // U+00EF U+00BB U+00BF encoded in UTF-8 is not a BOM; the line's field name is unknown.
    expect(parse('\u00ef\u00bb\u00bfdata: x\n\ndata: y\n\n').out).toEqual([['message', 'y', '']])
    const theirs: string[] = []
    createParser({ onEvent: (e) => theirs.push(e.data) }).feed('\u00ef\u00bb\u00bfdata: x\n\ndata: y\n\n')
    expect(theirs).toEqual(['x', 'y'])
  })

  it('handles a CR at the end of a chunk followed by LF in the next as one line end', () => {
    expect(parseBytes([bytes('data: a\r'), bytes('\ndata: b\r'), bytes('\n\r\n')]).out).toEqual([['message', 'a\nb', '']])
    // ...and a lone CR at a chunk end followed by a blank-line CR is two line ends.
    expect(parseBytes([bytes('data: a\r'), bytes('\r')]).out).toEqual([['message', 'a', '']])
  })

  it('joins a multi-byte character split across chunks', () => {
    const text = bytes('data: 日本🎉\n\n')
    expect(parseBytes([text.slice(0, 8), text.slice(8, 13), text.slice(13)]).out).toEqual([['message', '日本🎉', '']])
  })
})

/** Random streams of short lines, every field, comment and line end mixed. */
const pieces = ['data', 'event', 'id', 'retry', 'foo', '', ':']
const values = ['', ' ', 'x', ' hi', 'a:b', '12', ' 3000', 'é', '日本', '🎉', 'n\0l', 'ping']
const ends = ['\n', '\r', '\r\n']

function randomStream(random: () => number): string {
  const pick = <T,>(list: readonly T[]) => list[Math.floor(random() * list.length)]!
  let text = ''
  for (let i = 0; i < 40; i++) {
    const name = pick(pieces)
    text += (random() < 0.1 ? name : `${name}:${pick(values)}`) + pick(ends)
    if (random() < 0.25) text += pick(ends)
  }
  return text
}

/** The same facts from eventsource-parser: data, type, and the id in force. */
function reference(text: string) {
  const out: Out = []
  let lastId = ''
  const parser = createParser({
    onEvent: (e) => out.push([e.event ?? 'message', e.data, lastId]),
    onId: (id) => void (lastId = id),
    onRetry: (ms) => out.push(ms),
    onComment: () => out.push('comment'),
  })
  parser.feed(text)
  return out
}

describe('sse parser: events and lines past maxSize are skipped, not the stream', () => {
  const x = (n: number) => 'x'.repeat(n)
  // maxSize 20 throughout. [name, stream, what comes out, the last event ids set]
  const cases: [string, string, Out, string[]][] = [
    ['one data line too long: skipped, its id counts', `id: 1\ndata: ${x(30)}\n\ndata: next\n\n`, ['oversized:1', ['message', 'next', '1']], ['1']],
    ['an id after the data still counts', `data: ${x(30)}\nid: 7\n\ndata: b\n\n`, ['oversized:7', ['message', 'b', '7']], ['7']],
    ['lines that add up past the limit', `id: 2\ndata: 0123456789\ndata: 0123456789\n\ndata: ok\n\n`, ['oversized:2', ['message', 'ok', '2']], ['2']],
    ['an event without an id reports the id in force', `data: ${x(30)}\n\n`, ['oversized:9'], []],
    ['a retry inside a skipped event still counts', `data: ${x(30)}\nretry: 500\n\n`, [500, 'oversized:9'], []],
    ['the type of a skipped event does not leak into the next', `event: big\ndata: ${x(30)}\n\ndata: a\n\n`, ['oversized:9', ['message', 'a', '9']], []],
    ['an event line too long skips its event', `event: ${x(30)}\ndata: a\n\ndata: b\n\n`, ['oversized:9', ['message', 'b', '9']], []],
    ['an id line too long skips its event, and the id is not taken', `id: ${x(30)}\ndata: a\n\nid: 3\ndata: b\n\n`, ['oversized:9', ['message', 'b', '3']], ['3']],
    ['a comment too long is only a comment', `: ${x(50)}\ndata: a\n\n`, ['comment', ['message', 'a', '9']], []],
    ['an unknown field too long is ignored, as any unknown field', `foo: ${x(50)}\ndata: a\n\n`, [['message', 'a', '9']], []],
    ['a field name too long is ignored', `${x(50)}: y\ndata: a\n\n`, [['message', 'a', '9']], []],
    ['exactly maxSize is kept', `data: ${x(14)}\n\n`, [['message', x(14), '9']], []],
    ['an oversized event never ended is never reported', `data: ${x(30)}\ndata: a\n`, [], []],
    ['CR and CRLF line ends too', `data: ${x(30)}\r\rid: 4\r\ndata: c\r\n\r\n`, ['oversized:9', ['message', 'c', '4']], ['4']],
  ]

  it.each(cases)('%s', (_name, text, out, ids) => {
    // Whole, and one byte at a time: chunk boundaries must not change the answer.
    const whole = parseBytes([bytes(text)], '9', 20)
    expect(whole.out).toEqual(out)
    expect(whole.ids).toEqual(ids)
    const bytewise = parseBytes([...bytes(text)].map((b) => new Uint8Array([b])), '9', 20)
    expect(bytewise.out).toEqual(out)
    expect(bytewise.ids).toEqual(ids)
    expect(bytewise.held).toBeLessThanOrEqual(20)
  })

  it('never holds more than maxSize characters, however long a line or event', () => {
    const chunks = [bytes('id: 5\ndata: '), ...Array.from({ length: 2000 }, () => bytes(x(50))), bytes('\ndata: '), bytes(x(500)), bytes('\n\ndata: after\n\n')]
    const { out, ids, held } = parseBytes(chunks, '', 1000)
    expect(out).toEqual(['oversized:5', ['message', 'after', '5']])
    expect(ids).toEqual(['5'])
    expect(held).toBeLessThanOrEqual(1000)
    const comment = parseBytes([bytes(':'), ...Array.from({ length: 100 }, () => bytes(x(50))), bytes('\ndata: a\n\n')], '', 1000)
    expect(comment.out).toEqual(['comment', ['message', 'a', '']])
    expect(comment.held).toBe(0)
    // Once an event is skipped, its later data lines are not kept either.
    const parser = createSseParser({ event() {}, id() {}, retry() {}, oversized() {} }, 1000)
    parser.feed(`data: ${x(1500)}\ndata: small\n`)
    expect(parser.buffered()).toBe(0)
  })

  it('keeps what a spec parser gives, less the events past the limit (500 seeded streams)', () => {
    const maxSize = 16
    for (let seed = 1; seed <= 500; seed++) {
      const random = seeded(seed)
      // Lines here are at most 12 characters, so only whole events pass the limit.
      const text = randomStream(random)
      const ours = parseBytes(randomSplit(bytes(text), random), '', maxSize).out
      const theirs = reference(text)
      expect({ seed, length: ours.length }).toEqual({ seed, length: theirs.length })
      theirs.forEach((entry, i) => {
        const mine = ours[i]
        if (typeof mine === 'string' && mine.startsWith('oversized:')) {
          const [, data, id] = entry as [string, string, string]
          expect({ seed, id: mine.slice(10) }).toEqual({ seed, id })
          // Skipped only when the event's data and one of its lines passed the limit.
          expect(data.length).toBeGreaterThan(maxSize - 12)
        } else {
          expect({ seed, entry: mine }).toEqual({ seed, entry })
          if (Array.isArray(entry)) expect(entry[1].length).toBeLessThanOrEqual(maxSize)
        }
      })
    }
  })
})

describe('sse parser: random streams against eventsource-parser', () => {
  it('agrees on 500 seeded streams split at random byte boundaries', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const random = seeded(seed)
      const text = randomStream(random)
      const ours = parseBytes(randomSplit(bytes(text), random)).out
      expect({ seed, out: ours }).toEqual({ seed, out: reference(text) })
    }
  })

  it('gives the same events however a stream is split', () => {
    const random = seeded(99)
    const text = randomStream(random)
    const whole = parse(text).out
    for (let i = 0; i < 50; i++) expect(parseBytes(randomSplit(bytes(text), random)).out).toEqual(whole)
  })

  it('is linear for a long line in tiny chunks', () => {
    const chunks = Array.from({ length: 20_000 }, () => bytes('x'.repeat(50)))
    const started = performance.now()
    const { out } = parseBytes([bytes('data: '), ...chunks, bytes('\n\n')], '', 2_000_000)
    expect(out).toHaveLength(1)
    expect((out[0] as string[])[1]).toHaveLength(1_000_000)
    // Quadratic joining would take seconds here; linear work takes milliseconds.
    expect(performance.now() - started).toBeLessThan(2000)
  })
})
