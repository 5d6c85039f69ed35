'use client'
import { useInsertionEffect, useRef } from 'react'
import { createDecoder, type DecodeOptions } from '../core/decode'
import type { WireMessage } from '../core/transport'

/** Keeps `value` readable from long-lived callbacks without making them change. */
export function useLatest<V>(value: V): { readonly current: V } {
  const ref = useRef(value)
  useInsertionEffect(() => {
    ref.current = value
  })
  return ref
}

/**
 * A copy of `base` (the options a stream was created with) whose named callbacks call the
 * newest ones, read from `live` at call time: a long-lived connection never holds a stale
 * closure, and inline callbacks never reconnect.
 */
export function liveOptions<O extends object>(base: O, live: () => O, names: readonly (keyof O)[]): O {
  const options = { ...base }
  for (const name of names) {
    if (typeof base[name] === 'function') {
      options[name] = ((...args: unknown[]) => ((live()[name] ?? base[name]) as Function)(...args)) as never
    }
  }
  return options
}

/**
 * Decodes as the newest holder does (`json`, `parse`, `schema`: decoding is not identity),
 * rebuilding the decoder only when those change. It is built at once, so a bad `schema`
 * throws misuse here, not on the first message.
 */
export function liveDecoder<T>(live: () => DecodeOptions<T>): (m: WireMessage) => T {
  let seen = live()
  let decode = createDecoder(seen)
  return (m) => {
    const o = live()
    if (o.json !== seen.json || o.parse !== seen.parse || o.schema !== seen.schema) decode = createDecoder((seen = o))
    return decode ? decode(m) : (m.data as T)
  }
}

/** Decoding options for a connection that decodes as the newest holder does (see {@link liveDecoder}). */
export function liveDecoding<T>(live: () => DecodeOptions<T>): DecodeOptions<T> {
  const decode = liveDecoder(live)
  return { json: false, schema: undefined, parse: (_, m) => decode(m) }
}
