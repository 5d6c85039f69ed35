import type { Timers } from './runtime'
import type { TabShareInjectables } from './tabs/types'

interface Closable {
  close(): void
}

/** A hold on a shared value; `release()` is idempotent. */
export interface Lease<V> {
  readonly value: V
  release(): void
}

/**
 * Shares one value per key in this tab, reference-counted. When the last holder leaves,
 * the value lingers a moment before it is closed, so React StrictMode's double mount and
 * a route change that unmounts and remounts do not reconnect.
 */
export interface Registry {
  /** Takes a hold on the value for `key`, creating (and starting) it with `create` if needed. */
  acquire<V extends Closable>(key: string, create: () => V): Lease<V>
  /** The value for `key` if one exists, without taking a hold. */
  peek<V extends Closable>(key: string | null): V | undefined
  /**
   * The tab the registry stands for, when it is not the page's own: the lock manager,
   * channels, timers and lifecycle that connections shared across tabs (`share: 'tabs'`)
   * use. Set by the multi-tab simulator of tabwire/testing, one per simulated tab.
   * @defaultValue undefined (the page's own `navigator.locks`, BroadcastChannel, timers and lifecycle)
   * @example const registry = { ...createRegistry(), tab: { locks, channel: (name) => new BroadcastChannel(name) } }
   */
  readonly tab?: TabShareInjectables
}

export interface RegistryOptions {
  /**
   * How long (ms) a value with no holders stays open before it is closed.
   * @defaultValue 1000
   */
  linger?: number
  /** Injectable timers. @defaultValue globalThis timers */
  timers?: Timers
}

export function createRegistry(options: RegistryOptions = {}): Registry {
  const timers = options.timers ?? (globalThis as Timers)
  const entries = new Map<string, { value: Closable; _holders: number; _linger: unknown }>()

  return {
    acquire<V extends Closable>(key: string, create: () => V): Lease<V> {
      let entry = entries.get(key)
      if (!entry) {
        entry = { value: create(), _holders: 0, _linger: undefined }
        entries.set(key, entry)
      }
      const held = entry
      timers.clearTimeout(held._linger)
      held._linger = undefined
      held._holders++
      let released = false
      return {
        value: held.value as V,
        release() {
          if (released) return
          released = true
          if (--held._holders > 0) return
          held._linger = timers.setTimeout(() => {
            // A lingering entry is the only one for its key: acquiring it again cancels this.
            entries.delete(key)
            held.value.close()
          }, options.linger ?? 1000)
        },
      }
    },
    peek: <V extends Closable>(key: string | null) => entries.get(key!)?.value as V | undefined,
  }
}

let shared: Registry | undefined

/** The registry hooks use unless given another; created on first use. */
export function defaultRegistry(): Registry {
  return (shared ??= createRegistry())
}
