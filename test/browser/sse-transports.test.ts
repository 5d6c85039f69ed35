/**
 * Both SSE transports against a real loopback server (test/fixtures/sse-server.ts), in
 * real Chromium: resume after a cut mid-event, HTTP errors, a silent socket or a hung
 * request (idle timeout), heartbeats as liveness, and Playwright's real offline mode.
 */
import { describe, expect, it } from 'vitest'
import { createEventSource } from '../../src/core/event-source'
import type { StreamRequest, StreamStats } from '../fixtures/sse-server'
import { control, expectExactSequence, received, record, stats, streamUrl, uniqueName, watch, whileOffline } from './helpers'

type Transport = 'fetch' | 'eventsource'

/** Small backoff so retries happen within tens of ms. */
const FAST = { initialDelay: 50, maxDelay: 200 } as const

/**
 * How each request asked to resume. The fetch transport sends the `Last-Event-ID` header;
 * the native EventSource cannot, so the engine puts the id in the `lastEventId` query
 * parameter (and a fresh EventSource sends no header of its own).
 */
function resumes(s: StreamStats): { header: string | null; query: string | null }[] {
  return s.requests.map(({ header, query }) => ({ header, query }))
}
const resumeAt = (transport: Transport, id: string | null) =>
  transport === 'fetch' ? { header: id, query: null } : { header: null, query: id }

describe.each<Transport>(['fetch', 'eventsource'])('transport %s in Chromium', (transport) => {
  const open = (name: string, params: Record<string, number> = {}, options: { idleTimeout?: number } = {}) =>
    createEventSource<{ seq: number }>(streamUrl(name, { interval: 10, ...params }), {
      transport,
      json: true,
      ...FAST,
      ...options,
    })

  it('resumes after the server cuts the stream mid-event: every id once, in order', async () => {
    const name = uniqueName(`cut-${transport}`)
    const connection = open(name)
    const rec = record(connection)
    connection.connect()
    await received(rec, 5)

    const first = await control<{ cut: number[] }>(name, 'cut')
    expect(first.cut).toHaveLength(1)
    const cut1 = first.cut[0]!
    await received(rec, cut1 + 5)

    const second = await control<{ cut: number[] }>(name, 'cut')
    expect(second.cut).toHaveLength(1)
    const cut2 = second.cut[0]!
    await received(rec, cut2 + 5)
    connection.close()

    // The half-sent events (cut1, cut2) were never delivered half; they came once, whole,
    // on the next connection.
    expectExactSequence(rec, cut2 + 5)
    expect(rec.steps).toEqual([
      'idle:-',
      'connecting:-',
      'open:-',
      'reconnecting:network',
      'open:-',
      'reconnecting:network',
      'open:-',
      'closed:-',
    ])
    expect(rec.errors.map((e) => e.kind)).toEqual(['network', 'network'])

    const s = await stats(name)
    expect(s.requests.map((r) => r.status)).toEqual([200, 200, 200])
    expect(resumes(s)).toEqual([
      resumeAt(transport, null),
      resumeAt(transport, String(cut1 - 1)),
      resumeAt(transport, String(cut2 - 1)),
    ])
    expect(s.requests.map((r) => r.from)).toEqual([1, cut1, cut2])
  })

  it(`goes connecting → reconnecting (${transport === 'fetch' ? 'http' : 'network'}) → open on 500, 500, then 200`, async () => {
    const name = uniqueName(`http500-${transport}`)
    await control(name, 'fail-next', { status: 500, count: 2 })
    const connection = open(name)
    const rec = record(connection)
    connection.connect()
    await received(rec, 5)

    // The native API never sees the status: Chromium only reports a bare `error`.
    const kind = transport === 'fetch' ? 'http' : 'network'
    expect(rec.steps).toEqual(['idle:-', 'connecting:-', `reconnecting:${kind}`, 'open:-'])
    expect(rec.errors.map((e) => e.kind)).toEqual([kind, kind])
    if (transport === 'fetch') expect(rec.errors.map((e) => e.status)).toEqual([500, 500])
    // Two failed attempts; the count resets only after `minUptime` (5 s) of uptime.
    expect(connection.getSnapshot()).toMatchObject({ status: 'open', attempt: 2, error: null })
    expectExactSequence(rec, 5)

    const s = await stats(name)
    expect(s.requests.map((r) => r.status)).toEqual([500, 500, 200])
    expect(resumes(s)).toEqual([resumeAt(transport, null), resumeAt(transport, null), resumeAt(transport, null)])
  })

  it('drops a stalled stream after idleTimeout with a timeout error, then resumes', async () => {
    const name = uniqueName(`stall-${transport}`)
    const connection = open(name, {}, { idleTimeout: 300 })
    const rec = record(connection)
    connection.connect()
    await received(rec, 5)
    // Events every 10 ms keep a 300 ms idle timer from firing.
    expect(rec.errors).toEqual([])

    const stalledSince = performance.now()
    const { stalled } = await control<{ stalled: number[] }>(name, 'stall')
    expect(stalled).toHaveLength(1)
    const lastSent = stalled[0]!
    await received(rec, lastSent + 5)
    connection.close()

    expect(rec.errors.map((e) => e.kind)).toEqual(['timeout'])
    // Not before the stream was silent for idleTimeout (less the 10 ms pacing and slack).
    expect(rec.errors[0]!.at - stalledSince).toBeGreaterThanOrEqual(240)
    expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', 'reconnecting:timeout', 'open:-', 'closed:-'])
    expectExactSequence(rec, lastSent + 5)

    // The engine, not the server, closed the silent socket, then resumed after lastSent.
    await expect.poll(async () => (await stats(name)).open).toBe(0)
    const s = await stats(name)
    expect(s.accepted).toBe(2)
    expect(s.closedByClient).toBe(2)
    expect(resumes(s)).toEqual([resumeAt(transport, null), resumeAt(transport, String(lastSent))])
  })

  it('abandons a request that never gets response headers after idleTimeout, then connects', async () => {
    const name = uniqueName(`hung-${transport}`)
    // The server takes the next request and never answers it: no status, no headers, no FIN.
    await control(name, 'stall', { next: 1, headers: 0 })
    const connection = open(name, {}, { idleTimeout: 300 })
    const rec = record(connection)
    const started = performance.now()
    connection.connect()
    await received(rec, 5)
    connection.close()

    expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'reconnecting:timeout', 'open:-', 'closed:-'])
    expect(rec.errors.map((e) => e.kind)).toEqual(['timeout'])
    expect(rec.errors[0]!.at - started).toBeGreaterThanOrEqual(290)
    expectExactSequence(rec, 5)
    // The engine gave up on the hung request itself (the server never closed it).
    await expect.poll(async () => (await stats(name)).open).toBe(0)
    const s = await stats(name)
    expect(s.requests).toHaveLength(2)
    expect(s.requests[0]!.closedAt).not.toBeNull()
    expect(s.closedByClient).toBe(2)
    expect(resumes(s)).toEqual([resumeAt(transport, null), resumeAt(transport, null)])
  })

  // Heartbeats carry no data: they only prove the connection alive. The fetch transport
  // sees every byte, so comment and unlisted-event heartbeats both keep it alive. The native
  // EventSource sees neither comments nor event types it has no listener for: there only
  // listed events count, which is why its idleTimeout is off unless asked for.
  /**
   * The idle timeout for the heartbeat tests: 12 heartbeats (40 ms) long, so a page or server
   * stalled for a moment on a busy CI machine (the multi-tab e2e tests run beside these) is
   * not taken for a dead stream, while a stream without heartbeats still times out.
   */
  const QUIET_IDLE = 500
  const quiet = (name: string, beat: 'comment' | 'event') =>
    streamUrl(name, { interval: 0, heartbeat: 40, ...(beat === 'event' ? { heartbeatEvent: 'ping' } : {}) })

  if (transport === 'fetch') {
    for (const beat of ['comment', 'event'] as const) {
      it(`keeps a quiet stream alive on ${beat} heartbeats (no messages) past idleTimeout`, async () => {
        const name = uniqueName(`heartbeat-${beat}-${transport}`)
        const connection = createEventSource<{ seq: number }>(quiet(name, beat), { transport, json: true, ...FAST, idleTimeout: QUIET_IDLE })
        const rec = record(connection)
        connection.connect()
        // 2.5 idle timeouts of heartbeats only; stop early on the first error.
        await watch(QUIET_IDLE * 2.5, () => rec.errors.length > 0)
        expect(rec.errors.map((e) => e.kind)).toEqual([])
        expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-'])
        expect(rec.ids).toEqual([])
        expect((await stats(name)).requests).toHaveLength(1)
      })
    }
  } else {
    it('cannot see comment heartbeats: with idleTimeout set, a quiet stream times out (why it is off by default)', async () => {
      const name = uniqueName(`heartbeat-comment-${transport}`)
      const connection = createEventSource<{ seq: number }>(quiet(name, 'comment'), { transport, json: true, ...FAST, idleTimeout: 200 })
      const rec = record(connection)
      connection.connect()
      await watch(800, () => rec.errors.length > 0)
      expect(rec.errors.map((e) => e.kind)).toEqual(['timeout'])
    })

    it('keeps a quiet stream alive on heartbeats of a listed event type', async () => {
      const name = uniqueName(`heartbeat-event-${transport}`)
      const connection = createEventSource<{ seq: number }>(quiet(name, 'event'), {
        transport,
        events: ['message', 'ping'],
        parse: (data) => ({ seq: data === '-' ? -1 : JSON.parse(data as string).seq }),
        ...FAST,
        idleTimeout: QUIET_IDLE,
      })
      const rec = record(connection)
      connection.connect()
      await watch(QUIET_IDLE * 2.5, () => rec.errors.length > 0)
      expect(rec.errors.map((e) => e.kind)).toEqual([])
      expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-'])
      expect(rec.seqs.length).toBeGreaterThan(3)
      expect(new Set(rec.seqs)).toEqual(new Set([-1]))
      expect((await stats(name)).requests).toHaveLength(1)
    })
  }

  it('pauses while offline (drops the stream, no retries) and resumes at once when online', async () => {
    const name = uniqueName(`offline-${transport}`)
    const connection = open(name)
    const rec = record(connection)
    connection.connect()
    await received(rec, 5)

    let countAtPause = 0
    let lastBeforeOffline: string | undefined
    const { offStart, onAt } = await whileOffline(1200, async () => {
      await expect.poll(() => connection.getSnapshot().status, { timeout: 700, interval: 5 }).toBe('paused')
      countAtPause = rec.ids.length
      lastBeforeOffline = rec.ids.at(-1)
      // Absence of retries can only be shown by waiting: 400 ms is 8 first-retry ceilings
      // (initialDelay 50) and 2 maxDelay ceilings. Still offline at the end, or this proves nothing.
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect(navigator.onLine).toBe(false)
      expect(connection.getSnapshot()).toMatchObject({ status: 'paused', attempt: 0, error: null })
      expect(rec.errors).toEqual([])
      expect(rec.ids.length).toBe(countAtPause)
    })

    await received(rec, countAtPause + 5)
    connection.close()

    // Back online is not a failure: straight to connecting, no backoff, no error.
    expect(rec.steps).toEqual(['idle:-', 'connecting:-', 'open:-', 'paused:-', 'connecting:-', 'open:-', 'closed:-'])
    expect(rec.errors).toEqual([])
    expectExactSequence(rec, countAtPause + 5)

    await expect.poll(async () => (await stats(name)).open).toBe(0)
    const s = await stats(name)
    expect(s.requests.map((r) => r.status)).toEqual([200, 200])
    expect(s.closedByClient).toBe(2)
    const [before, after] = s.requests as [StreamRequest, StreamRequest]
    // Playwright's offline mode leaves open sockets alone: the engine closed this one, while offline.
    expect(before.closedAt).not.toBeNull()
    expect(before.closedAt!).toBeGreaterThanOrEqual(offStart)
    expect(before.closedAt!).toBeLessThan(onAt)
    // The one new request came after the network was back, with no backoff (the steps above);
    // the bound is loose for a loaded CI machine (the online event crosses Playwright's RPC first).
    expect(after.at).toBeGreaterThanOrEqual(onAt)
    expect(after.at - onAt).toBeLessThan(2000)
    expect(resumes(s)).toEqual([resumeAt(transport, null), resumeAt(transport, lastBeforeOffline ?? 'none')])
  })

  it('starts paused when connect() is called offline, and connects as soon as it is online', async () => {
    const name = uniqueName(`start-offline-${transport}`)
    const connection = open(name)
    const rec = record(connection)

    const { onAt } = await whileOffline(900, async () => {
      await expect.poll(() => navigator.onLine, { timeout: 500, interval: 5 }).toBe(false)
      connection.connect()
      expect(connection.getSnapshot()).toMatchObject({ status: 'paused', attempt: 0, error: null })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(navigator.onLine).toBe(false)
      expect(rec.steps).toEqual(['idle:-', 'paused:-'])
      expect(rec.errors).toEqual([])
    })

    await received(rec, 5)
    connection.close()
    expect(rec.steps).toEqual(['idle:-', 'paused:-', 'connecting:-', 'open:-', 'closed:-'])
    expect(rec.errors).toEqual([])
    expectExactSequence(rec, 5)
    const s = await stats(name)
    expect(s.requests).toHaveLength(1)
    expect(s.requests[0]!.at).toBeGreaterThanOrEqual(onAt)
    // The steps above show it went straight from paused to connecting, with no failed attempt
    // or backoff; this only bounds the wait, loosely, for a loaded CI machine (the online
    // event crosses Playwright's RPC first).
    expect(s.requests[0]!.at - onAt).toBeLessThan(2000)
  })
})
