'use client'
import { createContext, createElement, type ReactNode } from 'react'
import type { Registry } from '../core/registry'

/** The registry of the tree below a {@link RegistryProvider}; null outside one. */
export const RegistryContext = createContext<Registry | null>(null)

/** Props of {@link RegistryProvider}. */
export interface RegistryProviderProps {
  /** Where the hooks below keep their connections (a hook's own `registry` option still wins). */
  registry: Registry
  children?: ReactNode
}

/**
 * Gives `useEventSource` and `useWebSocket` in the tree below a registry of their own,
 * without a `registry` option on each hook: one per simulated tab in tests (see
 * `createTabs` in tabwire/testing), or one per embedded app on a page.
 * @defaultValue without a provider, hooks use the tab's default registry
 * @example
 * const tab = createTabs(3)[0]
 * render(<RegistryProvider registry={tab.registry}><App /></RegistryProvider>)
 */
export function RegistryProvider({ registry, children }: RegistryProviderProps): ReactNode {
  return createElement(RegistryContext.Provider, { value: registry }, children)
}
