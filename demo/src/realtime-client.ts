import { createRealtime } from 'tabwire/core'
import { config } from './config.ts'
import { recording } from './recorder.ts'

/**
 * The page's one realtime client: every channel of the Realtime panel rides one connection
 * per browser (`/api/realtime`), WebSocket first, SSE with POST where WebSockets fail.
 */
export const realtime = createRealtime({
  url: '/api/realtime',
  share: config.share,
  initialDelay: config.delay,
  maxDelay: config.maxDelay,
  // The server sends a heartbeat every second at least: a link silent for 3 s is dead.
  idleTimeout: Math.max(config.idle, 3000),
  heartbeat: Math.max(1000, Math.round(config.idle / 3)),
  fallback: { probe: config.probe, maxProbe: config.maxProbe },
  // The SSE link calls the default fetch as a method of its settings object, which a browser
  // refuses ("Illegal invocation"): without this wrapper the fallback to SSE never connects.
  fetch: (input, init) => fetch(input, init),
})

// Recorded here, not in a component: every change, also those React would batch away.
let last = realtime.getSnapshot()
realtime.subscribe(() => {
  const now = realtime.getSnapshot()
  if (now.transport !== last.transport || now.status !== last.status) {
    recording.realtime.transports.push({ transport: now.transport, status: now.status, at: Date.now() })
  }
  last = now
})

declare global {
  interface Window {
    /** The page's realtime client, for tests and for poking at in devtools. */
    __realtime: typeof realtime
  }
}
window.__realtime = realtime
