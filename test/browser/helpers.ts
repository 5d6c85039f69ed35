/** Helpers for the real-browser tests: fixture-server control and connection recorders. */
import { expect, inject, onTestFinished, vi } from 'vitest'
import { commands } from 'vitest/browser'
import type { Connection } from '../../src/core/connection'
import type { RealtimeErrorKind } from '../../src/core/errors'
import type { ConnectionStatus } from '../../src/core/machine'
import type { StreamStats } from '../fixtures/sse-server'
import './commands'

export const base = (): string => inject('sseBase')

let counter = 0
/** A stream name no other test uses (tests may run side by side against one server). */
export const uniqueName = (label: string): string => `${label}-${Date.now().toString(36)}-${++counter}`

export const streamUrl = (name: string, params: Record<string, string | number> = {}): string => {
  const url = new URL(`/sse/${encodeURIComponent(name)}`, base())
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value))
  return url.toString()
}

const controlUrl = (name: string, action?: string, params: Record<string, string | number> = {}): string => {
  const url = new URL(`/control/${encodeURIComponent(name)}${action ? `/${action}` : ''}`, base())
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value))
  return url.toString()
}

/** POSTs a control action from the page (cross-origin, so it also exercises the server's CORS). */
export async function control<R = unknown>(name: string, action: string, params: Record<string, string | number> = {}): Promise<R> {
  const response = await fetch(controlUrl(name, action, params), { method: 'POST' })
  if (!response.ok) throw new Error(`control ${action} on ${name} answered ${response.status}`)
  return (await response.json()) as R
}

/** The server's view of a stream, fetched from the page. */
export async function stats(name: string): Promise<StreamStats> {
  const response = await fetch(controlUrl(name), { cache: 'no-store' })
  if (!response.ok) throw new Error(`stats of ${name} answered ${response.status}`)
  return (await response.json()) as StreamStats
}

/** `['1', '2', …, String(n)]` */
export const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i + 1))

export interface Recording {
  /** Every status the connection went through, consecutive repeats removed. */
  statuses: ConnectionStatus[]
  /** `status:errorKind` at each status change (errorKind `-` when there is none). */
  steps: string[]
  /** Every error reported through `onError`, in order. */
  errors: { kind: RealtimeErrorKind; status: number | undefined; at: number }[]
  /** The id of every message, in the order `onMessage` got them. */
  ids: (string | undefined)[]
  /** `data.seq` of every message, to check data and id agree. */
  seqs: number[]
}

/**
 * Records what a connection does, from its very first status, and closes it when the
 * test ends (a leaked stream would hold one of Chromium's 6 connections per host).
 */
export function record(connection: Connection<{ seq: number }>): Recording {
  const rec: Recording = { statuses: [], steps: [], errors: [], ids: [], seqs: [] }
  const take = () => {
    const { status, error } = connection.getSnapshot()
    if (rec.statuses.at(-1) === status) return
    rec.statuses.push(status)
    rec.steps.push(`${status}:${error?.kind ?? '-'}`)
  }
  take()
  connection.subscribe(take)
  connection.onError((e) => rec.errors.push({ kind: e.kind, status: e.status, at: performance.now() }))
  connection.onMessage((m) => {
    rec.ids.push(m.id)
    rec.seqs.push(m.data.seq)
  })
  onTestFinished(() => connection.close())
  return rec
}

/** Waits until the connection has received at least `n` messages in all. */
export async function received(rec: Recording, n: number, timeout = 3000): Promise<void> {
  await vi.waitFor(
    () => {
      if (rec.ids.length < n) throw new Error(`received ${rec.ids.length} of ${n} messages`)
    },
    { timeout, interval: 10 },
  )
}

/** The messages were exactly 1..n, each once, in order, with data matching the id. */
export function expectExactSequence(rec: Recording, atLeast: number): void {
  expect(rec.ids.length).toBeGreaterThanOrEqual(atLeast)
  expect(rec.ids).toEqual(ids(rec.ids.length))
  expect(rec.seqs).toEqual(rec.ids.map(Number))
}

/**
 * Waits `ms`, or less if `stop()` turns true first: for asserting that something does
 * not happen, which no poll can show.
 */
export async function watch(ms: number, stop: () => boolean): Promise<void> {
  const until = performance.now() + ms
  while (performance.now() < until && !stop()) await new Promise((resolve) => setTimeout(resolve, 10))
}

/**
 * Runs `body` while this session's browser is in Playwright's offline mode for `ms`, and
 * resolves with the window's times (Vitest-process clock) once it is online again.
 * Offline also holds the page's link to Vitest: `body` must not await a command or the
 * fixture server. On a failure it still waits for the window to end, so the next test
 * never starts offline.
 */
export async function whileOffline(ms: number, body: () => Promise<void>): Promise<{ offStart: number; offAt: number; onAt: number }> {
  const window = commands.offlineFor(ms)
  try {
    await body()
  } catch (failure) {
    await window.catch(() => {})
    throw failure
  }
  return window
}
