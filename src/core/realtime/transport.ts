import { RealtimeError } from '../errors'
import { type Timers, timerSlot } from '../runtime'
import type { TransportFactory } from '../transport'
import { readServerFrame } from './protocol'
import { openSocket, type SocketEvents, type SocketSettings } from './transport-socket'
import { openSseLink } from './transport-sse'
import { type Endpoint, endpoint, transportMemory } from './transport-endpoint'
import type { FrameLink, RealtimeTransportHost, RealtimeTransportKind, RealtimeTransportOptions } from './transport-types'

/** The realtime transport: a {@link TransportFactory} that also tells which transport carries the channels. */
export interface RealtimeTransport extends TransportFactory {
  /** The transport of the open link now; undefined while none is open. */
  readonly kind: RealtimeTransportKind | undefined
}

/**
 * The transport of `createRealtime`: many channels on one link, a WebSocket first and SSE
 * with POST when WebSockets cannot open (`transport: 'auto'`), probing back to WebSocket in
 * the background while on SSE. Every engine attempt opens one link; in `'auto'` the link may
 * change within an attempt (the fallback, and a move back to WebSocket) without the engine
 * leaving `open`. The host hears `opened(link, kind)` before the engine hears of an open, and
 * `closed()` whenever a link goes, so it can resubscribe from its cursors on the next one.
 *
 * @param url - http(s) or ws(s), absolute or relative to the page; a function is called on
 *   every connect (and probe), so a token in it stays fresh.
 * @example
 * const transport = realtimeTransport('/realtime', {}, host)
 * const connection = createConnection({ transport })
 * transport.kind // 'websocket' | 'sse' | undefined
 */
export function realtimeTransport(
  url: string | (() => string | Promise<string>),
  options: RealtimeTransportOptions,
  host: RealtimeTransportHost,
): RealtimeTransport {
  const timers = options.timers ?? (globalThis as Timers)
  const random = options.random ?? Math.random
  const mode = options.transport ?? 'auto'
  const after = Math.max(1, options.fallback?.after ?? 2)
  const firstProbe = options.fallback?.probe ?? 5000
  const maxProbe = options.fallback?.maxProbe ?? 60_000
  const maxMessageSize = options.maxMessageSize ?? 1_048_576
  const { remember, remembered } = transportMemory(options.storage)
  /** WebSocket attempts in a row that failed before they opened (`'auto'`). */
  let failures = 0
  /** Failed probes in a row: the next probe's delay range doubles with each. */
  let probes = 0
  let kind: RealtimeTransportKind | undefined

  const factory: TransportFactory = ({ sink }) => {
    let closed = false
    /** The link the engine's attempt runs on: a socket or an SSE stream (open or opening). */
    let current: { close(): void } | undefined
    let probe: { close(): void } | undefined
    /** Whether the host holds a link it must hear `closed()` for. */
    let linked = false
    let engineOpen = false
    const probeTimer = timerSlot(timers)

    const unlink = () => {
      if (!linked) return
      linked = false
      kind = undefined
      host.closed()
    }
    const link = (l: FrameLink, k: RealtimeTransportKind) => {
      linked = true
      kind = k
      host.opened(l, k)
      if (!engineOpen) {
        engineOpen = true
        sink.open()
      }
    }
    const shut = () => {
      closed = true
      probeTimer()
      probe?.close()
      current?.close()
      probe = current = undefined
      unlink()
    }
    const fail = (error: RealtimeError, retryable: boolean, retryAfter?: number) => {
      if (closed) return
      shut()
      sink.fail(error, retryable, retryAfter)
    }

    /** One frame's text off either link. */
    const read = (data: unknown) => {
      if (closed) return
      sink.activity()
      if (typeof data !== 'string') return sink.report(new RealtimeError('protocol', 'a binary frame was skipped'))
      if (data.length > maxMessageSize) return sink.report(new RealtimeError('protocol', `a frame passed maxMessageSize (${maxMessageSize}) and was skipped`))
      if (data === 'pong') return
      const frame = readServerFrame(data)
      if (!frame) return sink.report(new RealtimeError('protocol', 'a frame was not a realtime server frame and was skipped', { raw: data }))
      // `hello` opens an SSE stream (see openSseLink); anywhere else it says nothing new.
      if (frame.type === 'hello') return
      const message = host.receive(frame)
      if (message && !closed) sink.message(message)
    }

    const socketSettings = (WebSocket: typeof globalThis.WebSocket): SocketSettings => ({
      WebSocket,
      timers,
      connectTimeout: options.connectTimeout ?? 2500,
      heartbeat: options.heartbeat ?? 25_000,
      report: (error) => void (closed || sink.report(error)),
    })
    const socketOpened = (at: Endpoint) => {
      failures = probes = 0
      if (mode === 'auto') remember(at.key, false)
    }

    const startSocket = (at: Endpoint) => {
      const WebSocket = options.WebSocket ?? globalThis.WebSocket
      const events: SocketEvents = {
        open(l) {
          socketOpened(at)
          link(l, 'websocket')
        },
        data: read,
        fail(error, retryable, beforeOpen) {
          if (closed) return
          if (mode !== 'auto' || !beforeOpen) return fail(error, retryable)
          // Before the first open the engine does not care which transport answers: once
          // `after` sockets in a row failed, SSE is tried now, not after another backoff. A
          // handshake that hung for all of `connectTimeout` (a proxy that swallows upgrades)
          // moves at once: waiting it out again would double the time to fall back.
          failures = error.kind === 'timeout' ? Math.max(failures + 1, after) : failures + 1
          if (failures < after) return fail(error, true)
          startSse(at)
        },
      }
      current = openSocket(at.ws, socketSettings(WebSocket), events)
    }

    const startSse = (at: Endpoint) => {
      current = openSseLink(
        at.http,
        {
          // Called as a plain function, a browser's own fetch throws "Illegal invocation".
          fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
          headers: options.headers,
          credentials: options.credentials ?? 'same-origin',
          maxMessageSize,
        },
        {
          open(l) {
            // Remembered once SSE works, not when WebSocket failed: a reload starts here.
            if (mode === 'auto') remember(at.key, true), scheduleProbe()
            link(l, 'sse')
          },
          data: read,
          activity: () => void (closed || sink.activity()),
          retryHint: (ms) => void (closed || sink.retryHint(ms)),
          report: (error) => void (closed || sink.report(error)),
          fail(error, retryable, retryAfter) {
            // SSE failed too (an outage of the whole server, say): the next attempt tries a
            // WebSocket again, once, before SSE, so neither transport is given up for good.
            if (mode === 'auto' && !closed) (failures = after - 1), remember(at.key, false)
            fail(error, retryable, retryAfter)
          },
        },
      )
    }

    /** The next background WebSocket try, after a full-jitter delay whose range doubles per failed probe. */
    const scheduleProbe = () => {
      const span = Math.min(maxProbe, firstProbe * 2 ** Math.min(probes, 30))
      probeTimer(runProbe, random() * span)
    }
    const probeFailed = () => {
      if (closed) return
      probe = undefined
      probes++
      scheduleProbe()
    }
    const runProbe = () => {
      Promise.resolve()
        .then(() => (typeof url === 'function' ? url() : url))
        .then(endpoint)
        .then((at) => {
          if (closed) return
          const WebSocket = options.WebSocket ?? globalThis.WebSocket
          const socket = openSocket(at.ws, socketSettings(WebSocket), {
            open(l) {
              // Move without loss: the SSE stream stops first, so whatever it would still
              // have said is sent again on the socket, from the host's cursors, when it
              // resubscribes; the engine stays `open` throughout.
              const sse = current
              current = socket
              probe = undefined
              sse?.close()
              unlink()
              socketOpened(at)
              link(l, 'websocket')
            },
            data: read,
            fail(error, retryable, beforeOpen) {
              if (beforeOpen) probeFailed()
              else fail(error, retryable)
            },
          })
          probe = socket
        })
        .catch(probeFailed)
    }

    Promise.resolve()
      .then(() => (typeof url === 'function' ? url() : url))
      .then(
        (href) => {
          if (closed) return
          let at: Endpoint
          try {
            at = endpoint(href)
          } catch (cause) {
            // The same url fails the same way on every try: final. Its text may quote the
            // url (and a token in it): it stays in `cause` only.
            return fail(new RealtimeError('protocol', 'the url is not an http(s) or ws(s) url', { cause }), false)
          }
          const sse = mode === 'sse' || (mode === 'auto' && (failures >= after || remembered(at.key)))
          if (sse) startSse(at)
          else startSocket(at)
        },
        (cause: unknown) => fail(new RealtimeError('network', 'the url function failed', { cause }), true),
      )
      // A throw while starting (an injected fetch or WebSocket gone wrong) is a failure, not a crash.
      .catch((cause: unknown) => fail(new RealtimeError('network', 'the transport could not start', { cause }), true))

    return {
      close() {
        if (!closed) shut()
      },
    }
  }

  return Object.defineProperty(factory, 'kind', { get: () => kind, enumerable: true }) as RealtimeTransport
}
