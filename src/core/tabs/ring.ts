import type { WireMessage } from '../transport'
import type { Frame } from './frames'

type Hello = Extract<Frame, { t: 'hello' }>
type Replay = Extract<Frame, { t: 'replay' }>

/**
 * A tab's memory of the last messages it delivered or relayed (1,000 to 2,000 of them), from
 * which a leader answers a returning tab's hello with what it missed.
 */
export function createRing() {
  const ring: WireMessage[] = []
  /** Whether the ring dropped messages since this tab last took the lead. */
  let trimmed = false
  return {
    _keep(ms: readonly WireMessage[]) {
      if (ring.push(...ms) > 2000) (trimmed = true), ring.splice(0, ring.length - 1000)
    },
    /** This tab takes the lead: what it drops from now on, it delivered as the leader. */
    _lead() {
      trimmed = false
    },
    /**
     * A leader's answer to `hello` (its epoch, last sequence number, resume point `from`, and
     * the sequence number of the last batch of messages it relayed). `gone`: it no longer has
     * all it delivered since it led (its resume point left its memory), so a `since` it lacks
     * may be one it dropped, not one it has not reached. A tab whose messages had no ids
     * cannot say where it was, only where it was in the sequence: gone if messages went out
     * since (or in an epoch it did not follow).
     */
    _answer(hello: Hello & { c: string }, epoch: number, s: number, from: string | undefined, relayedMsgs: number): Replay {
      const { c, since, n = 1 } = hello
      const i = since === undefined ? -1 : ring.findIndex((m) => m.id === since)
      const gone =
        since === undefined ? relayedMsgs > (hello.pe === epoch ? (hello.ps ?? 0) : 0) : from === undefined ? trimmed : !ring.some((m) => m.id === from)
      return { t: 'replay', c, e: epoch, s, ms: i < 0 ? [] : ring.slice(i + n), miss: i < 0, gone }
    },
  }
}
