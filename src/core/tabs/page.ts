import { listen, pageHidden } from '../environment'
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
  const win = globalThis as Partial<EventTarget>
  return {
    visible: () => !pageHidden(),
    subscribe: (listener) =>
      listen([[doc, 'freeze'], [win, 'pagehide'], [doc, 'resume'], [win, 'pageshow'], [doc, 'visibilitychange']], ({ type }) =>
        listener(type === 'visibilitychange' ? 'visibility' : type === 'freeze' || type === 'pagehide' ? 'leave' : 'return'),
      ),
  }
}
