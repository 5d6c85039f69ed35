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

/** Whether the page is hidden (never outside a document). */
export const pageHidden = () => (globalThis as { document?: Document }).document?.visibilityState === 'hidden'

/**
 * Adds `listener` to each `[target, type]` whose target exists (there is no `document` in a
 * worker, no window events in Node); returns what removes them all.
 */
export function listen(pairs: readonly (readonly [Partial<EventTarget> | undefined, string])[], listener: (event: Event) => void): () => void {
  for (const [target, type] of pairs) target?.addEventListener?.(type, listener)
  return () => {
    for (const [target, type] of pairs) target?.removeEventListener?.(type, listener)
  }
}

/** The environment of the current global scope (window or worker). */
export function globalEnvironment(): Environment {
  const win = globalThis as Partial<EventTarget>
  return {
    current: () =>
      (['offline', 'hidden'] as const).filter((signal) =>
        signal === 'hidden' ? pageHidden() : (globalThis as { navigator?: Navigator }).navigator?.onLine === false,
      ),
    subscribe: (listener) =>
      listen(
        [[win, 'offline'], [win, 'online'], [win, 'pagehide'], [win, 'pageshow'], [(globalThis as { document?: Document }).document, 'visibilitychange']],
        (event) => {
          const type = event.type
          if (type === 'visibilitychange') listener(pageHidden() ? 'hidden' : 'visible')
          // Only a page restored from the back/forward cache needs to resume.
          else if (type !== 'pageshow' || (event as PageTransitionEvent).persisted) listener(type as EnvironmentSignal)
        },
      ),
  }
}
