/**
 * The conformance suite (test/testing/conformance) against the real handlers of
 * tabwire/server on a loopback `node:http` server; test/testing/conformance/mock.test.ts
 * runs the same cases against the MSW mocks of tabwire/testing.
 */
import { afterEach, vi } from 'vitest'
import { createRealtimeHandler } from '../../src/server/realtime'
import { createSseHandler } from '../../src/server/sse'
import { createWebSocketHandler } from '../../src/server/ws'
import { channelCases } from '../testing/conformance/channels.cases'
import type { Driver } from '../testing/conformance/clients'
import { realtimeCases } from '../testing/conformance/realtime.cases'
import { sseCases } from '../testing/conformance/sse.cases'
import { onCleanup, runCleanups, startServer } from './helpers'

afterEach(runCleanups)
// Above the suite's waits (10 s), so a wait that never ends fails with its diff; passing cases take milliseconds.
vi.setConfig({ testTimeout: 30_000 })

const server: Driver = {
  name: 'tabwire/server',
  async sse({ log, retry, lastEventIdParam }) {
    const handler = createSseHandler({ log, heartbeat: 0, batchWindow: 0, ...(retry === undefined ? {} : { retry }), ...(lastEventIdParam ? { lastEventIdParam } : {}) })
    return (await startServer({ request: handler })).url('/stream')
  },
  async channels({ channels, writable }) {
    const handler = createWebSocketHandler({ channels, heartbeat: 0, batchWindow: 0, ...(writable ? { writable, origins: '*' } : {}) })
    onCleanup(() => handler.close())
    return (await startServer({ upgrade: (request, socket, head) => handler.handleUpgrade(request, socket, head) })).url('/ws').replace('http', 'ws')
  },
  async realtime(options) {
    const handler = createRealtimeHandler({ heartbeat: 0, batchWindow: 0, origins: '*', ...options })
    onCleanup(() => handler.close())
    const started = await startServer({
      request: (request, response) => handler.handleRequest(request, response),
      upgrade: (request, socket, head) => handler.handleUpgrade(request, socket, head),
    })
    return started.url('/rt')
  },
}

sseCases(server)
channelCases(server)
realtimeCases(server)
