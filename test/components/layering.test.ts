/**
 * tabwire/components stands on the public entry (src/index.ts), React, and types of
 * src/core/index.ts only — never on the hooks' or the core's internals — and importing it
 * starts nothing. The default page source reads the document only when asked.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { documentPage } from '../../src/components/tab-presence'

const root = join(import.meta.dirname, '../..')
const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^\s*(import|export)(\s+type)?[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => ({ type: Boolean(m[2]), specifier: m[3]! }))
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : /\.tsx?$/.test(d.name) ? [join(dir, d.name)] : []))

describe('tabwire/components layering', () => {
  it('imports only itself, the public entry, React, and types from the core entry', () => {
    const files = walk(join(root, 'src/components'))
    expect(files.length).toBeGreaterThanOrEqual(10)
    for (const file of files) {
      for (const { type, specifier } of imports(file)) {
        const allowed = /^(\.\/[\w-]+|\.\.\/index|react)$/.test(specifier) || (type && specifier === '../core/index')
        expect({ file, specifier, type, allowed }).toEqual({ file, specifier, type, allowed: true })
      }
    }
  })

  it('nothing else in src imports the components', () => {
    for (const file of walk(join(root, 'src')).filter((f) => !f.includes(join('src', 'components')))) {
      expect({ file, components: imports(file).filter((i) => i.specifier.includes('components')) }).toEqual({ file, components: [] })
    }
  })
})

describe('tabwire/components import purity', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    vi.unstubAllGlobals()
  })

  it('importing it starts no timer, draws no random number, touches no browser global', async () => {
    vi.resetModules()
    const touched: string[] = []
    for (const name of ['window', 'document', 'navigator', 'matchMedia', 'requestAnimationFrame', 'addEventListener', 'BroadcastChannel', 'crypto']) {
      const had = Object.getOwnPropertyDescriptor(globalThis, name)
      vi.stubGlobal(name, undefined)
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get: () => {
          touched.push(name)
          return had && 'value' in had ? had.value : had?.get?.call(globalThis)
        },
      })
    }
    const timers = [vi.spyOn(globalThis, 'setTimeout'), vi.spyOn(globalThis, 'setInterval'), vi.spyOn(globalThis, 'queueMicrotask')]
    const random = vi.spyOn(Math, 'random')
    const module = await import('../../src/components/index')
    expect(Object.keys(module).sort()).toEqual([
      'ConnectionStatus',
      'LiveTicker',
      'Notifications',
      'createNotificationCenter',
      'createTicker',
      'describeError',
      'useNotificationCenter',
      'useNotifications',
      'useTicker',
    ])
    for (const spy of timers) expect(spy).not.toHaveBeenCalled()
    expect(random).not.toHaveBeenCalled()
    expect(touched).toEqual([])
  })
})

describe('documentPage', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('reads visibility and focus when asked, and follows visibilitychange, focus, blur, pagehide, pageshow, freeze and resume', () => {
    const page = documentPage()
    let hidden = false
    vi.spyOn(document, 'visibilityState', 'get').mockImplementation(() => (hidden ? 'hidden' : 'visible'))
    vi.spyOn(document, 'hasFocus').mockImplementation(() => !hidden)
    let calls = 0
    const off = page.subscribe(() => void calls++)
    expect([page.visible(), page.focused()]).toEqual([true, true])
    hidden = true
    document.dispatchEvent(new Event('visibilitychange'))
    window.dispatchEvent(new Event('blur'))
    window.dispatchEvent(new Event('focus'))
    expect([page.visible(), page.focused(), calls]).toEqual([false, false, 3])
    expect(page.gone!()).toBe(false)
    window.dispatchEvent(new Event('pagehide'))
    expect([page.gone!(), calls]).toEqual([true, 4])
    window.dispatchEvent(new Event('pageshow'))
    expect(page.gone!()).toBe(false)
    // A frozen page runs nothing: gone until it resumes (a frozen focused tab would swallow toasts).
    document.dispatchEvent(new Event('freeze'))
    expect([page.gone!(), calls]).toEqual([true, 6])
    document.dispatchEvent(new Event('resume'))
    expect([page.gone!(), calls]).toEqual([false, 7])
    off()
    document.dispatchEvent(new Event('visibilitychange'))
    document.dispatchEvent(new Event('freeze'))
    expect(calls).toBe(7)
  })
})
