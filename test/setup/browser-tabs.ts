/**
 * Gives the hook tests what a browser tab has for `share: 'tabs'` (the default): a real Web
 * Locks manager whose grants arrive in a later task, and a BroadcastChannel. Without it,
 * jsdom has no `navigator.locks` and every hook test would silently run the
 * one-connection-per-tab fallback.
 *
 * Where Node's lock manager comes from: Vitest's jsdom environment replaces the global
 * `navigator` with jsdom's (which has no `locks`) before setup files run, and keeps Node's
 * descriptor to itself. Node exports the same manager as `locks` from `node:worker_threads`,
 * so there is nothing to grab early. BroadcastChannel is Node's own (jsdom has none);
 * listeners get a MessageEvent whose `data` is all the library reads.
 *
 * Two "tabs" in a test are two registries (see test/react/tabs.test.tsx): they meet only
 * through these two globals, as real tabs do. Each test file gets a scope of its own.
 */
import { randomUUID } from 'node:crypto'
import { locks } from 'node:worker_threads'
import { browserLikeLocks, scopedBroadcastChannel } from './browser-like-locks'

const scope = `test-file-${randomUUID()}`

Object.defineProperty(globalThis.navigator, 'locks', { configurable: true, enumerable: true, value: browserLikeLocks(locks, { scope }) })
globalThis.BroadcastChannel = scopedBroadcastChannel(globalThis.BroadcastChannel, scope)
