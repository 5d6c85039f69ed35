/**
 * <ConnectionStatus> over a real useEventSource (MSW SSE, the default share mode) with the
 * stream's timers and network signals in the test's hands: every status, the error in words,
 * the reconnect button, and axe in each state; and over useRealtime (its transport).
 */
import { Profiler } from 'react'
import { act, render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { ConnectionStatus, type ConnectionStatusProps, describeError } from '../../src/components/index'
import type { EnvironmentSignal } from '../../src/core/index'
import { type Registry, RealtimeError, RealtimeProvider, useEventSource, type UseEventSourceOptions, useRealtime } from '../../src/index'
import { manualTimers, server, setupHarness, sseStream, steadyEnvironment, testFetch, testRegistry, uniqueUrl } from '../react/harness'
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

function setup(options: UseEventSourceOptions<string> = {}) {
  const url = uniqueUrl('status')
  const stream = sseStream(url)
  const timers = manualTimers()
  const env = network()
  const registry = testRegistry()
  function Panel({ enabled = true, props = {} }: { enabled?: boolean; props?: Partial<ConnectionStatusProps> }) {
    const source = useEventSource(url, { enabled, registry, fetch: testFetch, timers, environment: env, ...options })
    return <ConnectionStatus source={source} {...props} />
  }
  const view = render(<Panel enabled={false} />)
  const root = () => view.container.querySelector('[data-tabwire-connection]')!
  const text = () => screen.getByRole('status').textContent
  const button = () => screen.queryByRole('button', { name: 'Reconnect now' })
  const part = (name: string) => view.container.querySelector(`[data-tabwire-connection-${name}]`)
  return { url, stream, timers, env, view, Panel, root, text, button, part, state: () => root().getAttribute('data-state') }
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
    expect(t.text()).toBe('Paused You are offline.')
    expect(t.part('paused')!.getAttribute('data-reason')).toBe('offline')
    expect(t.button()).not.toBeNull()
    await expectNoAxeViolations(t.view.container)
    act(() => t.env.emit('online'))
    await waitFor(() => expect(t.state()).toBe('open'))
    expect([t.text(), t.part('paused')]).toEqual(['Live', null])
  })

  it('counts down to the next attempt once a second on the injected clock and timers, outside the live region; only the countdown renders', async () => {
    let now = 1_800_000_000_000
    const clock = () => now
    const ui = manualTimers()
    // The first retry 3 s after the failure (random 0.5 of initialDelay 6000).
    const t = setup({ now: clock, random: () => 0.5, initialDelay: 6000 })
    let commits = 0
    t.view.rerender(
      <Profiler id="status" onRender={() => void commits++}>
        <t.Panel props={{ now: clock, timers: ui }} />
      </Profiler>,
    )
    await waitFor(() => expect(t.state()).toBe('open'))
    expect([t.part('retry'), ui.delays()]).toEqual([null, []])
    t.stream.connection(0).client.close()
    await waitFor(() => expect(t.state()).toBe('reconnecting'))
    const countdown = () => t.part('retry')?.textContent
    expect([countdown(), ui.delays()]).toEqual(['Retrying in 3 s', [1000]])
    expect(t.part('retry')!.closest('[role="status"]')).toBeNull()
    await expectNoAxeViolations(t.view.container)
    const seen: string[] = []
    const before = commits
    // Each timer that fires is one render, and the next is set for when the number shown
    // changes: 400 ms after a timer woken 600 ms in (early, as the test runs it), then
    // every second, then for the last 500 ms. At 0 it is due, and nothing more is set.
    for (const ms of [600, 400, 1000, 500, 500]) {
      now += ms
      act(() => void ui.runAll())
      seen.push(`${countdown()} [${ui.delays()}]`)
    }
    expect(seen).toEqual(['Retrying in 3 s [400]', 'Retrying in 2 s [1000]', 'Retrying in 1 s [1000]', 'Retrying in 1 s [500]', 'Retrying now []'])
    expect(commits - before).toBe(5)
    // The engine's retry: the countdown goes with the new attempt.
    act(() => void t.timers.run(3000))
    await waitFor(() => expect(t.state()).toBe('open'))
    expect([t.part('retry'), ui.delays()]).toEqual([null, []])
  })

  it('nothing renders on its own while no retry is due', async () => {
    const ui = manualTimers()
    const t = setup()
    t.view.rerender(<t.Panel props={{ timers: ui }} />)
    await waitFor(() => expect(t.state()).toBe('open'))
    expect(ui.delays()).toEqual([])
  })

  it('a badge says whether this tab leads the shared connection, follows it, or has its own (data-role)', async () => {
    const url = uniqueUrl('roles')
    sseStream(url)
    // Each tab has its registry (as each real tab has): they meet through locks and BroadcastChannel.
    function Tab({ registry, share }: { registry: Registry; share?: 'tab' }) {
      const source = useEventSource(url, { registry, fetch: testFetch, environment: steadyEnvironment, share })
      return <ConnectionStatus source={source} />
    }
    const badge = (view: ReturnType<typeof render>) => {
      const el = view.container.querySelector('[data-tabwire-connection-role]')
      return `${el?.getAttribute('data-role')}: ${el?.textContent}`
    }
    const leader = render(<Tab registry={testRegistry()} />)
    await waitFor(() => expect(badge(leader)).toBe('leader: This tab leads'))
    const follower = render(<Tab registry={testRegistry()} />)
    await waitFor(() => expect(badge(follower)).toBe('follower: Via another tab'))
    const solo = render(<Tab registry={testRegistry()} share="tab" />)
    await waitFor(() => expect(badge(solo)).toBe('solo: This tab only'))
    await expectNoAxeViolations(follower.container)
    // The role is not announced: the live region holds the status alone.
    expect(follower.container.querySelector('[role="status"]')!.textContent).toBe('Live')
  })

  it('takes words of its own for roles, pause reasons and the countdown', () => {
    const labels = { paused: 'En pause', offline: 'Hors ligne.', follower: 'Suit un autre onglet' }
    const retryIn = (s: number) => `Nouvel essai dans ${s} s`
    const now = () => 10_000
    const view = render(<ConnectionStatus source={{ status: 'paused', paused: 'offline', role: 'follower' }} labels={labels} />)
    expect(view.container.textContent).toBe('En pause Hors ligne.Suit un autre onglet')
    view.rerender(<ConnectionStatus source={{ status: 'reconnecting', retryAt: 12_500, role: 'follower' }} labels={labels} retryIn={retryIn} now={now} />)
    expect(view.container.querySelector('[data-tabwire-connection-retry]')!.textContent).toBe('Nouvel essai dans 3 s')
    // Each field alone renders it again (a leader change, a new retry time, another reason).
    view.rerender(<ConnectionStatus source={{ status: 'reconnecting', retryAt: 14_500, role: 'follower' }} labels={labels} retryIn={retryIn} now={now} />)
    expect(view.container.querySelector('[data-tabwire-connection-retry]')!.textContent).toBe('Nouvel essai dans 5 s')
    view.rerender(<ConnectionStatus source={{ status: 'reconnecting', retryAt: 14_500, role: 'leader' }} labels={labels} retryIn={retryIn} now={now} />)
    expect(view.container.querySelector('[data-tabwire-connection-role]')!.textContent).toBe('This tab leads')
    view.rerender(<ConnectionStatus source={{ status: 'paused', paused: 'offline', role: 'leader' }} labels={labels} />)
    view.rerender(<ConnectionStatus source={{ status: 'paused', paused: 'hidden', role: 'leader' }} labels={labels} />)
    expect(screen.getByRole('status').textContent).toBe('En pause The page is hidden.')
    view.unmount()
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
