/**
 * <ConnectionStatus> over a real useEventSource (MSW SSE, the default share mode) with the
 * stream's timers and network signals in the test's hands: every status, the error in words,
 * the reconnect button, and axe in each state; and over useRealtime (its transport).
 */
import { act, render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { ConnectionStatus, type ConnectionStatusProps, describeError } from '../../src/components/index'
import type { EnvironmentSignal } from '../../src/core/index'
import { RealtimeError, RealtimeProvider, useEventSource, useRealtime } from '../../src/index'
import { manualTimers, server, setupHarness, sseStream, testFetch, testRegistry, uniqueUrl } from '../react/harness'
import { realtimeServer, testClient } from '../react/realtime-server'
import { expectNoAxeViolations } from './axe'

setupHarness()

function network() {
  const listeners = new Set<(s: EnvironmentSignal) => void>()
  return {
    current: (): EnvironmentSignal[] => [],
    subscribe(listener: (s: EnvironmentSignal) => void) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit: (signal: EnvironmentSignal) => listeners.forEach((l) => l(signal)),
  }
}

function setup() {
  const url = uniqueUrl('status')
  const stream = sseStream(url)
  const timers = manualTimers()
  const env = network()
  const registry = testRegistry()
  function Panel({ enabled = true, props = {} }: { enabled?: boolean; props?: Partial<ConnectionStatusProps> }) {
    const source = useEventSource(url, { enabled, registry, fetch: testFetch, timers, environment: env })
    return <ConnectionStatus source={source} {...props} />
  }
  const view = render(<Panel enabled={false} />)
  const root = () => view.container.querySelector('[data-tabwire-connection]')!
  const text = () => screen.getByRole('status').textContent
  const button = () => screen.queryByRole('button', { name: 'Reconnect now' })
  return { url, stream, timers, env, view, Panel, root, text, button, state: () => root().getAttribute('data-state') }
}

describe('<ConnectionStatus>', () => {
  it('idle, connecting, open, reconnecting (the error in words, the retry, a button that reconnects now), axe in each', async () => {
    const t = setup()
    expect([t.state(), t.text(), t.button()]).toEqual(['idle', 'Not connected', null])
    await expectNoAxeViolations(t.view.container)
    t.view.rerender(<t.Panel />)
    expect([t.state(), t.text()]).toEqual(['connecting', 'Connecting…'])
    await waitFor(() => expect(t.state()).toBe('open'))
    expect([t.text(), t.button()]).toEqual(['Live', null])
    await expectNoAxeViolations(t.view.container)

    t.stream.connection(0).client.close()
    await waitFor(() => expect(t.state()).toBe('reconnecting'))
    expect(t.text()).toBe('Reconnecting… The connection was lost or could not be made.')
    expect(t.root().getAttribute('data-error')).toBe('network')
    expect(t.view.container.querySelector('[data-tabwire-connection-attempt]')!.textContent).toBe('Retry 1')
    await expectNoAxeViolations(t.view.container)
    // Reconnect now: a new connection at once, without the retry timer running.
    await userEvent.setup().click(t.button()!)
    await waitFor(() => expect(t.state()).toBe('open'))
    expect(t.stream.connections).toHaveLength(2)
  })

  it('closed by the server (HTTP 204) and refused (401) are said in words; the button starts again', async () => {
    const t = setup()
    t.view.rerender(<t.Panel />)
    await waitFor(() => expect(t.state()).toBe('open'))
    server.use(http.get(t.url, () => new HttpResponse(null, { status: 204 }), { once: true }))
    t.stream.connection(0).client.close()
    await waitFor(() => expect(t.state()).toBe('reconnecting'))
    act(() => void t.timers.runAll())
    await waitFor(() => expect(t.state()).toBe('closed'))
    expect(t.text()).toBe('Disconnected The server ended the stream.')
    await expectNoAxeViolations(t.view.container)
    server.use(http.get(t.url, () => new HttpResponse(null, { status: 401 }), { once: true }))
    await userEvent.setup().click(t.button()!)
    await waitFor(() => expect(t.root().getAttribute('data-error')).toBe('auth'))
    expect([t.state(), t.text()]).toEqual(['closed', 'Disconnected Not signed in, or not allowed. Sign in again, then reconnect.'])
    await userEvent.setup().click(t.button()!)
    await waitFor(() => expect(t.state()).toBe('open'))
  })

  it('paused while offline, with the button; back to live when online', async () => {
    const t = setup()
    t.view.rerender(<t.Panel />)
    await waitFor(() => expect(t.state()).toBe('open'))
    act(() => t.env.emit('offline'))
    await waitFor(() => expect(t.state()).toBe('paused'))
    expect(t.text()).toBe('Paused')
    expect(t.button()).not.toBeNull()
    await expectNoAxeViolations(t.view.container)
    act(() => t.env.emit('online'))
    await waitFor(() => expect(t.state()).toBe('open'))
  })

  it('takes labels and error words of its own; a new source object with the same fields does not render it', () => {
    let described = 0
    const describe = () => `custom ${++described}`
    const error = new RealtimeError('http', 'x', { status: 503 })
    const props = { labels: { reconnecting: 'Nouvelle tentative…' }, describeError: describe }
    const view = render(<ConnectionStatus source={{ status: 'reconnecting', error, attempt: 2 }} {...props} />)
    expect(screen.getByRole('status').textContent).toBe('Nouvelle tentative… custom 1')
    view.rerender(<ConnectionStatus source={{ status: 'reconnecting', error, attempt: 2 }} {...props} />)
    expect(described).toBe(1)
    view.rerender(<ConnectionStatus source={{ status: 'reconnecting', error, attempt: 3 }} {...props} />)
    expect(described).toBe(2)
  })

  it('never shows the raw error text (it may carry what a server said)', () => {
    const error = new RealtimeError('protocol', '<img src=x onerror="globalThis.pwned=1"> from the server')
    const { container } = render(<ConnectionStatus source={{ status: 'reconnecting', error }} />)
    expect(container.textContent).not.toContain('from the server')
    expect(container.querySelector('img')).toBeNull()
    expect(describeError(new RealtimeError('http', 'x', { status: 503 }))).toBe('The server answered with an error (HTTP 503).')
  })

  it('shows a realtime connection and its transport', async () => {
    const srv = realtimeServer('status')
    const { client } = testClient(srv, undefined)
    function Panel() {
      return <ConnectionStatus source={useRealtime('feed')} />
    }
    const { container } = render(
      <RealtimeProvider client={client}>
        <Panel />
      </RealtimeProvider>,
    )
    await waitFor(() => expect(container.querySelector('[data-tabwire-connection]')!.getAttribute('data-state')).toBe('open'))
    expect(container.querySelector('[data-tabwire-connection]')!.getAttribute('data-transport')).toBe('websocket')
  })
})
