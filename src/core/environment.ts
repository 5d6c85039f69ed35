/** What the page or runtime tells the engine. */
export type EnvironmentSignal =
  | 'offline'
  | 'online'
  | 'hidden'
  | 'visible'
  /** The page is being hidden for good or for the back/forward cache. */
  | 'pagehide'
  /** The page came back from the back/forward cache. */
  | 'pageshow'

/**
 * Where the engine learns about network and page state. Inject one in tests or odd
 * runtimes; the default reads `navigator.onLine`, `document.visibilityState` and window
 * events, and is inert where they do not exist (Node, most workers).
 */
export interface Environment {
  /** Signals that describe the state now (e.g. `['offline']`). */
  current(): EnvironmentSignal[]
  subscribe(listener: (signal: EnvironmentSignal) => void): () => void
}

/** The environment of the current global scope (window or worker). */
export function globalEnvironment(): Environment {
  const target = globalThis as Partial<EventTarget>
  const doc = (globalThis as { document?: Document }).document
  const hidden = () => doc?.visibilityState === 'hidden'
  return {
    current: () =>
      (['offline', 'hidden'] as const).filter((signal) =>
        signal === 'hidden' ? hidden() : (globalThis as { navigator?: Navigator }).navigator?.onLine === false,
      ),
    subscribe(listener) {
      const on = (event: Event) => {
        const type = event.type
        if (type === 'visibilitychange') listener(hidden() ? 'hidden' : 'visible')
        // Only a page restored from the back/forward cache needs to resume.
        else if (type !== 'pageshow' || (event as PageTransitionEvent).persisted) listener(type as EnvironmentSignal)
      }
      const pairs = ['offline', 'online', 'pagehide', 'pageshow'].map((type) => [target, type] as const)
      if (doc) pairs.push([doc, 'visibilitychange'])
      for (const [t, type] of pairs) t.addEventListener?.(type, on)
      return () => {
        for (const [t, type] of pairs) t.removeEventListener?.(type, on)
      }
    },
  }
}
