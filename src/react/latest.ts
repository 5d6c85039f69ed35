'use client'
import { useInsertionEffect, useRef } from 'react'

/** Keeps `options` readable from long-lived callbacks without making them change. */
export function useLatest<V>(value: V): { readonly current: V } {
  const ref = useRef(value)
  useInsertionEffect(() => {
    ref.current = value
  })
  return ref
}

/**
 * A copy of the options whose named callbacks call the newest ones at call time, so a
 * long-lived connection never holds a stale closure and inline callbacks never reconnect.
 */
export function liveOptions<O extends object>(latest: { readonly current: O }, names: readonly (keyof O)[]): O {
  const options = { ...latest.current }
  for (const name of names) {
    if (typeof options[name] === 'function') options[name] = ((...args: unknown[]) => (latest.current[name] as Function)(...args)) as never
  }
  return options
}
