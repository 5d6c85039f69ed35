import { createElement, type ReactNode, useSyncExternalStore } from 'react'
import type { RealtimeClient } from '../core/realtime/client-types'
import type { Registry } from '../core/registry'
import { RealtimeProvider } from '../react/realtime-provider'
import { RegistryProvider } from '../react/registry-provider'
import type { TabState } from './simulator'

/** A component that renders its children in one simulated tab (testing-library's `wrapper`). */
export type TabWrapper = (props: { children?: ReactNode }) => ReactNode

/** What {@link tabWrapper} needs of a tab. */
interface WrappedTab {
  readonly registry: Registry
  readonly realtime: RealtimeClient | undefined
  subscribe(listener: () => void): () => void
  getState(): TabState
}

/**
 * The wrapper of a simulated tab: the hooks below use the tab's registry (so its locks,
 * channels, timers and page) and, if it has one, its realtime client. Once the tab is
 * closed or crashed it renders nothing, as a tab that is gone shows nothing (and its
 * components unmount).
 * @example render(<App />, { wrapper: tabs[0].wrapper })
 */
export function tabWrapper(tab: WrappedTab): TabWrapper {
  return function TabWrapper({ children }) {
    const state = useSyncExternalStore(tab.subscribe, tab.getState, tab.getState)
    if (state === 'closed' || state === 'crashed') return null
    const tree = createElement(RegistryProvider, { registry: tab.registry }, children)
    return tab.realtime ? createElement(RealtimeProvider, { client: tab.realtime }, tree) : tree
  }
}
