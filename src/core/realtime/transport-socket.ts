import { closeCodeOutcome } from '../close-codes'
import { RealtimeError } from '../errors'
import type { Timers } from '../runtime'
import type { FrameLink, RealtimeClientFrame } from './transport-types'

/** What one realtime WebSocket needs from the transport that opens it. */
export interface SocketSettings {
  WebSocket: typeof WebSocket
  timers: Timers
  /** ms before a socket that has not opened counts as failed. */
  connectTimeout: number
  /** ms between `ping` texts while open; 0 is off. */
  heartbeat: number
  /** Reports a frame that could not be sent (it does not end the link). */
  report(error: RealtimeError): void
}

/** What a realtime WebSocket tells the transport that opened it. Never called after `close()`. */
export interface SocketEvents {
  /** The handshake is done: frames can go out through `link`. */
  open(link: FrameLink): void
  /** A message arrived (only after `open`). */
  data(data: unknown): void
  /**
   * The socket failed or closed; it is already shut. `beforeOpen`: it never opened (refused,
   * closed or errored during the handshake, or not open within `connectTimeout`).
   */
  fail(error: RealtimeError, retryable: boolean, beforeOpen: boolean): void
}

/** One frame as JSON text, or undefined (reported) for a frame JSON cannot carry (a BigInt, a cycle). */
export function frameText(frame: RealtimeClientFrame, report: (error: RealtimeError) => void): string | undefined {
  try {
    return JSON.stringify(frame)
  } catch (cause) {
    report(new RealtimeError('protocol', `a '${frame.type}' frame could not be serialized and was not sent`, { cause }))
  }
}

/**
 * Opens one WebSocket for the realtime protocol: a connect clock, `ping` texts while open,
 * and closes turned into failures by the close-code table (see `closeCodeOutcome`). `href`
 * is a ws: or wss: url, already checked.
 */
export function openSocket(href: string, settings: SocketSettings, events: SocketEvents): { close(): void } {
  const { timers } = settings
  let done = false
  let opened = false
  let timer: unknown
  let ws: WebSocket | undefined

  const shut = (code?: number) => {
    done = true
    timers.clearTimeout(timer)
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null
      try {
        ws.close(code)
      } catch {
        // A socket that cannot take the code is closing anyway.
      }
    }
  }
  const fail = (error: RealtimeError, retryable: boolean) => {
    if (done) return
    shut()
    events.fail(error, retryable, !opened)
  }
  const ping = () =>
    (timer = timers.setTimeout(() => {
      try {
        ws!.send('ping')
      } catch {
        // A socket that is closing discards it; its close event follows.
      }
      ping()
    }, settings.heartbeat))

  try {
    ws = new settings.WebSocket(href)
  } catch (cause) {
    // Reported a tick later, so the caller holds the handle before it hears of the failure.
    // The thrown text may quote the url (and a token in it): it stays in `cause` only.
    Promise.resolve().then(() => fail(new RealtimeError('protocol', 'the WebSocket constructor refused the url', { cause }), false))
    return { close: () => void (done || shut()) }
  }
  const socket = ws
  timer = timers.setTimeout(() => fail(new RealtimeError('timeout', 'the socket did not open in time'), true), settings.connectTimeout)
  socket.onopen = () => {
    if (done) return
    opened = true
    timers.clearTimeout(timer)
    if (settings.heartbeat > 0) ping()
    events.open({
      send(frames) {
        for (const frame of frames) {
          if (done) return
          const text = frameText(frame, settings.report)
          if (text === undefined) continue
          try {
            socket.send(text)
          } catch {
            // Not open any more: its close event follows, and the host resends on the next link.
          }
        }
      },
    })
  }
  socket.onmessage = (event) => {
    if (!done && opened) events.data(event.data)
  }
  // Before the handshake, an error is the failure (browsers fire it before close, and say
  // nothing more). After it, the close that follows carries the code.
  socket.onerror = () => {
    if (!opened) fail(new RealtimeError('network', 'the socket could not be opened'), true)
  }
  socket.onclose = (event) => {
    if (!opened) return fail(new RealtimeError('network', `the socket closed before it opened (${event.code})`, { status: event.code }), true)
    const kind = closeCodeOutcome(event.code)
    const text = `the socket closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`
    fail(new RealtimeError(kind ?? 'network', text, { status: event.code }), !kind)
  }
  return { close: () => void (done || shut(1000)) }
}
