/** Where a tab learns whether its page is visible and focused. */
export interface PageSource {
  visible(): boolean
  focused(): boolean
  /** Whether the page is being unloaded or kept in the back/forward cache (it hears nothing then). @defaultValue never */
  gone?(): boolean
  /** Calls `listener` when any of these may have changed; returns the unsubscribe. */
  subscribe(listener: () => void): () => void
}

/**
 * The document's visibility and focus (`visibilitychange`, window `focus`/`blur`,
 * `pagehide`/`pageshow`, and the document's `freeze`/`resume`: a frozen tab runs no code, so
 * it counts as gone until it resumes). Looked up when called, never at import.
 */
export function documentPage(): PageSource {
  const events = ['focus', 'blur', 'pageshow', 'pagehide'] as const
  const documentEvents = ['visibilitychange', 'freeze', 'resume'] as const
  let hidden = false
  let frozen = false
  return {
    visible: () => typeof document === 'undefined' || document.visibilityState !== 'hidden',
    focused: () => typeof document !== 'undefined' && document.hasFocus(),
    gone: () => hidden || frozen,
    subscribe(listener) {
      if (typeof window === 'undefined') return () => {}
      const onEvent = (event: Event) => {
        if (event.type === 'pagehide' || event.type === 'pageshow') hidden = event.type === 'pagehide'
        if (event.type === 'freeze' || event.type === 'resume') frozen = event.type === 'freeze'
        listener()
      }
      for (const name of documentEvents) document.addEventListener(name, onEvent)
      for (const name of events) window.addEventListener(name, onEvent)
      return () => {
        for (const name of documentEvents) document.removeEventListener(name, onEvent)
        for (const name of events) window.removeEventListener(name, onEvent)
      }
    },
  }
}

/** What a tab tells the others about itself. */
export interface Presence {
  readonly focused: boolean
  /** A Lamport clock tick taken each time the tab became visible or focused: higher is more recent. */
  readonly seq: number
}

/**
 * Decides which tab of a browser shows toasts: the focused one, else the one that became
 * visible (or focused) most recently. Every tab holds the same table of presences, so each
 * decides alone and exactly one says yes; a logical clock (not the wall clock) orders
 * "most recently", and ties go to the greater tab id.
 */
export function createTabPresence(tabId: string, page: PageSource, post: (presence: Presence) => void) {
  const peers = new Map<string, Presence>()
  let clock = 0
  let self: Presence = { focused: false, seq: 0 }
  let visible = false

  /** Reads the page; a tab that just became visible or focused takes a new tick. Posts on change. */
  const refresh = () => {
    const nowVisible = page.visible()
    const focused = nowVisible && page.focused()
    const seq = (nowVisible && !visible) || (focused && !self.focused) ? ++clock : self.seq
    visible = nowVisible
    if (focused === self.focused && seq === self.seq) return
    self = { focused, seq }
    post(self)
  }
  const rank = (id: string, p: Presence): [number, number, string] => [p.focused ? 1 : 0, p.seq, id]
  const after = (a: [number, number, string], b: [number, number, string]) => a[0] - b[0] || a[1] - b[1] || (a[2] > b[2] ? 1 : a[2] < b[2] ? -1 : 0)

  return {
    refresh,
    /** This tab's presence, to post to a tab that asks. */
    current: (): Presence => self,
    /** Another tab's presence (already validated). */
    receive(from: string, presence: Presence) {
      if (from === tabId) return
      clock = Math.max(clock, presence.seq)
      peers.set(from, presence)
    },
    /** Another tab left. */
    leave(from: string) {
      peers.delete(from)
    },
    /** The tabs that rank above this one now (one of them toasts instead of it). */
    above(): string[] {
      const mine = rank(tabId, self)
      return [...peers].filter(([id, p]) => after(rank(id, p), mine) > 0).map(([id]) => id)
    },
    /** Whether this tab is the one to toast now (reads its own page at once). */
    isToaster(): boolean {
      refresh()
      const mine = rank(tabId, self)
      for (const [id, p] of peers) if (after(rank(id, p), mine) > 0) return false
      return true
    },
  }
}
