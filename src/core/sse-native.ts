import { RealtimeError } from './errors'
import type { Transport, TransportFactory } from './transport'

/** Options of the native `EventSource` transport. */
export interface NativeTransportOptions {
  /**
   * Send cookies on a cross-origin stream (the EventSource's own `withCredentials`).
   * Part of the stream's identity.
   * @defaultValue false
   * @example { transport: 'eventsource', withCredentials: true }
   */
  withCredentials?: boolean
  /**
   * The native API cannot set headers, so on reconnect the last event id goes in this
   * query parameter. Your server should read it as it reads `Last-Event-ID`
   * (tabwire/server does). Part of the stream's identity.
   * @defaultValue 'lastEventId'
   * @example { transport: 'eventsource', lastEventIdParam: 'since' } // GET /s?since=41
   */
  lastEventIdParam?: string
  /**
   * Injectable constructor (tests, a polyfill where there is none).
   * @defaultValue globalThis.EventSource
   * @example { transport: 'eventsource', EventSource: PolyfilledEventSource }
   */
  EventSource?: typeof EventSource
}

/**
 * Sets the resume parameter on a URL (resolved against the page), keeping the rest.
 * @example withLastEventId('https://x/s?a=1', 'lastEventId', '41') // 'https://x/s?a=1&lastEventId=41'
 */
export function withLastEventId(url: string, param: string, id: string | undefined): string {
  if (!id) return url
  const resolved = new URL(url, (globalThis as { location?: Location }).location?.href)
  resolved.searchParams.set(param, id)
  return resolved.href
}

/**
 * The browser's own EventSource, for GET streams without headers. The engine owns every
 * retry: on any error the EventSource is closed and the engine backs off with jitter and
 * resumes through `lastEventIdParam`. (Chromium gives up for good on any non-200, also on
 * its own reconnections, and its fixed retry delay has no jitter.)
 */
export function nativeTransport(url: string, events: readonly string[], options: NativeTransportOptions = {}): TransportFactory {
  return ({ sink, lastEventId }) => {
    const Ctor = options.EventSource ?? globalThis.EventSource
    const source = new Ctor(withLastEventId(url, options.lastEventIdParam ?? 'lastEventId', lastEventId), {
      withCredentials: options.withCredentials ?? false,
    })
    let closed = false
    const onMessage = (event: Event) => {
      const { data, lastEventId: id } = event as MessageEvent<string>
      // A native EventSource keeps its last event id across events: pass it on as the id.
      if (id !== '') sink.lastEventId(id)
      sink.message({ data, event: event.type, id: id === '' ? undefined : id })
    }
    source.onopen = () => sink.open()
    source.onerror = () => {
      if (closed) return
      transport.close()
      sink.fail(new RealtimeError('network', 'the EventSource failed'), true)
    }
    for (const type of events) source.addEventListener(type, onMessage)
    const transport: Transport = {
      close() {
        closed = true
        source.close()
        for (const type of events) source.removeEventListener(type, onMessage)
      },
    }
    return transport
  }
}
