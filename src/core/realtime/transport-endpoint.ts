import type { RealtimeTransportOptions } from './transport-types'

/** Where the url points, for each transport, and the storage key it is remembered under. */
export interface Endpoint {
  http: string
  ws: string
  key: string
}

/**
 * The url resolved against the page, as http(s) for SSE and ws(s) for the WebSocket. The
 * same endpoint serves both, so either scheme may be given. A fragment is dropped (a
 * WebSocket refuses one). The key leaves out the query, where tokens go.
 */
export function endpoint(href: unknown): Endpoint {
  const url = new URL(href as string, (globalThis as { location?: { href?: string } }).location?.href)
  url.hash = ''
  const secure = /^(https|wss):$/.test(url.protocol)
  if (!/^(https?|wss?):$/.test(url.protocol)) throw new TypeError(`${url.protocol} is not an http(s) or ws(s) scheme`)
  url.protocol = secure ? 'https:' : 'http:'
  const http = url.href
  url.protocol = secure ? 'wss:' : 'ws:'
  return { http, ws: url.href, key: `tabwire:rt:${http.split('?')[0]}` }
}

/** The session storage, where there is one (reading it throws in some sandboxed frames). */
function defaultStorage(): NonNullable<RealtimeTransportOptions['storage']> | null {
  try {
    return (globalThis as { sessionStorage?: Storage }).sessionStorage ?? null
  } catch {
    return null
  }
}

/**
 * Where `'auto'` remembers, per endpoint key, that SSE worked when WebSockets did not, so a
 * reload skips the failed attempts. A full or refused storage only costs them again.
 */
export function transportMemory(option: RealtimeTransportOptions['storage']) {
  const storage = option === undefined ? defaultStorage() : option
  return {
    remember(key: string, on: boolean) {
      try {
        if (on) storage?.setItem(key, 'sse')
        else storage?.removeItem(key)
      } catch {
        // Nothing to do: the memory is a shortcut, not a need.
      }
    },
    remembered(key: string) {
      try {
        return storage?.getItem(key) === 'sse'
      } catch {
        return false
      }
    },
  }
}
