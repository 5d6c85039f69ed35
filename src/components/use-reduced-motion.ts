'use client'
import { useSyncExternalStore } from 'react'

const QUERY = '(prefers-reduced-motion: reduce)'
const media = () => (typeof matchMedia === 'function' ? matchMedia(QUERY) : undefined)
const subscribe = (listener: () => void) => {
  const list = media()
  list?.addEventListener('change', listener)
  return () => list?.removeEventListener('change', listener)
}
const getSnapshot = () => media()?.matches ?? false
const getServerSnapshot = () => false

/** The user's `prefers-reduced-motion`, unless `forced` says otherwise; false where there is no `matchMedia`. */
export function useReducedMotion(forced?: boolean): boolean {
  const preferred = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot)
  return forced ?? preferred
}
