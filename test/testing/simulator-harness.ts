/**
 * What the simulator's scenario tests share: the hook harness (MSW, a console.error check),
 * with every request of an app's unchanged components going through the harness's
 * `testFetch` (whose aborts end the mocked stream from the server side, see harness.ts), a
 * fresh set of tabs per test, and a log-backed SSE stream that replays after Last-Event-ID.
 */
import { afterAll, afterEach, beforeAll } from 'vitest'
import { createTabs, type CreateTabsOptions, type SimulatedTabs } from '../../src/testing/simulator'
import { setupHarness, type SseStream, sseStream, testFetch } from '../react/harness'

const FETCH_ID = 'x-test-fetch-id'

/**
 * Installs the harness, and routes the global fetch (MSW's, once it listens) through
 * `testFetch`: components that pass no `fetch` option are tested as they are.
 */
export function setupSimulatorHarness(): { tabs(count: number, options?: CreateTabsOptions): SimulatedTabs } {
  setupHarness()
  let msw: typeof fetch
  beforeAll(() => {
    msw = globalThis.fetch
    globalThis.fetch = (input, init) => (new Headers(init?.headers).has(FETCH_ID) ? msw(input, init) : testFetch(input, init))
  })
  afterAll(() => void (globalThis.fetch = msw))
  let open: SimulatedTabs | undefined
  afterEach(() => open?.closeAll())
  return { tabs: (count, options) => (open = createTabs(count, options)) }
}

/** An SSE endpoint over a log: each connection replays after its Last-Event-ID, then gets what `publish` adds. */
export function logStream(url: string): SseStream<{ message: string }> & { publish(...ids: number[]): void } {
  const log: { id: string; data: string }[] = []
  const stream = sseStream(url, ({ client, lastEventId }) => {
    const from = lastEventId === null ? 0 : log.findIndex((e) => e.id === lastEventId) + 1
    for (const e of log.slice(from)) client.send(e)
  })
  return Object.assign(stream, {
    publish(...ids: number[]) {
      for (const id of ids) {
        const event = { id: String(id), data: `event ${id}` }
        log.push(event)
        const live = stream.connections.at(-1)
        if (live && !live.clientAborted) live.client.send(event)
      }
    },
  })
}

/** `1..n` as the strings a tab shows. */
export const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i))
