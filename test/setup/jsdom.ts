import { EventSource } from 'eventsource'

// MSW's `sse()` handlers need a global EventSource, which jsdom lacks; the polyfill is
// only for the test environment (tabwire's default transport is fetch).
if (typeof globalThis.EventSource !== 'function') {
  Object.assign(globalThis, { EventSource })
}
