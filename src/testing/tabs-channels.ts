import type { TabLoop } from './tabs-loop'

type Listener = (event: MessageEvent) => void

/** A BroadcastChannel of one simulated tab: what the cross-tab layer and most apps use of one. */
export interface SimulatedBroadcastChannel {
  readonly name: string
  onmessage: Listener | null
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: Listener): void
  removeEventListener(type: 'message', listener: Listener): void
  close(): void
}

/** The BroadcastChannels of one simulation, shared by its tabs like a browser's by the tabs of an origin. */
export interface SimulatedChannels {
  /** A channel named `name` in the tab `clientId`, whose messages arrive as tasks of its `loop`. */
  open(clientId: string, loop: TabLoop, name: string): SimulatedBroadcastChannel
  /** How many channels the tab has open now. */
  count(clientId: string): number
  /** The tab went away: its channels are closed, and what it posts from now on goes nowhere (no goodbye from a crash). */
  drop(clientId: string): void
}

interface End {
  clientId: string
  loop: TabLoop
  port: SimulatedBroadcastChannel
  closed: boolean
  /** Delivers a message (already cloned once by the sender) in this end's tab. */
  receive(data: unknown): void
}

const makeEvent = (data: unknown): MessageEvent =>
  typeof MessageEvent === 'function' ? new MessageEvent('message', { data }) : ({ type: 'message', data } as MessageEvent)

/**
 * BroadcastChannels in memory, as a browser's (https://html.spec.whatwg.org/multipage/web-messaging.html#broadcasting-to-other-browsing-contexts):
 * `postMessage` structured-clones at once (a `DataCloneError` for what cannot be cloned), and
 * the message reaches every other open channel of that name, in any tab of the simulation
 * (this one included), each as a task of the receiving tab, cloned again for it: in order
 * per sender, never to a channel closed before it arrives, and a frozen tab gets it when it
 * resumes. Posting on a closed channel throws an `InvalidStateError`.
 * @example
 * const channels = createSimulatedChannels()
 * const a = channels.open('tab-1', loopA, 'news')
 * channels.open('tab-2', loopB, 'news').onmessage = (e) => console.log(e.data)
 * a.postMessage({ hello: 1 })
 */
export function createSimulatedChannels(): SimulatedChannels {
  const ends = new Set<End>()
  const gone = new Set<string>()

  const open = (clientId: string, loop: TabLoop, name: string): SimulatedBroadcastChannel => {
    const listeners = new Set<Listener>()
    const end: End = {
      clientId,
      loop,
      closed: gone.has(clientId),
      port: undefined as unknown as SimulatedBroadcastChannel,
      receive(data) {
        if (end.closed) return
        const event = makeEvent(structuredClone(data))
        end.port.onmessage?.(event)
        for (const listener of [...listeners]) if (!end.closed) listener(event)
      },
    }
    end.port = {
      name: String(name),
      onmessage: null,
      postMessage(message) {
        if (gone.has(clientId)) return
        if (end.closed) throw new DOMException(`BroadcastChannel "${name}" is closed`, 'InvalidStateError')
        const data = structuredClone(message)
        for (const to of ends) if (to !== end && to.port.name === end.port.name && !to.closed) to.loop.queue(() => to.receive(data))
      },
      addEventListener: (type, listener) => void (type === 'message' && listeners.add(listener)),
      removeEventListener: (type, listener) => void (type === 'message' && listeners.delete(listener)),
      close() {
        end.closed = true
        ends.delete(end)
      },
    }
    if (!end.closed) ends.add(end)
    return end.port
  }

  return {
    open,
    count: (clientId) => [...ends].filter((e) => e.clientId === clientId).length,
    drop(clientId) {
      gone.add(clientId)
      for (const end of [...ends]) if (end.clientId === clientId) end.port.close()
    },
  }
}
