/**
 * tabwire/query stands on src/core and TanStack only (never on the React entry, which must
 * not import TanStack either), and importing it starts nothing.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'

const root = join(import.meta.dirname, '../..')
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1])

describe('tabwire/query layering', () => {
  it('src/query imports only itself, src/core, React and @tanstack/react-query', () => {
    const dir = join(root, 'src/query')
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))
    expect(files.length).toBeGreaterThanOrEqual(4)
    for (const file of files) {
      for (const specifier of importsOf(join(dir, file))) {
        expect({ file, specifier }).toEqual({ file, specifier: expect.stringMatching(/^(\.\/|\.\.\/core\/|react$|@tanstack\/react-query$)/) })
      }
    }
  })

  it('nothing outside src/query imports TanStack', () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : /\.tsx?$/.test(d.name) ? [join(dir, d.name)] : []))
    const outside = walk(join(root, 'src')).filter((f) => !f.includes(`${join('src', 'query')}`))
    expect(outside.length).toBeGreaterThan(20)
    for (const file of outside) expect({ file, tanstack: importsOf(file).filter((s) => s!.startsWith('@tanstack/')) }).toEqual({ file, tanstack: [] })
  })
})

describe('tabwire/query import purity', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    vi.unstubAllGlobals()
  })

  it('importing src/query starts no timer, draws no random number, touches no browser global', async () => {
    // TanStack's own module state (its managers) is evaluated first: only ours is measured.
    await import('@tanstack/react-query')
    vi.resetModules()
    const touched: string[] = []
    for (const name of ['window', 'document', 'navigator', 'location', 'requestAnimationFrame', 'addEventListener', 'BroadcastChannel']) {
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
    const module = await import('../../src/query/index')
    expect(Object.keys(module).sort()).toEqual(['RealtimeQueryBridge', 'createQueryBridge', 'invalidateFrameKeys', 'streamedChannel', 'useQueryBridge', 'useRealtimeQueryBridge'])
    for (const spy of timers) expect(spy).not.toHaveBeenCalled()
    expect(random).not.toHaveBeenCalled()
    expect(touched).toEqual([])
  })
})
