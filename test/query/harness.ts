/**
 * The query bridge tests' harness: the hook tests' MSW server (its `ws.link` carries the
 * realtime channel, see test/react/realtime-server.ts) with a lifecycle of its own, an
 * `http` endpoint that counts its requests and can hold them, a real QueryClient per test,
 * and frames the test runs by hand, so "one flush" needs no clock.
 */
import { QueryClient } from '@tanstack/react-query'
import { http, HttpResponse } from 'msw'
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from 'vitest'
import type { FrameScheduler } from '../../src/core/runtime'
import { server } from '../react/harness'

const clients: QueryClient[] = []

/** MSW listens (anything unhandled is an error); each test ends with no handlers, no clients, and nothing on console.error. */
export function setupQueryHarness(): void {
  let consoleError: ReturnType<typeof vi.spyOn>
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
  beforeEach(() => {
    consoleError = vi.spyOn(console, 'error')
  })
  afterEach(() => {
    for (const client of clients.splice(0)) client.clear()
    server.resetHandlers()
    const calls = consoleError.mock.calls
    consoleError.mockRestore()
    expect(calls, 'console.error was called').toEqual([])
  })
  afterAll(() => server.close())
}

/** A QueryClient as a socket-fed app sets one up: data stays fresh until the bridge says otherwise. */
export function testQueryClient(): QueryClient {
  const client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, gcTime: Infinity, retry: false } } })
  clients.push(client)
  return client
}

let counter = 0

/**
 * An endpoint at a fresh url answering `{ v }`, `v` the request's number (1, 2…). `hold()`
 * makes the requests from then on wait until `release()`; `requests` counts them (`aborted`:
 * those the client gave up), `calls` the queryFn calls, `settled` those that returned or threw.
 */
export function endpoint(name: string) {
  const url = `http://localhost/api/${name}/${++counter}`
  const gates: (() => void)[] = []
  let holding = false
  const state = { requests: 0, aborted: 0, calls: 0, settled: 0 }
  server.use(
    http.get(url, async ({ request }) => {
      const v = ++state.requests
      request.signal.addEventListener('abort', () => state.aborted++)
      if (holding) await new Promise<void>((resolve) => gates.push(resolve))
      return HttpResponse.json({ v })
    }),
  )
  return {
    url,
    state,
    hold: () => void (holding = true),
    /** Lets every held request answer, and stops holding. */
    release: () => {
      holding = false
      for (const open of gates.splice(0)) open()
    },
    /** The requests waiting for `release()`. */
    get held() {
      return gates.length
    },
    /** A queryFn for this endpoint, passing the query's signal on (so a cancel aborts the request). */
    queryFn: async ({ signal }: { signal: AbortSignal }): Promise<{ v: number | string }> => {
      state.calls++
      try {
        const response = await fetch(url, { signal })
        return (await response.json()) as { v: number }
      } finally {
        state.settled++
      }
    },
  }
}

/**
 * Frames the test runs: `run()` calls what is scheduled now (one frame); `settle()` runs
 * frames until none is asked for (a key goes out after a frame with no change for it).
 */
export function manualFrames() {
  const queue = new Set<() => void>()
  const schedule: FrameScheduler = (callback) => {
    queue.add(callback)
    return () => void queue.delete(callback)
  }
  return {
    schedule,
    get pending() {
      return queue.size
    },
    run() {
      const callbacks = [...queue]
      queue.clear()
      for (const callback of callbacks) callback()
    },
    /** Runs frames until none is pending; returns how many ran. */
    settle() {
      let ran = 0
      while (queue.size) {
        if (++ran > 100) throw new Error('frames never settle')
        this.run()
      }
      return ran
    },
  }
}
