/**
 * SSE parsing throughput: tabwire's parser against eventsource-parser (the library it
 * replaced to fit the 5 KB budget), on the same decoded text in the same chunks.
 * Run: npm run bench:parser
 */
import { createParser } from 'eventsource-parser'
import { test } from 'vitest'
import { createSseParser } from '../src/core/sse-parser'

function chunked(text: string, size: number): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

const quote = (i: number) => `id: ${i}\nevent: quote\ndata: {"symbol":"ACME","price":${(100 + Math.sin(i)).toFixed(4)},"seq":${i}}\n\n`
const small = Array.from({ length: 20_000 }, (_, i) => quote(i)).join('')
const large = Array.from({ length: 200 }, (_, i) => `id: ${i}\ndata: ${'x'.repeat(64 * 1024)}\n\n`).join('')

const cases = [
  ['20,000 small events, 16 KiB chunks', chunked(small, 16 * 1024)],
  ['20,000 small events, 7-char chunks', chunked(small, 7)],
  ['200 events of 64 KiB, 16 KiB chunks', chunked(large, 16 * 1024)],
] as const

const parsers = {
  'tabwire createSseParser': (chunks: readonly string[]) => {
    let n = 0
    const parser = createSseParser({ event: () => void n++, id: () => {}, retry: () => {}, oversized: () => {} }, 1 << 22)
    for (const chunk of chunks) parser.feed(chunk)
    return n
  },
  'eventsource-parser 4': (chunks: readonly string[]) => {
    let n = 0
    const parser = createParser({ onEvent: () => void n++ })
    for (const chunk of chunks) parser.feed(chunk)
    return n
  },
}

for (const [name, chunks] of cases) {
  test(name, async ({ bench }) => {
    const megabytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0) / 1e6
    const rows: Record<string, { 'MB/s': number; 'ms per run (mean)': number; events: number }> = {}
    for (const [label, parse] of Object.entries(parsers)) {
      let events = 0
      const result = await bench(label, () => void (events = parse(chunks))).run()
      rows[label] = {
        'MB/s': Math.round((megabytes / result.latency.mean) * 1000),
        'ms per run (mean)': Number(result.latency.mean.toFixed(2)),
        events,
      }
    }
    console.log(`\n${name} (${megabytes.toFixed(1)} MB of text)`)
    console.table(rows)
  })
}
