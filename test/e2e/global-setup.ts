import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  interface ProvidedContext {
    /** The demo app, built once for this run (a directory of its own: a running `npm start` keeps demo/dist). */
    demoDist: string
  }
}

const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin/vite.js')

/**
 * Builds the demo app once for the e2e project, so `npm test` works on a fresh clone, and
 * builds it as `npm start` does: for production.
 *
 * Not with Vite's `build()` in this process: Vitest sets `NODE_ENV=test` here, and Vite 8
 * builds for production only when `NODE_ENV` is unset or `production`, so that build
 * bundled React's development build (464 kB instead of 252 kB: StrictMode's double renders,
 * dev checks and Performance-track marks on every commit). Measured with six tabs of the
 * test demo in Chromium: ~5 ms of main-thread script per event in each tab instead of
 * ~0.6 ms; the renderers used more CPU at 28 events/s than the production build at 45, the
 * demo server could no longer keep its pace, and on a busy machine follower tabs fell
 * seconds behind, so a test's `page.evaluate` in them waited up to 34 s.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outDir = await mkdtemp(join(tmpdir(), 'tabwire-demo-'))
  const config = fileURLToPath(new URL('../../demo/vite.config.ts', import.meta.url))
  await promisify(execFile)(process.execPath, [vite, 'build', '--config', config, '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    env: { ...process.env, NODE_ENV: 'production' },
  })
  project.provide('demoDist', outDir)
  return () => rm(outDir, { recursive: true, force: true })
}
