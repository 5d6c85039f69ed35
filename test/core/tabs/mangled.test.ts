// The published build shortens internal property names (scripts/internal-props.ts). Tabs of
// different builds must still share a stream: here one tab runs the cross-tab layer bundled
// with that mangling and the others run it bundled without, over the in-memory lock manager
// and channels of ./fakes (which also fail a test whose frames carry a mangled name), with
// manual timers. No sleeps.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INTERNAL_PROPS } from '../../../scripts/internal-props.ts'
import type { createSends } from '../../../src/core/tabs/sends'
import type { shareAcrossTabs } from '../../../src/core/tabs/share-across-tabs'
import { manualFrames, manualTimers } from '../fakes'
import { type FakeShareable, fakeChannels, fakeLocks, fakePage, fakeShareable } from './fakes'

type Layer = { shareAcrossTabs: typeof shareAcrossTabs; createSends: typeof createSends }

const root = new URL('../../../', import.meta.url)
let dir: string
const layers: Record<'mangled' | 'plain', Layer> = {} as never

/** The layer as a user's bundler gets it from the published build (`mangle`), or as written. */
async function bundle(mangle: boolean): Promise<Layer> {
  const { outputFiles } = await build({
    stdin: {
      contents: "export { shareAcrossTabs } from './src/core/tabs/share-across-tabs.ts'\nexport { createSends } from './src/core/tabs/sends.ts'",
      resolveDir: root.pathname,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    write: false,
    mangleProps: mangle ? INTERNAL_PROPS : undefined,
    logLevel: 'silent',
  })
  const code = outputFiles[0]!.text
  // The mangled bundle spells no internal name out; the other keeps them.
  expect(/\._[a-z]/.test(code)).toBe(!mangle)
  const file = join(dir, `${mangle ? 'mangled' : 'plain'}.mjs`)
  await writeFile(file, code)
  return import(/* @vite-ignore */ pathToFileURL(file).href)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabwire-mangled-'))
  ;[layers.mangled, layers.plain] = await Promise.all([bundle(true), bundle(false)])
})
afterAll(() => rm(dir, { recursive: true, force: true }))

function world() {
  const timers = manualTimers()
  const locks = fakeLocks()
  const channels = fakeChannels()
  const now = () => 1_700_000_000_000 + timers.now
  function open(label: string, layer: Layer) {
    const made: FakeShareable[] = []
    const page = fakePage()
    const shared = layer.shareAcrossTabs<unknown>(
      'stream',
      () => {
        const c = fakeShareable()
        made.push(c)
        return c
      },
      { sends: layer.createSends, locks, channel: channels.factory(label), timers, now, random: () => 0.5, scheduleFrame: manualFrames().schedule, page, heartbeat: 100, timeout: 400 },
    )
    const ids: (string | undefined)[] = []
    shared.onMessage((m) => void ids.push(m.id))
    return {
      shared,
      made,
      ids,
      page,
      get conn() {
        const c = made.at(-1)
        if (!c || c.closed) throw new Error(`${label} does not lead`)
        return c
      },
    }
  }
  async function run() {
    for (;;) {
      const granted = await locks.tasks.run()
      const delivered = await channels.deliver()
      if (!granted && !delivered) return
    }
  }
  return { timers, open, run }
}

describe('tabs of a mangled and an unmangled build share one stream', () => {
  for (const [first, other] of [
    ['mangled', 'plain'],
    ['plain', 'mangled'],
  ] as const) {
    it(`a ${first} leader, ${other} followers: every message once, a follower's send once, a leader change, a replay after a freeze`, async () => {
      const w = world()
      const a = w.open('A', layers[first])
      const b = w.open('B', layers[other])
      const c = w.open('C', layers[other])
      a.shared.connect()
      await w.run()
      a.conn.setStatus('open')
      b.shared.connect()
      c.shared.connect()
      await w.run()
      expect([a, b, c].map((t) => [t.shared.getSnapshot().status, t.shared.getSnapshot().role])).toEqual([
        ['open', 'leader'],
        ['open', 'follower'],
        ['open', 'follower'],
      ])
      for (const id of ['1', '2']) a.conn.emit({ data: `d${id}`, event: 'message', id })
      await w.run()
      b.shared.send!('hello from B')
      await w.run()
      expect(a.conn.sent).toEqual(['hello from B'])

      // C freezes, misses 3 and 4, and gets them replayed by the leader when it comes back.
      c.page.emit('leave')
      await w.run()
      for (const id of ['3', '4']) a.conn.emit({ data: `d${id}`, event: 'message', id })
      await w.run()
      c.page.emit('return')
      await w.run()

      // The leader leaves: B (the other build) leads, from the last event.
      a.shared.close()
      await w.run()
      b.conn.setStatus('open')
      w.timers.advance(300)
      await w.run()
      expect(b.made).toHaveLength(1)
      b.conn.emit({ data: 'd5', event: 'message', id: '5' })
      await w.run()
      expect([a.ids, b.ids, c.ids]).toEqual([
        ['1', '2', '3', '4'],
        ['1', '2', '3', '4', '5'],
        ['1', '2', '3', '4', '5'],
      ])
      expect(b.conn.sent).toEqual([])
      for (const t of [b, c]) t.shared.close()
    })
  }
})
