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

interface EventTargetLike {
  addEventListener(type: string, listener: (event: Event) => void): void
  removeEventListener(type: string, listener: (event: Event) => void): void
}

/** The environment of the current global scope (window or worker). */
export function globalEnvironment(): Environment {
  const target = globalThis as unknown as Partial<EventTargetLike>
  const doc = (globalThis as { document?: Document }).document
  return {
    current() {
      const signals: EnvironmentSignal[] = []
      if ((globalThis as { navigator?: Navigator }).navigator?.onLine === false) signals.push('offline')
      if (doc?.visibilityState === 'hidden') signals.push('hidden')
      return signals
    },
    subscribe(listener) {
      if (typeof target.addEventListener !== 'function') return () => {}
      const on = (signal: EnvironmentSignal) => () => listener(signal)
      const onVisibility = () => listener(doc?.visibilityState === 'hidden' ? 'hidden' : 'visible')
      const onPageShow = (event: Event) => {
        if ((event as PageTransitionEvent).persisted) listener('pageshow')
      }
      const pairs: [EventTargetLike, string, (event: Event) => void][] = [
        [target as EventTargetLike, 'offline', on('offline')],
        [target as EventTargetLike, 'online', on('online')],
        [target as EventTargetLike, 'pagehide', on('pagehide')],
        [target as EventTargetLike, 'pageshow', onPageShow],
      ]
      if (doc) pairs.push([doc, 'visibilitychange', onVisibility])
      for (const [t, type, fn] of pairs) t.addEventListener(type, fn)
      return () => {
        for (const [t, type, fn] of pairs) t.removeEventListener(type, fn)
      }
    },
  }
}
