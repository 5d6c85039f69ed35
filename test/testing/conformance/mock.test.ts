/**
 * The conformance suite against the MSW mocks of tabwire/testing, in jsdom as an app's
 * tests run them; test/server/conformance.test.ts runs the same cases against tabwire/server.
 */
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { mockRealtimeHandler, mockSseHandler, mockWebSocketHandler } from '../../../src/testing/mocks'
import { channelCases } from './channels.cases'
import type { Driver } from './clients'
import { realtimeCases } from './realtime.cases'
import { sseCases } from './sse.cases'

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

/**
 * One url per endpoint, as an app's tests have: each test makes fresh mocks (its handlers
 * go at the end of it), and the mocks reuse one MSW `ws.link` per url (MSW 3 adds a
 * process-wide listener per link and never removes it).
 */
const url = (name: string) => `http://localhost/conformance/${name}`

const mocks: Driver = {
  name: 'tabwire/testing mocks',
  async sse(options) {
    const address = url('sse')
    server.use(...mockSseHandler(address, options).handlers)
    return address
  },
  async channels(options) {
    const address = url('ws').replace('http', 'ws')
    server.use(...mockWebSocketHandler(address, options).handlers)
    return address
  },
  async realtime(options) {
    const address = url('rt')
    server.use(...mockRealtimeHandler(address, options).handlers)
    return address
  },
}

sseCases(mocks)
channelCases(mocks)
realtimeCases(mocks)
