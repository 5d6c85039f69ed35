import type { PageEvents } from './types'

/**
 * The page's lifecycle as the cross-tab layer needs it: `leave` on `freeze` and `pagehide`
 * (frozen, or going into the back/forward cache, where a held lock or an open channel would
 * make the page ineligible), `return` on `resume` and `pageshow`, and visibility changes.
 * Outside a document (workers, Node) nothing happens and the page counts as visible.
 * @see https://developer.chrome.com/docs/web-platform/page-lifecycle-api
 */
export function globalPage(): PageEvents {
  const doc = (globalThis as { document?: Document }).document
  return {
    visible: () => doc?.visibilityState !== 'hidden',
    subscribe(listener) {
      const win = globalThis as Partial<EventTarget>
      const pairs = [
        [doc, 'freeze', 'leave'],
        [win, 'pagehide', 'leave'],
        [doc, 'resume', 'return'],
        [win, 'pageshow', 'return'],
        [doc, 'visibilitychange', 'visibility'],
      ] as const
      const handlers = pairs.map(([target, type, event]) => {
        const handler = () => listener(event)
        target?.addEventListener?.(type, handler)
        return () => target?.removeEventListener?.(type, handler)
      })
      return () => handlers.forEach((off) => off())
    },
  }
}
