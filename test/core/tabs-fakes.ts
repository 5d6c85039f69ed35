// Simulated browser tabs for core/tabs: several `shareAcrossTabs` instances in one process,
// over Node's real `navigator.locks` and `BroadcastChannel`, each leading with its own
// engine connection on a hand-driven fake transport.
import { vi } from 'vitest'
import { type Connection, createConnection, type RealtimeMessage } from '../../src/core/connection'
import type { RealtimeError } from '../../src/core/errors'
import { createSends } from '../../src/core/tabs/sends'
import { shareAcrossTabs } from '../../src/core/tabs/share-across-tabs'
import type { PageEvents, Shareable, TabChannel, TabDecodeOptions, TabShareInjectables, TabShareOptions } from '../../src/core/tabs/types'
import { type FakeTransport, fakeEnvironment, fakeTransport, manualFrames } from './fakes'
import { checkWire } from './tabs/fakes'

export type TabConnection = Connection<string> & { send: ReturnType<typeof vi.fn> }

export interface Tab {
  readonly shared: Shareable<string>
  /** The transport of every connection this tab made while leading. */
  readonly fake: FakeTransport
  /** The `lastEventId` of every `create` call, in order. */
  readonly created: (string | undefined)[]
  /** Every connection `create` made (each with a `send` spy). */
  readonly connections: TabConnection[]
  /** Every message this tab's `onMessage` listeners got. */
  readonly messages: RealtimeMessage<string>[]
  readonly errors: RealtimeError[]
  /** Ids of the messages delivered, in order. */
  readonly ids: (string | undefined)[]
  /** Whether this tab leads now (its newest connection is not closed). */
  readonly leading: boolean
  /** Delivers a message on this tab's current real connection. */
  emit(id: string | undefined, data?: string): void
  /** Runs this tab's pending animation frames (the engine's coalesced data publish). */
  flushFrames(): void
}

/** A page whose lifecycle the test drives, one per simulated tab (they share one globalThis). */
export function fakePage(visible = true) {
  const listeners = new Set<(event: 'leave' | 'return' | 'visibility') => void>()
  return {
    visible,
    emit(event: 'leave' | 'return' | 'visibility') {
      for (const listener of [...listeners]) listener(event)
    },
    get page(): PageEvents {
      return {
        visible: () => this.visible,
        subscribe: (listener) => (listeners.add(listener), () => void listeners.delete(listener)),
      }
    },
  }
}

const microtaskFrame = (callback: () => void) => {
  let live = true
  queueMicrotask(() => live && callback())
  return () => void (live = false)
}

/** A group of tabs of one app on one origin; `namespace` is unique per group. */
export function tabGroup(namespace: string, timing: { heartbeat: number; timeout: number } = { heartbeat: 25, timeout: 300 }) {
  const open: Shareable<string>[] = []
  return {
    /** Opens a tab; `decode` is how it reads messages, as the leader and as a follower. */
    open(options: TabShareOptions & TabDecodeOptions<string> & TabShareInjectables = {}, key = 'stream'): Tab {
      const { decode } = options
      const fake = fakeTransport()
      const frames = manualFrames()
      const created: (string | undefined)[] = []
      const connections: TabConnection[] = []
      const messages: RealtimeMessage<string>[] = []
      const errors: RealtimeError[] = []
      const shared = shareAcrossTabs<string>(
        key,
        (resume) => {
          const lastEventId = resume?.lastEventId
          created.push(lastEventId)
          const connection = Object.assign(
            createConnection<string>({
              transport: fake.factory,
              environment: fakeEnvironment(),
              scheduleFrame: frames.schedule,
              random: () => 0.5,
              idleTimeout: 0,
              ...(decode && { decode }),
              ...(lastEventId === undefined ? {} : { lastEventId }),
            }),
            { send: vi.fn() },
          )
          connections.push(connection)
          return connection
        },
        // The layer's own data publish runs right after the frame that caused it.
        { namespace, ...timing, scheduleFrame: microtaskFrame, sends: createSends, ...options },
      )
      shared.onMessage((m) => void messages.push(m))
      shared.onError((e) => void errors.push(e))
      open.push(shared)
      return {
        shared,
        fake,
        created,
        connections,
        messages,
        errors,
        get ids() {
          return messages.map((m) => m.id)
        },
        get leading() {
          const c = connections.at(-1)
          return !!c && c.getSnapshot().status !== 'closed'
        },
        emit(id, data = `m${id}`) {
          // As a real SSE transport does: the id first, then the event that carries it.
          if (id !== undefined) fake.last.sink.lastEventId(id)
          fake.last.sink.message({ data, event: 'message', id })
        },
        flushFrames: () => frames.flush(),
      }
    },
    /** Closes every tab (idempotent): releases locks and channels so the test can end. */
    closeAll() {
      for (const shared of open.splice(0)) shared.close()
    },
  }
}

/**
 * A BroadcastChannel factory whose outgoing frames can be cut (`frozen`: a frozen or
 * throttled tab), or whose incoming frames can be held back (`lagging`: a busy tab that has
 * not read them yet; they are lost, as if read only after the moment that matters).
 */
export function gatedChannel() {
  const gate = { frozen: false, lagging: false, sent: 0, dropped: 0 }
  const factory = (name: string): TabChannel => {
    const bc = new BroadcastChannel(name)
    return {
      postMessage(message: unknown) {
        checkWire(message)
        if (gate.frozen) return void gate.dropped++
        bc.postMessage(message)
        gate.sent++
      },
      get onmessage() {
        return bc.onmessage as TabChannel['onmessage']
      },
      set onmessage(handler: TabChannel['onmessage']) {
        bc.onmessage = (event) => void (!gate.lagging && handler?.(event))
      },
      close: () => bc.close(),
    }
  }
  return { gate, factory }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
