import type { TestProject } from 'vitest/node'
import { startSseServer } from '../fixtures/sse-server'

declare module 'vitest' {
  interface ProvidedContext {
    /** Base URL of the loopback SSE fixture server, e.g. `http://127.0.0.1:41234`. */
    sseBase: string
  }
}

/** Starts the loopback SSE server for the browser project and stops it after the run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startSseServer()
  project.provide('sseBase', server.url)
  return () => server.close()
}
