/**
 * `mockSseHandler`: an MSW handler that serves a replay log as `createSseHandler` does.
 */
import { http, type HttpHandler } from 'msw'
import { createMemoryLog, type LogEntry, type ReplayLog } from '../server/log.ts'
import { entryEvent, resumeId, retryField, SSE_HEARTBEAT, sseStart } from '../server/sse-protocol.ts'
import { describeError, quote, warn } from '../server/errors.ts'
import { controlsOf, createMockCore, type MockControls, type MockOptions } from './mock-core.ts'
import { type FloodOptions, floodLog } from './mock-flood.ts'
import { followLog } from './mock-follow.ts'
import { openStream } from './mock-stream.ts'

/** Options of {@link mockSseHandler}. */
export interface MockSseOptions extends MockOptions {
  /**
   * The log served (appended to with `append`, replaced by a fresh one on `reset()`).
   * @defaultValue `createMemoryLog({ capacity })`
   * @example mockSseHandler(url, { log: createMemoryLog({ epoch: 'e1' }) })
   */
  log?: ReplayLog
  /**
   * Entries kept for replay by the logs the mock makes.
   * @defaultValue 1000
   * @example mockSseHandler(url, { capacity: 10 })
   */
  capacity?: number
  /**
   * The `retry:` hint sent first, in ms.
   * @defaultValue 2000
   * @example mockSseHandler(url, { retry: 50 })
   */
  retry?: number
  /**
   * Where the resume id is read without a `Last-Event-ID` header.
   * @defaultValue 'lastEventId'
   * @example mockSseHandler(url, { lastEventIdParam: 'since' })
   */
  lastEventIdParam?: string
}

/** The mock of an SSE endpoint: its MSW handlers, its log and its controls. */
export interface MockSse extends MockControls {
  /**
   * Give these to MSW: `setupServer(...mock.handlers)` or `server.use(...mock.handlers)`.
   * @example server.use(...quotes.handlers)
   */
  readonly handlers: HttpHandler[]
  /**
   * The log served now (a new one after `reset()`).
   * @example expect(quotes.log.head).toBe(result.current.lastEventId)
   */
  readonly log: ReplayLog
  /**
   * Appends an event (a string as it is, anything else as JSON) and sends it to every stream.
   * Answers the entry (its `id` is the event's id).
   * @example quotes.append({ symbol: 'ACME', price: 42 }, 'quote')
   */
  append(data: unknown, event?: string): LogEntry
  /**
   * Appends `n` events, `perSecond` of them per second on the mock's timers (all at once
   * without); resolves when done. Data defaults to `String(i)`.
   * @example await quotes.flood(5000, 2000, { event: 'quote', data: (i) => ({ price: i }) })
   */
  flood(n: number, perSecond?: number, options?: FloodOptions): Promise<void>
  /**
   * A restart: a new log (new epoch) and every stream dropped; clients that resume get a `reset` event.
   * @example act(() => quotes.reset())
   */
  reset(): void
  /**
   * Sends a comment to every stream now (`: heartbeat` by default, what the server's timer
   * sends): proof of life for the client's idle timeout. The mock sends none by itself.
   * @example quotes.comment()
   */
  comment(text?: string): void
}

/**
 * Serves `url` (an MSW path: a full url, a path, or a pattern) as `createSseHandler` serves
 * its log: `retry:` first, resume from `Last-Event-ID` or the query parameter with exactly
 * the missed events or a `reset` event, named events with ids; the same functions frame it.
 *
 * @example
 * const quotes = mockSseHandler('http://localhost/api/quotes')
 * const server = setupServer(...quotes.handlers)
 * quotes.append(JSON.stringify({ symbol: 'ACME', price: 42 }), 'quote')
 * quotes.drop() // the hook reconnects and resumes with Last-Event-ID
 */
export function mockSseHandler(url: string, options: MockSseOptions = {}): MockSse {
  const { capacity = 1000, retry = 2000, lastEventIdParam = 'lastEventId' } = options
  const core = createMockCore(options)
  let log = options.log ?? createMemoryLog({ capacity })

  const handler = http.get(url, ({ request }) => {
    const since = resumeId(request.headers.get('last-event-id'), request.url, lastEventIdParam)
    const served = log
    let following: { stop(): number } | undefined
    return openStream(core, request, {
      lastEventId: since,
      open(connection) {
        connection.send(retryField(retry))
        following = followLog(served, {
          since,
          start: (replay) => {
            const start = sseStart(served.epoch, replay)
            if (start !== undefined) connection.send(start)
          },
          entry: (entry) => {
            let text: string
            try {
              text = entryEvent(entry)
            } catch (error) {
              return warn(`SSE: skipped log entry ${quote(entry.id)}, which cannot be framed: ${describeError(error)}`)
            }
            connection.send(text)
          },
          failed: () => connection.drop(),
        })
      },
      ended: () => following?.stop(),
    })
  })

  const controls: MockSse = {
    ...controlsOf(core),
    handlers: [handler],
    get connections() {
      return core.connections
    },
    get log() {
      return log
    },
    append: (data, event) => log.append(typeof data === 'string' ? data : JSON.stringify(data), event),
    flood: (n, perSecond, flood = {}) => floodLog(core.timers, () => log, n, perSecond, { data: (i) => String(i), ...flood }),
    reset() {
      log = createMemoryLog({ capacity })
      core.drop()
    },
    comment: (text = 'heartbeat') => core.each((c) => c.send(text === 'heartbeat' ? SSE_HEARTBEAT : `: ${text.replace(/[\r\n]/g, ' ')}\n\n`)),
  }
  return controls
}
