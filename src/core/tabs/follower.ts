import type { WireMessage } from '../transport'
import type { Frame, Sequenced, WireError, WireState, LeaderFrame } from './frames'

/** What a tab knows of the leader it follows and of what it delivered. */
export interface FollowerState {
  /** The epoch of the leader this tab follows (0: none yet). */
  readonly _epoch: number
  /** The last sequence number taken in that epoch. */
  readonly _seq: number
  /**
   * A frame that skipped ahead of `_seq`: taken only when the next frame carries on from it
   * (frames really were missed), dropped when the leader's next frame carries on from `_seq`
   * (it was forged). So one frame with a huge `s` can never deafen a tab.
   */
  readonly _held: Sequenced | undefined
  /** Ids of the messages delivered lately, in order; an id-less message's is the one before it. */
  readonly _recent: readonly string[]
  /** Ids delivered beyond the current leader's resume point: each is skipped once when it comes again. */
  readonly _ahead: readonly string[]
  /**
   * Where the tab was with the leader before, while the newer one has sent one frame only:
   * that frame may be forged, so it is held, not delivered. When the leader before carries
   * on, the tab goes back to it as if the newer frame never came; when the newer one carries
   * on, it leads (and its first frame is taken).
   */
  readonly _prev?: FollowerState
}

/** What a frame asks the tab to do, in order. */
export type Delivery =
  /** A new leader: what waits for an acknowledgement goes to it. */
  | { t: 'leader' }
  | { t: 'msg'; m: WireMessage }
  | { t: 'state'; state: WireState }
  | { t: 'err'; error: WireError }

export const FOLLOWER: FollowerState = { _epoch: 0, _seq: 0, _held: undefined, _recent: [], _ahead: [] }

/** How many ids a tab remembers: the last 1000 to 2000, enough for a leader that was paused a while and ran ahead. */
const KEEP = 2000

/** `_recent` with `ids` appended, trimmed to the last half once past {@link KEEP}. */
export function remember(recent: readonly string[], ids: readonly (string | undefined)[]): readonly string[] {
  const known = ids.filter((id): id is string => id !== undefined)
  if (!known.length) return recent
  const next = recent.concat(known)
  return next.length > KEEP ? next.slice(-KEEP / 2) : next
}

/**
 * Splits `messages` into the ones to deliver and updates what the tab remembers. A tab may
 * have delivered more than the new leader had when it took over (an old leader that was
 * silent, not dead; a follower that read the old leader's last frames first): it skips
 * those, and nothing else. A paused page may miss some of the repeats, so a repeat skips
 * the ones before it too.
 */
export function sift(state: FollowerState, messages: readonly WireMessage[]): [FollowerState, WireMessage[]] {
  let ahead = state._ahead
  const fresh: WireMessage[] = []
  for (const m of messages) {
    if (ahead.length) {
      const j = ahead.indexOf(m.id!)
      ahead = ahead.slice(j + 1 || ahead.length)
      if (j >= 0) continue
    }
    fresh.push(m)
  }
  return [{ ...state, _ahead: ahead, _recent: remember(state._recent, fresh.map((m) => m.id)) }, fresh]
}

/**
 * Whether a frame comes from a leader newer than the one the tab follows: above the last
 * epoch that carried on past its first frame, and not the one the tab is trying.
 */
export const newer = (state: FollowerState, frame: LeaderFrame) => frame.e > (state._prev ?? state)._epoch && frame.e !== state._epoch

/**
 * A follower's reading of a leader's frame: pure, so it is tested like a parser. Frames of
 * an older epoch are dropped; a newer epoch is a new leader, whose resume point `r` says
 * which of this tab's deliveries come again, and it leads once it carries on past its first
 * frame (until then the leader before may carry on instead: one forged frame of a newer
 * epoch cannot take a tab from a live leader); within an epoch, each sequence number is
 * taken once, in order, and a beat below the last one taken proves that one forged (the
 * leader's beats follow its frames): the tab goes on from the beat.
 */
export function follow(state: FollowerState, frame: LeaderFrame): [FollowerState, Delivery[]] {
  const out: Delivery[] = []
  let s = state
  const p = s._prev
  if (frame.e !== s._epoch) {
    // The leader before is alive: the newer epoch's one frame was not a new leader's, and
    // the tab goes on from where it was (nothing of that frame was delivered).
    if (frame.e === p?._epoch) s = p
    else if (!newer(s, frame)) return [state, []]
    else {
      // What this tab delivered after the new leader's resume point (id-less events carry
      // the id before them, so the first delivery with that id is the point). No resume
      // point (`r` undefined) is found nowhere: `_recent` holds strings only. The frame
      // itself is held until the new leader carries on (a real one's first frame is a
      // beat, and its next one follows at once).
      const i = s._recent.indexOf(frame.r!)
      const beat = frame.t === 'beat'
      out.push({ t: 'leader' })
      return [{ ...s, _epoch: frame.e, _seq: beat ? frame.s : frame.s - 1, _held: beat ? undefined : frame, _ahead: i < 0 ? [] : s._recent.slice(i + 1), _prev: p ?? s }, out]
    }
  } else if (p && frame.s >= s._seq) s = { ...s, _prev: undefined }
  /** Takes a frame in sequence: a state or an error as it is, a batch's fresh messages one by one. */
  const take = (f: Sequenced) => {
    s = { ...s, _seq: f.s, _held: undefined }
    if (f.t !== 'msgs') return void out.push(f)
    const [next, fresh] = sift(s, f.ms)
    s = next
    for (const m of fresh) out.push({ t: 'msg', m })
  }
  const { _held: held } = s
  if (frame.t === 'beat') {
    // The leader's sequence reached the held frame: frames were missed, not forged.
    if (held && frame.s >= held.s) take(held)
    else if (frame.s < s._seq) s = { ...s, _seq: frame.s, _held: undefined }
  } else if (frame.s === s._seq + 1) take(frame)
  else if (held && frame.s === held.s + 1) take(held), take(frame)
  else if (frame.s > s._seq) s = { ...s, _held: frame }
  return [s, out]
}
