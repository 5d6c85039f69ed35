import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'

const root = join(import.meta.dirname, '../..')

describe('layering', () => {
  it('src/core imports nothing from React (or anything outside src/core)', () => {
    const dir = join(root, 'src/core')
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))
    expect(files.length).toBeGreaterThan(5)
    for (const file of files) {
      const source = readFileSync(join(dir, file), 'utf8')
      const imports = [...source.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1])
      for (const specifier of imports) expect({ file, specifier }).toEqual({ file, specifier: expect.stringMatching(/^\.\//) })
    }
  })
})

describe('import purity', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    vi.unstubAllGlobals()
  })

  it.each(['../../src/core/index.ts', '../../src/index.ts'])('importing %s starts no timer, draws no random number, touches no browser global', async (entry) => {
    vi.resetModules()
    const touched: string[] = []
    for (const name of ['window', 'document', 'navigator', 'location', 'EventSource', 'requestAnimationFrame', 'addEventListener']) {
      const had = Object.getOwnPropertyDescriptor(globalThis, name)
      vi.stubGlobal(name, undefined)
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get: () => {
          touched.push(name)
          return had && 'value' in had ? had.value : undefined
        },
      })
    }
    const timers = [vi.spyOn(globalThis, 'setTimeout'), vi.spyOn(globalThis, 'setInterval'), vi.spyOn(globalThis, 'queueMicrotask')]
    const random = vi.spyOn(Math, 'random')
    const module = await import(/* @vite-ignore */ entry)
    expect(Object.keys(module).length).toBeGreaterThan(3)
    for (const spy of timers) expect(spy).not.toHaveBeenCalled()
    expect(random).not.toHaveBeenCalled()
    expect(touched).toEqual([])
  })
})
