'use client'
import { useInsertionEffect, useRef } from 'react'

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
