/**
 * RealtimeProvider and useRealtimeClient: the client comes from the app, through the
 * provider or the hook's `client` option; without either, misuse throws at once naming the fix.
 */
import { render, renderHook, waitFor } from '@testing-library/react'
import { createElement, type ReactNode, version } from 'react'
import { describe, expect, it, vi } from 'vitest'
import type { RealtimeClient } from '../../src/core/realtime/client-types'
import { RealtimeProvider, useRealtimeClient } from '../../src/react/realtime-provider'
import { useRealtime } from '../../src/react/use-realtime'
import { setupHarness } from './harness'
import { realtimeServer, testClient } from './realtime-server'

setupHarness()

const reactMajor = Number(version.split('.')[0])

/**
 * Expects rendering to throw `expected`. React 18 also logs an error thrown in render
 * (19 rethrows it without logging): that one line per throw, and nothing else, is expected.
 */
function expectRenderThrows(renderIt: () => unknown, expected: RegExp | typeof TypeError, component = 'TestComponent') {
  expect(renderIt).toThrow(expected)
  if (reactMajor >= 19) return
  const consoleError = vi.mocked(console.error)
  expect(consoleError.mock.calls.map(([first]) => String(first).split('\n')[0])).toEqual([`The above error occurred in the <${component}> component:`])
  consoleError.mockClear()
}

const under = (client: RealtimeClient) => ({ children }: { children: ReactNode }) => createElement(RealtimeProvider, { client }, children)

describe('RealtimeProvider', () => {
  it('gives its client to useRealtimeClient and useRealtime below it', async () => {
    const srv = realtimeServer('provider')
    const { client } = testClient(srv, 'tab')
    const { result } = renderHook(() => ({ client: useRealtimeClient(), room: useRealtime<string>('room') }), { wrapper: under(client) })
    expect(result.current.client).toBe(client)
    await waitFor(() => expect(srv.subscribed()).toEqual(['room']))
    srv.emit('room', 'via the provider')
    await waitFor(() => expect(result.current.room.data).toBe('via the provider'))
  })

  it('the hook’s client option wins over the provider’s', async () => {
    const srv = realtimeServer('override')
    const other = realtimeServer('unused')
    const { client } = testClient(srv, 'tab')
    const { client: provided } = testClient(other, 'tab')
    const { result } = renderHook(() => useRealtime<string>('room', { client }), { wrapper: under(provided) })
    await waitFor(() => expect(srv.subscribed()).toEqual(['room']))
    srv.emit('room', 'from the option')
    await waitFor(() => expect(result.current.data).toBe('from the option'))
    expect(other.connections).toHaveLength(0)
    expect(provided.peek('room')).toBeUndefined()
  })

  it('without a provider or a client option, useRealtime throws a TypeError naming the fix', () => {
    expectRenderThrows(() => renderHook(() => useRealtime('room')), TypeError)
    expectRenderThrows(
      () => renderHook(() => useRealtime('room')),
      /useRealtime: no realtime client: wrap the tree in <RealtimeProvider client=\{createRealtime\(\{ url \}\)\}> or pass `\{ client \}`/,
    )
    expectRenderThrows(() => renderHook(() => useRealtimeClient()), /RealtimeProvider/)
  })

  it('a provider without a client, and a bad channel name, throw at once', () => {
    const srv = realtimeServer('misuse')
    const { client } = testClient(srv, 'tab')
    expectRenderThrows(
      () => render(createElement(RealtimeProvider, { client: undefined as unknown as RealtimeClient })),
      /RealtimeProvider: expected `client=\{createRealtime/,
      'RealtimeProvider',
    )
    expectRenderThrows(() => renderHook(() => useRealtime('', { client })), /useRealtime: a channel name is a non-empty string/)
    expectRenderThrows(() => renderHook(() => useRealtime('x'.repeat(257), { client })), TypeError)
    expect(srv.connections).toHaveLength(0)
  })
})
