'use client'
import { type PointerEvent, useRef, useState } from 'react'

/** Where a swipe is: none, following the pointer, or let go short of the threshold. */
export type SwipeState = 'idle' | 'move' | 'cancel'

/** The direction a toast is swiped away in. */
export type SwipeDirection = 'left' | 'right'

/**
 * Swipe to dismiss with pointer events (mouse, pen and touch alike): past `threshold` px in
 * `direction` when the pointer is let go, `onSwipe` runs; short of it, the toast goes back.
 * The offset is in the `--tabwire-swipe-x` custom property for the stylesheet to move by.
 */
export function useSwipe(onSwipe: () => void, direction: SwipeDirection, threshold: number) {
  const start = useRef<{ id: number; x: number } | null>(null)
  const [state, setState] = useState<{ swipe: SwipeState; dx: number }>({ swipe: 'idle', dx: 0 })
  const sign = direction === 'right' ? 1 : -1
  const distance = (event: PointerEvent) => Math.max(0, (event.clientX - start.current!.x) * sign)

  return {
    swipe: state.swipe,
    style: state.swipe === 'move' ? ({ '--tabwire-swipe-x': `${state.dx * sign}px` } as Record<string, string>) : undefined,
    handlers: {
      onPointerDown(event: PointerEvent<HTMLElement>) {
        // Only the primary button, and not on a button inside (it has a click of its own).
        if (event.button !== 0 || (event.target as Element).closest?.('button')) return
        start.current = { id: event.pointerId, x: event.clientX }
        event.currentTarget.setPointerCapture?.(event.pointerId)
      },
      onPointerMove(event: PointerEvent<HTMLElement>) {
        if (start.current?.id !== event.pointerId) return
        setState({ swipe: 'move', dx: distance(event) })
      },
      onPointerUp(event: PointerEvent<HTMLElement>) {
        if (start.current?.id !== event.pointerId) return
        const dx = distance(event)
        start.current = null
        if (dx >= threshold) return onSwipe()
        setState({ swipe: dx > 0 ? 'cancel' : 'idle', dx: 0 })
      },
      onPointerCancel() {
        start.current = null
        setState({ swipe: 'cancel', dx: 0 })
      },
    },
  }
}
