/**
 * Shared harness for the hook tests: one MSW server per test file, a request log, SSE
 * streams the test drives by hand, and hand-cranked timers and frames.
 */
import { cleanup, configure, renderHook } from '@testing-library/react'
import type * as React from 'react'
import { type PathParams, type ServerSentEventResolverExtras, sse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from 'vitest'
import type { Environment } from '../../src/core/environment'
import { createRegistry, type Registry, type RegistryOptions } from '../../src/core/registry'
import type { FrameScheduler, Timers } from '../../src/core/runtime'
import { useEventSource, type UseEventSourceOptions, type UseEventSourceResult } from '../../src/react/use-event-source'

export const server = setupServer()

// waitFor's default budget (1 s) is wall-clock time: on a loaded machine MSW, jsdom and React
// can take longer for a step that is not slow, only starved of CPU. The wait ends as soon as
// its condition holds; the long budget only decides when a wait that never ends fails (with
// its diff, before the project's test timeout).
configure({ asyncUtilTimeout: 10_000 })

/** Every request MSW saw in the current test, in order. */
export const requests: Request[] = []

const openValues: { close(): void }[] = []

/**
 * Installs the per-file lifecycle: MSW listens (unhandled requests are errors), every test
 * starts with no handlers, no requests and no live connections, and fails if anything
 * wrote to console.error (React act() warnings, unhandled listener errors…).
 */
export function setupHarness(): void {
  let consoleError: ReturnType<typeof vi.spyOn>
  beforeAll(() => {
    server.listen({ onUnhandledFrame: 'error' })
    server.events.on('request:start', ({ request }) => {
      requests.push(request)
    })
  })
  beforeEach(() => {
    consoleError = vi.spyOn(console, 'error')
  })
  afterEach(() => {
    cleanup()
    for (const value of openValues.splice(0)) value.close()
    server.resetHandlers()
    const sent = requests.splice(0)
    abortHandlers.clear()
    abortedFetches.clear()
    const calls = consoleError.mock.calls
    consoleError.mockRestore()
    expect(calls, 'console.error was called').toEqual([])
    expect(
      sent.filter((r) => !r.headers.has(FETCH_ID)).map((r) => r.url),
      'requests not made through testFetch',
    ).toEqual([])
  })
  afterAll(() => server.close())
}

/** The header that ties a request MSW sees to the testFetch call that made it. */
const FETCH_ID = 'x-test-fetch-id'
let fetchCount = 0
const abortedFetches = new Set<string>()
const abortHandlers = new Map<string, () => void>()

/**
 * `fetch` for the engine: the global (MSW-patched) fetch, except that an abort, or a cancel
 * of the body, ends the response from the server side instead of reaching undici.
 *
 * Why: with MSW 3 (@mswjs/interceptors 0.45) in Node, aborting a fetch, or cancelling its
 * body, while a mocked streaming response is being read can make the mocked socket emit
 * 'close' without the error, so undici takes the half-read body for a complete one and
 * throws an uncaught `AssertionError: assert(!this.aborted)` in Request.onComplete (seen
 * whenever a linger timer closed a connection). Here the engine sees what a real fetch
 * gives it (a rejection or a body that errors with an AbortError, and a working
 * `cancel()`); the tests observe the abort as `clientAborted`; the server then ends the
 * stream and the real response is read to its end and dropped.
 */
export const testFetch: typeof fetch = (input, init = {}) => {
  const { signal, ...rest } = init
  const id = String(++fetchCount)
  const headers = new Headers(rest.headers)
  headers.set(FETCH_ID, id)
  const upstream = globalThis.fetch(input, { ...rest, headers })
  const endFromServer = () => {
    if (abortedFetches.has(id)) return
    abortedFetches.add(id)
    const handler = abortHandlers.get(id)
    abortHandlers.delete(id)
    handler?.()
  }
  const abortError = () => (signal?.reason as unknown) ?? new DOMException('This operation was aborted', 'AbortError')
  return new Promise<Response>((resolve, reject) => {
    let settled = false
    const onAbort = () => {
      endFromServer()
      if (!settled) reject(abortError())
    }
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    upstream.then(
      (response) => {
        settled = true
        if (!response.body) return resolve(response)
        const reader = response.body.getReader()
        let forward = null as ReadableStreamDefaultController<Uint8Array> | null
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => void (forward = controller),
          cancel: () => {
            forward = null
            endFromServer()
          },
        })
        signal?.addEventListener('abort', () => {
          forward?.error(abortError())
          forward = null
        })
        if (signal?.aborted) forward = null
        // Pump with no backpressure (test streams are small), and keep reading after an
        // abort or cancel until the server has ended the response.
        void (async () => {
          try {
            for (;;) {
              const { done, value } = await reader.read()
              if (done) break
              forward?.enqueue(value)
            }
            forward?.close()
          } catch (thrown) {
            forward?.error(thrown)
          }
        })()
        resolve(new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers }))
      },
      (thrown: unknown) => {
        settled = true
        reject(signal?.aborted ? abortError() : thrown)
      },
    )
  })
}

/**
 * Runs `handler` when the client lets go of `request` (at once if it already has), so a
 * streaming handler can end its response, as a server does when its client goes away.
 */
export function onClientAbort(request: Request, handler: () => void): void {
  const id = request.headers.get(FETCH_ID)
  if (id === null) return
  if (abortedFetches.has(id)) handler()
  else abortHandlers.set(id, handler)
}

/** Whether the client let go of `request`: aborted it or cancelled its body. */
export function clientAborted(request: Request): boolean {
  const id = request.headers.get(FETCH_ID)
  return id !== null && abortedFetches.has(id)
}

/** A registry of one test; `created` lists the keys of the values it created, in order. */
export interface TestRegistry extends Registry {
  readonly created: readonly string[]
}

/**
 * A registry for one test: its connections are closed after the test whatever happens. Two
 * registries in one test are two tabs (each tab has its own), which meet only through
 * `navigator.locks` and BroadcastChannel (see test/setup/browser-tabs.ts).
 */
export function testRegistry(options: RegistryOptions = {}): TestRegistry {
  const inner = createRegistry({ linger: 0, ...options })
  const created: string[] = []
  const registry: Registry = {
    acquire(key, create) {
      return inner.acquire(key, () => {
        const value = create()
        created.push(key)
        openValues.push(value)
        return value
      })
    },
    peek: (key) => inner.peek(key),
  }
  // Not enumerable: today's stream keys serialize the registry option (issue 9, item 14),
  // and a list that grows would make every render a new stream.
  return Object.defineProperty(registry, 'created', { value: created, enumerable: false }) as TestRegistry
}

/** The hooks' `share` option. */
export type Share = UseEventSourceOptions<unknown>['share']

/**
 * The share modes each behavioural hook test runs in: the default (`share` left out: it is
 * `'tabs'`, one connection per browser, and runs shared here over the real lock manager and
 * BroadcastChannel that test/setup/browser-tabs.ts installs) and `'tab'`. Use with
 * `describe.each(SHARE_MODES)('… ($label)', ({ share }) => …)` and pass `share` to the hook.
 *
 * A test's locks and channels are its own: their names are made from the stream key, and
 * every test uses fresh URLs (`uniqueUrl`); each test file has a scope of its own as well.
 */
export const SHARE_MODES: readonly { label: string; share: Share }[] = [
  { label: "share: 'tabs', the default", share: undefined },
  { label: "share: 'tab'", share: 'tab' },
]

/** An environment that never signals: always online and visible. */
export const steadyEnvironment: Environment = {
  current: () => [],
  subscribe: () => () => {},
}

export interface ManualTimers extends Timers {
  /** The delays (ms) of the timers pending now, ascending. */
  delays(): number[]
  /** Runs (and removes) every pending timer set with exactly this delay. Returns how many ran. */
  run(ms: number): number
  /** Runs (and removes) every timer pending now, whatever its delay. Returns how many ran. */
  runAll(): number
}

/** Timers that only fire when the test says so. */
export function manualTimers(): ManualTimers {
  let next = 0
  const pending = new Map<number, { callback: () => void; ms: number }>()
  return {
    setTimeout(callback, ms) {
      pending.set(++next, { callback, ms })
      return next
    },
    clearTimeout(handle) {
      pending.delete(handle as number)
    },
    delays: () => [...pending.values()].map((t) => t.ms).sort((a, b) => a - b),
    runAll() {
      let ran = 0
      for (const [id, t] of [...pending]) {
        if (!pending.has(id)) continue
        pending.delete(id)
        ran++
        t.callback()
      }
      return ran
    },
    run(ms) {
      let ran = 0
      for (const [id, t] of [...pending]) {
        if (t.ms !== ms || !pending.has(id)) continue
        pending.delete(id)
        ran++
        t.callback()
      }
      return ran
    },
  }
}

export interface ManualFrames {
  scheduleFrame: FrameScheduler
  /** Frames requested and not yet run or cancelled. */
  readonly pending: number
  /** Runs every pending frame callback (wrap in act()). */
  flush(): void
}

/** An animation-frame scheduler the test flushes by hand. */
export function manualFrames(): ManualFrames {
  const queue = new Set<() => void>()
  return {
    scheduleFrame(callback) {
      const entry = () => callback()
      queue.add(entry)
      return () => void queue.delete(entry)
    },
    get pending() {
      return queue.size
    },
    flush() {
      const callbacks = [...queue]
      queue.clear()
      for (const callback of callbacks) callback()
    },
  }
}

type EventMap = { message?: unknown; [name: string]: unknown; [key: symbol | number]: never }
export type SseClient<M extends EventMap> = ServerSentEventResolverExtras<M, PathParams>['client']

export interface SseConnection<M extends EventMap> {
  request: Request
  client: SseClient<M>
  /** The Last-Event-ID request header, or null. */
  lastEventId: string | null
  /** Whether the client (the engine) let go of this request: aborted it or cancelled its body. */
  readonly clientAborted: boolean
}

export interface SseStream<M extends EventMap> {
  /** Every connection the server accepted, in order. */
  readonly connections: SseConnection<M>[]
  /** The n-th connection (0-based); throws if there is none yet. */
  connection(n: number): SseConnection<M>
}

/**
 * Serves `url` as an SSE stream with MSW's `sse()`: each request becomes a connection the
 * test can send on and close. `onConnect` runs inside the handler (before the response
 * starts), so what it sends is the first thing the client reads after a `ready` event.
 *
 * Why `ready`: MSW's mocked socket writes the response head only with the first body chunk
 * (a real server flushes it at once), so a stream that starts silent would never open.
 * `ready` is a type no test listens to: the client counts it as liveness and drops it.
 */
export function sseStream<M extends EventMap = { message: string }>(
  url: string,
  onConnect?: (connection: SseConnection<M>, index: number) => void,
): SseStream<M> {
  const connections: SseConnection<M>[] = []
  server.use(
    sse<M>(url, ({ request, client }) => {
      ;(client as SseClient<{ ready: string }>).send({ event: 'ready', data: '' })
      const connection = {
        request,
        client,
        lastEventId: request.headers.get('last-event-id'),
        get clientAborted() {
          return clientAborted(request)
        },
      }
      onClientAbort(request, () => client.close())
      connections.push(connection)
      onConnect?.(connection, connections.length - 1)
    }),
  )
  return {
    connections,
    connection(n) {
      const c = connections[n]
      if (!c) throw new Error(`no connection #${n} yet (have ${connections.length})`)
      return c
    },
  }
}

/** Drops consecutive duplicates: the status sequence a user would have seen. */
export function dedupe<T>(values: readonly T[]): T[] {
  return values.filter((v, i) => i === 0 || !Object.is(v, values[i - 1]))
}

let counter = 0
/** A fresh absolute URL per call, so no two tests ever share a stream key. */
export function uniqueUrl(name: string): string {
  return `http://localhost/${name}/${++counter}`
}

/** renderHook around useEventSource that records every render; rerender() takes new props. */
export function renderEventSource<T = string, S = T>(
  url: string | null,
  options: UseEventSourceOptions<T, S>,
  renderOptions: { wrapper?: React.JSXElementConstructor<{ children: React.ReactNode }> } = {},
) {
  const renders: UseEventSourceResult<S>[] = []
  const hook = renderHook(
    (props: { url: string | null; options: UseEventSourceOptions<T, S> }) => {
      const result = useEventSource<T, S>(props.url, props.options)
      renders.push(result)
      return result
    },
    { initialProps: { url, options }, ...renderOptions },
  )
  return { ...hook, renders, statuses: () => dedupe(renders.map((r) => r.status)) }
}
