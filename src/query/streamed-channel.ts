import { experimental_streamedQuery, type QueryFunction, type QueryKey } from '@tanstack/react-query'
import type { RealtimeError } from '../core/errors'
import type { ChannelMessage, ChannelReset, RealtimeClient } from '../core/realtime/client-types'

/** Options of {@link streamedChannel}. */
export interface StreamedChannelOptions<T, D> {
  /**
   * What a refetch does with the data streamed so far (TanStack's `refetchMode`):
   * `'reset'` starts over empty, `'append'` keeps it, `'replace'` swaps it in when the stream ends.
   * @defaultValue 'reset'
   * @example { refetchMode: 'append' }
   */
  refetchMode?: 'append' | 'reset' | 'replace'
  /**
   * Folds each message into the query's data; needs `initialValue`.
   * @defaultValue appends the message's data to an array
   * @example { reducer: (acc, data) => [data, ...acc].slice(0, 50), initialValue: [] }
   */
  reducer?: (acc: D, data: T, message: ChannelMessage<T>) => D
  /**
   * The data before the first message, and after a reset with `onReset: 'restart'`.
   * @defaultValue []
   */
  initialValue?: D
  /**
   * What a channel reset (the server could not resume it: events were lost) does to the stream.
   * `'restart'`: the data starts over from `initialValue` in the same stream, in order with
   * the messages after it (the server's fresh snapshot first, if it sends one), so the list
   * never shows a hole. `'continue'`: the data keeps going past the hole. `'end'`: the stream
   * ends (the query stops fetching and keeps its data; refetch to stream again).
   * @defaultValue 'restart'
   * @example { onReset: 'end' }
   */
  onReset?: 'restart' | 'continue' | 'end'
  /**
   * Which channel errors fail the query (with the `RealtimeError` as the query's `error`).
   * The others (a dropped connection, a timeout…) leave the stream open: the client
   * reconnects and resumes the channel.
   * @defaultValue errors of kind `'auth'` (the server refused the channel) and `'max-retries'`
   * @example { isFatal: (e) => e.kind !== 'network' }
   */
  isFatal?: (error: RealtimeError) => boolean
}

type Chunk<T> = ChannelMessage<T> | ChannelReset

const fatal = (e: RealtimeError) => e.kind === 'auth' || e.kind === 'max-retries'

/**
 * A `queryFn` that streams a realtime channel's messages into the query (TanStack v5's
 * `experimental_streamedQuery`): data is the array of message data so far (or what `reducer`
 * makes of it). The channel is held while the query streams and let go when the query's
 * `signal` aborts (the last observer unmounts, `cancelQueries`, a refetch); it unsubscribes
 * after the client's `grace`. The stream never ends by itself: the query stays `fetching`
 * (use `staleTime: Infinity` so nothing refetches it on focus). A fatal channel error rejects
 * with a `RealtimeError`; a reset is handled as `onReset` says.
 * @example
 * const { data = [] } = useQuery({ queryKey: ['feed'], queryFn: streamedChannel<Post>(realtime, 'feed'), staleTime: Infinity })
 * @example
 * queryFn: streamedChannel<Post, Post[]>(realtime, 'feed', { reducer: (acc, p) => [p, ...acc].slice(0, 50), initialValue: [] })
 */
export function streamedChannel<T, D = T[]>(
  client: RealtimeClient,
  channel: string,
  options: StreamedChannelOptions<T, D> = {},
): QueryFunction<D, QueryKey> {
  const { onReset = 'restart', isFatal = fatal, refetchMode } = options
  const initialValue = (options.initialValue ?? []) as D
  const reducer = options.reducer ?? ((acc: D, data: T) => [...(acc as T[]), data] as D)
  return experimental_streamedQuery<Chunk<T>, D>({
    refetchMode,
    initialValue,
    reducer: (acc, chunk) => ('reason' in chunk ? initialValue : reducer(acc, chunk.data, chunk)),
    streamFn: ({ signal }) => channelStream<T>(client, channel, signal, onReset, isFatal),
  })
}

/** The channel's messages (and resets to restart on) as an async iterable; the hold ends with it. */
function channelStream<T>(
  client: RealtimeClient,
  name: string,
  signal: AbortSignal,
  onReset: 'restart' | 'continue' | 'end',
  isFatal: (error: RealtimeError) => boolean,
): AsyncIterable<Chunk<T>> {
  const queue: Chunk<T>[] = []
  let done = false
  let failure: RealtimeError | undefined
  let wake: (() => void) | undefined
  const hold = client.channel<T>(name)
  const notify = () => {
    wake?.()
    wake = undefined
  }
  const finish = () => {
    if (done) return
    done = true
    hold.release()
    signal.removeEventListener('abort', finish)
    notify()
  }
  hold.onMessage((m) => {
    if (!done) queue.push(m), notify()
  })
  hold.onReset((reset) => {
    if (done || onReset === 'continue') return
    if (onReset === 'end') return finish()
    queue.push(reset)
    notify()
  })
  hold.onError((error) => {
    if (done || !isFatal(error)) return
    failure = error
    finish()
  })
  if (signal.aborted) finish()
  else signal.addEventListener('abort', finish)
  const iterator: AsyncIterator<Chunk<T>> = {
    async next() {
      while (!queue.length && !done) await new Promise<void>((resolve) => (wake = resolve))
      // Messages that came before the end still go in; then a failure, then the end.
      if (queue.length) return { value: queue.shift()!, done: false }
      if (failure) throw failure
      return { value: undefined, done: true }
    },
    async return() {
      finish()
      return { value: undefined, done: true }
    },
  }
  return { [Symbol.asyncIterator]: () => iterator }
}
