/**
 * The framework-free ticker store: every update is taken at once, the snapshot changes at
 * most once per frame and only changed rows get new objects, bad input is an error in the
 * snapshot and the rows go on, pause holds the display, the summary is throttled.
 */
import { describe, expect, it } from 'vitest'
import { createTicker } from '../../src/components/index'
import { manualFrames, manualTimers } from '../react/harness'

function setup(extra: Parameters<typeof createTicker>[0] = {}) {
  const frames = manualFrames()
  const timers = manualTimers()
  let time = 1000
  const ticker = createTicker<unknown>({ scheduleFrame: frames.scheduleFrame, timers, now: () => time, ...extra })
  let notified = 0
  ticker.subscribe(() => void notified++)
  return { ticker, frames, timers, notified: () => notified, tick: (ms: number) => void (time += ms) }
}

describe('createTicker', () => {
  it('takes a flood of updates and publishes one snapshot per frame', () => {
    const { ticker, frames, notified } = setup()
    for (let i = 0; i < 10_000; i++) ticker.onMessage({ data: { symbol: `S${i % 1000}`, value: i } })
    expect(ticker.getSnapshot().rows).toEqual([])
    expect(frames.pending).toBe(1)
    frames.flush()
    expect(notified()).toBe(1)
    const { rows } = ticker.getSnapshot()
    expect(rows).toHaveLength(1000)
    expect(rows[0]).toMatchObject({ symbol: 'S0', value: 9000, previous: 8000, change: 1000, direction: 'up', version: 10 })
    expect(frames.pending).toBe(0)
  })

  it('keeps the object of every row that did not change, and the order symbols first came in', () => {
    const { ticker, frames } = setup()
    ticker.push([
      { symbol: 'B', value: 2 },
      { symbol: 'A', value: 1 },
      { symbol: 'C', value: 3 },
    ])
    frames.flush()
    const before = ticker.getSnapshot().rows
    ticker.push({ symbol: 'A', value: 0.5 })
    frames.flush()
    const after = ticker.getSnapshot().rows
    expect(after.map((r) => r.symbol)).toEqual(['B', 'A', 'C'])
    expect(after[0]).toBe(before[0])
    expect(after[2]).toBe(before[2])
    expect(after[1]).toMatchObject({ value: 0.5, previous: 1, change: -0.5, direction: 'down', version: 2 })
  })

  it('a bad update is a parse error with the raw data; the next good one clears it and the rows go on', () => {
    const read = (d: unknown) => {
      if (d === 'boom') throw new Error('no')
      return d as never
    }
    const { ticker, frames } = setup({ read })
    ticker.push({ symbol: 'A', value: 1 })
    for (const bad of [{ symbol: 'A', value: 'x' }, { symbol: '', value: 1 }, { value: 1 }, [{ symbol: 'A', value: Infinity }], 'boom']) {
      ticker.onMessage({ data: bad })
      frames.flush()
      expect(ticker.getSnapshot().error).toMatchObject({ kind: 'parse', raw: bad })
      expect(ticker.getSnapshot().rows).toMatchObject([{ symbol: 'A', value: 1 }])
    }
    ticker.onMessage({ data: { symbol: 'A', value: 2 } })
    frames.flush()
    expect(ticker.getSnapshot()).toMatchObject({ error: null, rows: [{ symbol: 'A', value: 2 }] })
  })

  it('a read that returns nothing skips the message', () => {
    const { ticker, frames } = setup({ read: () => null })
    ticker.onMessage({ data: { symbol: 'A', value: 1 } })
    expect(frames.pending).toBe(0)
  })

  it('refuses symbols past maxRows with an overflow error, and keeps updating the ones it has', () => {
    const { ticker, frames } = setup({ maxRows: 2 })
    ticker.push([
      { symbol: 'A', value: 1 },
      { symbol: 'B', value: 1 },
      { symbol: 'C', value: 1 },
    ])
    frames.flush()
    expect(ticker.getSnapshot().rows.map((r) => r.symbol)).toEqual(['A', 'B'])
    expect(ticker.getSnapshot().error?.kind).toBe('overflow')
    ticker.push({ symbol: 'B', value: 2 })
    frames.flush()
    expect(ticker.getSnapshot()).toMatchObject({ error: null, rows: [{ value: 1 }, { value: 2 }] })
  })

  it('pause holds the display (no frame while paused); resume shows what came meanwhile at once', () => {
    const { ticker, frames, tick } = setup()
    ticker.push({ symbol: 'A', value: 1 })
    frames.flush()
    ticker.pause()
    expect(ticker.getSnapshot().paused).toBe(true)
    tick(500)
    ticker.push({ symbol: 'A', value: 2 })
    expect(frames.pending).toBe(0)
    expect(ticker.getSnapshot().rows[0]!.value).toBe(1)
    ticker.resume()
    expect(ticker.getSnapshot()).toMatchObject({ paused: false, updatedAt: 1500, rows: [{ value: 2, previous: 1 }] })
  })

  it('clear forgets every row', () => {
    const { ticker, frames } = setup()
    ticker.push({ symbol: 'A', value: 1 })
    frames.flush()
    ticker.clear()
    frames.flush()
    expect(ticker.getSnapshot()).toMatchObject({ rows: [], updatedAt: undefined })
  })

  it('the summary changes at most once per summaryInterval, with a trailing update', () => {
    const { ticker, frames, timers, tick } = setup({ summaryInterval: 10_000 })
    let summaries = 0
    const off = ticker.subscribeSummary(() => void summaries++)
    ticker.push({ symbol: 'A', value: 1 })
    frames.flush()
    expect(summaries).toBe(1)
    expect(ticker.getSummary()).toMatchObject([{ value: 1 }])
    tick(1000)
    for (let v = 2; v < 50; v++) {
      ticker.push({ symbol: 'A', value: v })
      frames.flush()
    }
    expect(summaries).toBe(1)
    expect(timers.delays()).toEqual([9000])
    tick(9000)
    timers.run(9000)
    expect(summaries).toBe(2)
    expect(ticker.getSummary()).toMatchObject([{ value: 49 }])
    off()
    ticker.push({ symbol: 'A', value: 50 })
    frames.flush()
    expect(timers.delays()).toEqual([])
  })

  it('dispose cancels the pending frame', () => {
    const { ticker, frames } = setup()
    ticker.push({ symbol: 'A', value: 1 })
    ticker.dispose()
    expect(frames.pending).toBe(0)
  })
})
