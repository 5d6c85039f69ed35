/**
 * An accessibility check of a rendered component with axe-core, in jsdom. Page-level rules
 * are off (`region`: a component tested alone is not a whole page with landmarks); colour
 * contrast cannot be computed without layout and comes back "incomplete", never passing
 * silently as a violation-free result would suggest: the stylesheet's colours are checked
 * by eye in Storybook.
 */
import axe from 'axe-core'
import { expect } from 'vitest'

export async function expectNoAxeViolations(container: Element): Promise<void> {
  const result = await axe.run(container, { rules: { region: { enabled: false } } })
  expect(result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)).toEqual([])
  // The check ran real rules on real nodes: a blank container would pass everything.
  expect(result.passes.length).toBeGreaterThan(0)
}
