import { afterEach, describe, expect, it, vi } from 'vitest'
import { type EnvironmentSignal, globalEnvironment } from '../../src/core/environment'

afterEach(() => {
  vi.unstubAllGlobals()
})

/** Makes the global scope an event target, as `window` is in a browser. */
function stubWindowEvents() {
  const target = new EventTarget()
  vi.stubGlobal('addEventListener', target.addEventListener.bind(target))
  vi.stubGlobal('removeEventListener', target.removeEventListener.bind(target))
  vi.stubGlobal('dispatchEvent', target.dispatchEvent.bind(target))
  return target
}

/** A `document` with a settable visibilityState. */
function stubDocument(visibilityState: DocumentVisibilityState) {
  const doc = Object.assign(new EventTarget(), { visibilityState })
  vi.stubGlobal('document', doc)
  return doc
}

const pageshow = (persisted: boolean) => Object.assign(new Event('pageshow'), { persisted })

function listen() {
  const signals: EnvironmentSignal[] = []
  const unsubscribe = globalEnvironment().subscribe((signal) => signals.push(signal))
  return { signals, unsubscribe }
}

describe('globalEnvironment in plain Node (no window, no document)', () => {
  it('has no window events or document here', () => {
    expect(typeof (globalThis as { addEventListener?: unknown }).addEventListener).toBe('undefined')
    expect(typeof (globalThis as { document?: unknown }).document).toBe('undefined')
  })

  it('reports nothing when navigator.onLine is unknown', () => {
    expect((globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine).toBeUndefined()
    expect(globalEnvironment().current()).toEqual([])
  })

  it('follows navigator.onLine', () => {
    vi.stubGlobal('navigator', { onLine: false })
    expect(globalEnvironment().current()).toEqual(['offline'])
    vi.stubGlobal('navigator', { onLine: true })
    expect(globalEnvironment().current()).toEqual([])
  })

  it('reads navigator.onLine on every call, not once', () => {
    const navigator = { onLine: true }
    vi.stubGlobal('navigator', navigator)
    const env = globalEnvironment()
    expect(env.current()).toEqual([])
    navigator.onLine = false
    expect(env.current()).toEqual(['offline'])
  })

  it('reports nothing when there is no navigator at all', () => {
    vi.stubGlobal('navigator', undefined)
    expect(globalEnvironment().current()).toEqual([])
  })

  it('subscribes inertly and returns a working no-op unsubscribe', () => {
    const listener = vi.fn()
    const unsubscribe = globalEnvironment().subscribe(listener)
    expect(typeof unsubscribe).toBe('function')
    expect(() => unsubscribe()).not.toThrow()
    expect(() => unsubscribe()).not.toThrow()
    expect(listener).not.toHaveBeenCalled()
  })
})

describe('globalEnvironment with window events (EventTarget on globalThis)', () => {
  it('turns offline, online and pagehide events into signals', () => {
    stubWindowEvents()
    const { signals } = listen()
    for (const type of ['offline', 'online', 'pagehide', 'offline']) dispatchEvent(new Event(type))
    expect(signals).toEqual(['offline', 'online', 'pagehide', 'offline'])
  })

  it('signals pageshow only for a page restored from the back/forward cache (persisted)', () => {
    stubWindowEvents()
    const { signals } = listen()
    dispatchEvent(pageshow(false)) // a first load: nothing to resume
    dispatchEvent(new Event('pageshow')) // no persisted field at all
    expect(signals).toEqual([])
    dispatchEvent(pageshow(true))
    expect(signals).toEqual(['pageshow'])
  })

  it('ignores other window events', () => {
    stubWindowEvents()
    const { signals } = listen()
    for (const type of ['focus', 'blur', 'resize', 'visibilitychange', 'beforeunload']) dispatchEvent(new Event(type))
    expect(signals).toEqual([])
  })

  it('stops signalling after unsubscribe, and only for that subscriber', () => {
    stubWindowEvents()
    const a = listen()
    const b = listen()
    dispatchEvent(new Event('offline'))
    a.unsubscribe()
    dispatchEvent(new Event('online'))
    dispatchEvent(pageshow(true))
    expect(a.signals).toEqual(['offline'])
    expect(b.signals).toEqual(['offline', 'online', 'pageshow'])
    b.unsubscribe()
    dispatchEvent(new Event('pagehide'))
    expect(b.signals).toEqual(['offline', 'online', 'pageshow'])
  })
})

describe('globalEnvironment with a document', () => {
  it('reports hidden from document.visibilityState, together with offline', () => {
    const doc = stubDocument('hidden')
    vi.stubGlobal('navigator', { onLine: false })
    const env = globalEnvironment()
    expect(env.current()).toEqual(['offline', 'hidden'])
    doc.visibilityState = 'visible'
    expect(env.current()).toEqual(['offline'])
  })

  it('turns visibilitychange into hidden / visible', () => {
    stubWindowEvents()
    const doc = stubDocument('visible')
    const { signals, unsubscribe } = listen()
    doc.visibilityState = 'hidden'
    doc.dispatchEvent(new Event('visibilitychange'))
    doc.visibilityState = 'visible'
    doc.dispatchEvent(new Event('visibilitychange'))
    dispatchEvent(new Event('offline'))
    expect(signals).toEqual(['hidden', 'visible', 'offline'])
    unsubscribe()
    doc.visibilityState = 'hidden'
    doc.dispatchEvent(new Event('visibilitychange'))
    expect(signals).toEqual(['hidden', 'visible', 'offline'])
  })

  it('works with a document but no window events (e.g. a partial global scope)', () => {
    const doc = stubDocument('visible')
    const { signals } = listen()
    doc.visibilityState = 'hidden'
    doc.dispatchEvent(new Event('visibilitychange'))
    expect(signals).toEqual(['hidden'])
  })
})

describe('stubs are restored', () => {
  it('leaves the global scope as it found it', () => {
    expect(typeof (globalThis as { addEventListener?: unknown }).addEventListener).toBe('undefined')
    expect(typeof (globalThis as { document?: unknown }).document).toBe('undefined')
    expect(typeof (globalThis as { navigator?: unknown }).navigator).toBe('object')
  })
})
