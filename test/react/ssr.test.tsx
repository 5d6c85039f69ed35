// @vitest-environment node
/**
 * Server rendering runs in Node, where there is no window: the hook must render its idle
 * snapshot, open nothing and leave every browser global alone (also while importing).
 */
import { createElement } from 'react'
import { renderToString } from 'react-dom/server'
import { afterEach, expect, it } from 'vitest'

const srcDir = new URL('../../src/', import.meta.url).pathname

/** Who in src/ touched what: one entry per access, with the first src frame. */
const touched: string[] = []
const restores: (() => void)[] = []

function fromSrc(): string | undefined {
  return new Error().stack?.split('\n').find((line) => line.includes(srcDir))?.trim()
}

/** Records reads of a global (browser globals: present or not). */
function trapRead(name: string) {
  const own = Object.getOwnPropertyDescriptor(globalThis, name)
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() {
      const frame = fromSrc()
      if (frame) touched.push(`read ${name} at ${frame}`)
      return own ? (own.get ? own.get.call(globalThis) : own.value) : undefined
    },
    set(value) {
      const frame = fromSrc()
      if (frame) touched.push(`wrote ${name} at ${frame}`)
      Object.defineProperty(globalThis, name, { configurable: true, writable: true, value })
    },
  })
  restores.push(() => {
    if (own) Object.defineProperty(globalThis, name, own)
    else delete (globalThis as Record<string, unknown>)[name]
  })
}

/** Records calls of a global function (timers, fetch) that Node has too. */
function trapCall(name: 'setTimeout' | 'setInterval' | 'queueMicrotask' | 'fetch') {
  const original = globalThis[name] as (...args: unknown[]) => unknown
  ;(globalThis as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
    const frame = fromSrc()
    if (frame) touched.push(`called ${name} at ${frame}`)
    return original.apply(this, args)
  }
  restores.push(() => void ((globalThis as Record<string, unknown>)[name] = original))
}

afterEach(() => {
  for (const restore of restores.splice(0).reverse()) restore()
  touched.length = 0
})

it('renderToString renders the idle snapshot, opens no connection and touches no browser global', async () => {
  for (const name of [
    'window',
    'document',
    'navigator',
    'location',
    'EventSource',
    'WebSocket',
    'BroadcastChannel',
    'requestAnimationFrame',
    'localStorage',
    'sessionStorage',
    'addEventListener',
    'reportError',
  ]) {
    trapRead(name)
  }
  for (const name of ['setTimeout', 'setInterval', 'queueMicrotask', 'fetch'] as const) trapCall(name)

  // Imported only now, so module evaluation is watched too.
  const { createRegistry, useEventSource } = await import('../../src/index')
  const inner = createRegistry({ linger: 0 })
  let acquired = 0
  const registry: typeof inner = {
    acquire: (key, create) => (acquired++, inner.acquire(key, create)),
    peek: (key) => inner.peek(key),
  }
  const onMessage = () => {
    throw new Error('no message can arrive during SSR')
  }

  function Ticker({ url, shared }: { url: string; shared: boolean }) {
    const { status, data, error, attempt } = useEventSource<{ price: number }>(url, {
      json: true,
      onMessage,
      ...(shared ? {} : { registry }),
    })
    return createElement('p', { 'data-state': status, 'data-error': error?.kind ?? '', 'data-attempt': attempt }, data?.price ?? 'none')
  }

  const html = renderToString(
    createElement('div', null, [
      createElement(Ticker, { key: 'a', url: 'https://example.test/quotes', shared: false }),
      createElement(Ticker, { key: 'b', url: 'https://example.test/quotes', shared: true }),
    ]),
  )

  expect(html).toBe(
    '<div><p data-state="idle" data-error="" data-attempt="0">none</p><p data-state="idle" data-error="" data-attempt="0">none</p></div>',
  )
  expect(acquired).toBe(0)
  expect(touched).toEqual([])
})
