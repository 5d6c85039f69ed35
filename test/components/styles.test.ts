/**
 * The optional stylesheet hangs on the components' attributes: each attribute and state it
 * names must exist in the components (a rename would otherwise unstyle them silently), and
 * its motion stops under prefers-reduced-motion.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const dir = join(import.meta.dirname, '../../src/components')
const css = readFileSync(join(dir, 'styles.css'), 'utf8')
const source = readdirSync(dir)
  .filter((f) => f.endsWith('.tsx'))
  .map((f) => readFileSync(join(dir, f), 'utf8'))
  .join('\n')

describe('styles.css', () => {
  it('names only attributes the components render', () => {
    const attributes = [...new Set(css.match(/data-tabwire-[\w-]+/g))]
    expect(attributes.length).toBeGreaterThan(15)
    expect(attributes.filter((a) => !source.includes(`${a}=`))).toEqual([])
  })

  it('names only states the components can be in', () => {
    const states = [...new Set([...css.matchAll(/\[data-(state|swipe|severity|direction|highlight)='([\w-]+)'\]/g)].map((m) => `${m[1]}=${m[2]}`))]
    const known = [
      ...['stale', 'open', 'reconnecting', 'closed', 'unread', 'none'].map((s) => `state=${s}`),
      'swipe=move',
      ...['success', 'warning', 'error'].map((s) => `severity=${s}`),
      ...['up', 'down'].flatMap((d) => [`direction=${d}`, `highlight=${d}`]),
    ]
    expect(states.filter((s) => !known.includes(s))).toEqual([])
    expect(states.length).toBeGreaterThan(8)
  })

  it('breaks a long unbroken title or body (a URL, a hash) inside the toast and the inbox row', () => {
    for (const part of ['[data-tabwire-toast]', '[data-tabwire-inbox-item]']) {
      const rule = css.match(new RegExp(`^${part.replace(/[[\]]/g, '\\$&')} \\{([^}]*)\\}`, 'm'))
      expect(rule?.[1], part).toMatch(/overflow-wrap: anywhere/)
    }
  })

  it('stops its motion under prefers-reduced-motion', () => {
    const reduced = css.slice(css.indexOf('@media (prefers-reduced-motion: reduce)'))
    expect(reduced).toMatch(/\[data-tabwire-ticker-value\]\[data-highlight\][^{]*\{[^}]*animation: none/)
    expect(reduced).toMatch(/transition: none/)
  })
})
