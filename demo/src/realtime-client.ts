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
  // The server's heartbeat comes every 2 s (SSE comments; pongs to the pings below): a link
  // silent for three of them is dead, even with the short `?idle=` of the tests.
  idleTimeout: Math.max(config.idle, 6000),
  heartbeat: Math.max(1000, Math.round(config.idle / 3)),
  fallback: { probe: config.probe, maxProbe: config.maxProbe },
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
