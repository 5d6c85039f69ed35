/**
 * What the tests of apps built on tabwire/testing share (the component tests and the
 * simulator's): one MSW server per test file that the kit's mocks are given to, fresh
 * simulated tabs per test (closed after it, which closes every connection they made), and a
 * check that nothing wrote to console.error (React act() warnings, unhandled listener
 * errors…).
 */
import { cleanup, configure } from '@testing-library/react'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from 'vitest'
import { createTabs, type CreateTabsOptions, type SimulatedTabs } from '../../src/testing/index'

export const server = setupServer()

// waitFor's default budget (1 s) is wall-clock time: on a loaded machine a step that is not
// slow, only starved of CPU, can take longer. A wait ends as soon as its condition holds.
configure({ asyncUtilTimeout: 10_000 })

/**
 * Installs the per-file lifecycle and answers `tabs(n, options)`: `createTabs` whose tabs are
 * closed after the test.
 */
export function setupKit(): { tabs(count: number, options?: CreateTabsOptions): SimulatedTabs } {
  const open: SimulatedTabs[] = []
  let consoleError: ReturnType<typeof vi.spyOn>
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
  beforeEach(() => {
    consoleError = vi.spyOn(console, 'error')
  })
  afterEach(() => {
    cleanup()
    for (const tabs of open.splice(0)) tabs.closeAll()
    server.resetHandlers()
    const calls = consoleError.mock.calls
    consoleError.mockRestore()
    expect(calls, 'console.error was called').toEqual([])
  })
  afterAll(() => server.close())
  return {
    tabs(count, options) {
      const tabs = createTabs(count, options)
      open.push(tabs)
      return tabs
    },
  }
}
