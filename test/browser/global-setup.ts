import type { TestProject } from 'vitest/node'
import { startSseServer } from '../fixtures/sse-server'
import { startWsFixture } from '../fixtures/ws-server'
import { startBurstServer } from './burst-server'

declare module 'vitest' {
  interface ProvidedContext {
    /** Base URL of the loopback SSE fixture server, e.g. `http://127.0.0.1:41234`. */
    sseBase: string
    /**
     * Base URL of the WebSocket fixture's control server, e.g. `http://127.0.0.1:41235`
     * (http, not ws): `POST /servers` there makes a WebSocket server of the test's own and
     * answers its `ws://` URL (see test/fixtures/ws-server.ts).
     */
    wsBase: string
  }
}

/** Starts the loopback SSE and WebSocket servers for the browser project and stops them after the run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [sse, ws, burst] = await Promise.all([startSseServer(), startWsFixture(), startBurstServer(project)])
  project.provide('sseBase', sse.url)
  project.provide('wsBase', ws.url)
  return async () => {
    await Promise.all([sse.close(), ws.close(), burst.close()])
  }
}
