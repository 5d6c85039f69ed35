'use client'
import { createContext, createElement, type ReactNode, useContext } from 'react'
import { misuse } from '../core/errors'
import type { RealtimeClient } from '../core/realtime/client-types'

declare const process: { env: Record<string, string | undefined> }

const RealtimeContext = createContext<RealtimeClient | null>(null)

/** Props of {@link RealtimeProvider}. */
export interface RealtimeProviderProps {
  /** The client the app made with `createRealtime` (tabwire/core); the provider never makes one. */
  client: RealtimeClient
  children?: ReactNode
}

/**
 * Gives `useRealtime` in the tree below the realtime client to use. The app creates the
 * client once (at module level or in a ref), so a re-render never makes another connection.
 * @example
 * const realtime = createRealtime({ url: '/realtime' })
 * root.render(<RealtimeProvider client={realtime}><App /></RealtimeProvider>)
 */
export function RealtimeProvider({ client, children }: RealtimeProviderProps): ReactNode {
  if (!client || typeof client.channel !== 'function') {
    throw misuse('RealtimeProvider', 'client', process.env.NODE_ENV !== 'production' && 'expected `client={createRealtime({ url })}` (tabwire/core)')
  }
  return createElement(RealtimeContext.Provider, { value: client }, children)
}

/**
 * The realtime client `useRealtime` uses: `client` if given, else the nearest
 * {@link RealtimeProvider}'s. Throws a misuse error when there is neither.
 * @example
 * const realtime = useRealtimeClient()
 * const onClick = () => realtime.reconnect()
 */
export function useRealtimeClient(client?: RealtimeClient): RealtimeClient {
  const provided = useContext(RealtimeContext)
  const found = client ?? provided
  if (!found) {
    throw misuse(
      'useRealtime',
      'client',
      process.env.NODE_ENV !== 'production' &&
        'no realtime client: wrap the tree in <RealtimeProvider client={createRealtime({ url })}> or pass `{ client }` to the hook',
    )
  }
  return found
}
