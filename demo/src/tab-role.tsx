import { useEffect, useState } from 'react'

/** What the browser's lock manager says of this tab: how many shared streams it leads, of how many. */
export interface TabRole {
  leads: number
  of: number
}

/** tabwire's lock names with the default namespace: `tabwire:v<protocol>:<hash of the stream key>`. */
const STREAM_LOCK = /^tabwire:v\d+:/
/** The lock each tab of a realtime client holds while it is there: `tabwire:rt:<hash of the key>:<tab>`. */
const REALTIME_TAB_LOCK = /^tabwire:rt:([^:]+):/

/**
 * Reads `navigator.locks.query()` twice a second, as the browser's devtools would: the tab
 * that holds a stream's lock is its leader. A page cannot read its own client id, so it
 * holds a lock of its own with a random name and finds it in the answer. Undefined where
 * Web Locks are missing (tabwire then keeps one connection per tab).
 */
export function useTabRole(): TabRole | undefined {
  const [role, setRole] = useState<TabRole>()
  useEffect(() => {
    const locks = globalThis.navigator?.locks
    if (!locks) return
    let stopped = false
    let release = () => {}
    const mine = `tabwire-demo:tab:${crypto.randomUUID()}`
    const hold = () => void locks.request(mine, () => new Promise<void>((done) => (release = done)))
    hold()
    // A page that holds a lock is kept out of the back/forward cache: let go while hidden
    // there, as tabwire does with its own locks, and take it again on the way back.
    const away = () => release()
    const back = (event: PageTransitionEvent) => event.persisted && hold()
    addEventListener('pagehide', away)
    addEventListener('pageshow', back)
    const read = async () => {
      const { held = [] } = await locks.query()
      const self = held.find((lock) => lock.name === mine)?.clientId
      if (!self || stopped) return
      // The realtime client's election lock has the same form; each of its tabs also holds
      // `tabwire:rt:<hash>:<tab>`, which tells its hash apart: the realtime connection is
      // shown in its own panel, not counted among the streams.
      const realtime = new Set(held.flatMap((lock) => REALTIME_TAB_LOCK.exec(lock.name ?? '')?.slice(1, 2) ?? []))
      const streams = held.filter((lock) => lock.name && STREAM_LOCK.test(lock.name) && !realtime.has(lock.name.replace(STREAM_LOCK, '')))
      const leads = streams.filter((lock) => lock.clientId === self).length
      setRole((old) => (old?.leads === leads && old.of === streams.length ? old : { leads, of: streams.length }))
    }
    void read()
    const timer = setInterval(read, 500)
    return () => {
      stopped = true
      release()
      clearInterval(timer)
      removeEventListener('pagehide', away)
      removeEventListener('pageshow', back)
    }
  }, [])
  return role
}

/** "This tab leads …" / "follows …", for the page header. */
export function TabRoleBadge() {
  const role = useTabRole()
  if (!role) return null
  const { leads, of } = role
  const text =
    of === 0
      ? 'no shared streams: each tab holds its own connections'
      : leads === of
        ? `this tab leads: it holds the connection for all ${of} streams and relays them to the other tabs`
        : leads === 0
          ? `this tab follows: another tab holds the connections for all ${of} streams`
          : `this tab leads ${leads} of ${of} streams and follows the rest`
  return (
    <p className="role" data-leads={leads} data-of={of}>
      {text}
    </p>
  )
}
