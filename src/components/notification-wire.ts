import type { Presence } from './tab-presence'

/** How urgent a notification is: `warning` and `error` are announced assertively. */
export type Severity = 'info' | 'success' | 'warning' | 'error'

/** A notification as the stream sends it (the default `read` takes this shape). */
export interface NotificationInput {
  /** Unique per notification: a second one with the same id (a replay, a resend) is ignored. */
  id: string
  title: string
  body?: string
  /** @defaultValue 'info' */
  severity?: Severity
  /** When it happened (ms since the epoch). @defaultValue when this tab got it */
  time?: number
}

/** A notification in the inbox. Immutable; keeps its identity until it changes (say, read). */
export interface InboxItem {
  readonly id: string
  readonly title: string
  readonly body: string | undefined
  readonly severity: Severity
  readonly time: number
  readonly read: boolean
}

const SEVERITIES: readonly string[] = ['info', 'success', 'warning', 'error']
const MAX_ID = 256
const MAX_TEXT = 10_000
const MAX_TIME = 8.64e15
/** Most ids one message between tabs may carry. */
export const MAX_IDS = 1000

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max
const record = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined)

/** The item `input` describes, or a reason it is not one. Untrusted: from a server or another tab. */
export function toItem(input: unknown, receivedAt: number, read = false): InboxItem | string {
  const o = record(input)
  if (!o) return 'a notification is an object'
  const { id, title, body, severity = 'info', time = receivedAt } = o
  if (!isText(id, MAX_ID) || id === '') return `a notification's id is a non-empty string of at most ${MAX_ID} characters`
  if (!isText(title, MAX_TEXT)) return `a notification's title is a string of at most ${MAX_TEXT} characters`
  if (body !== undefined && !isText(body, MAX_TEXT)) return `a notification's body is a string of at most ${MAX_TEXT} characters`
  if (typeof severity !== 'string' || !SEVERITIES.includes(severity)) return `a notification's severity is one of ${SEVERITIES.join(', ')}`
  // Beyond ±8.64e15 ms a Date is invalid, and rendering its ISO string would throw.
  if (typeof time !== 'number' || !(Math.abs(time) <= MAX_TIME)) return `a notification's time is ms since the epoch, at most ${MAX_TIME} either way`
  return { id, title, body, severity: severity as Severity, time, read }
}

/** What tabs say to each other on the center's channel (every message carries `v` and `from`). */
export type TabMessage =
  | { t: 'hello' }
  | { t: 'bye' }
  | { t: 'presence'; presence: Presence }
  | { t: 'state'; items: InboxItem[]; read: string[] }
  | { t: 'read'; ids: string[] }

export const WIRE_VERSION = 1

const ids = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.length <= MAX_IDS && v.every((id) => isText(id, MAX_ID)) ? (v as string[]) : undefined

/**
 * Reads a message from another tab: `[from, message]`, or undefined for anything else (another
 * version, another app on the same name, a malformed or oversized message).
 */
export function readTabMessage(data: unknown): [string, TabMessage] | undefined {
  const o = record(data)
  if (!o || o.v !== WIRE_VERSION || !isText(o.from, MAX_ID)) return undefined
  const from = o.from
  switch (o.t) {
    case 'hello':
    case 'bye':
      return [from, { t: o.t }]
    case 'presence': {
      const p = record(o.presence)
      if (!p || typeof p.focused !== 'boolean' || !Number.isSafeInteger(p.seq) || (p.seq as number) < 0) return undefined
      return [from, { t: 'presence', presence: { focused: p.focused, seq: p.seq as number } }]
    }
    case 'read': {
      const list = ids(o.ids)
      return list && [from, { t: 'read', ids: list }]
    }
    case 'state': {
      const read = ids(o.read)
      if (!read || !Array.isArray(o.items) || o.items.length > MAX_IDS) return undefined
      const items: InboxItem[] = []
      for (const raw of o.items) {
        const item = toItem(raw, 0, record(raw)?.read === true)
        if (typeof item === 'string') return undefined
        items.push(item)
      }
      return [from, { t: 'state', items, read }]
    }
    default:
      return undefined
  }
}
