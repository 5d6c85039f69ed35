import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  interface ProvidedContext {
    /** The demo app, built once for this run (a directory of its own: a running `npm start` keeps demo/dist). */
    demoDist: string
  }
}

/** Builds the demo app once for the e2e project, so `npm test` works on a fresh clone. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outDir = await mkdtemp(join(tmpdir(), 'tabwire-demo-'))
  await build({
    configFile: fileURLToPath(new URL('../../demo/vite.config.ts', import.meta.url)),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  })
  project.provide('demoDist', outDir)
  return () => rm(outDir, { recursive: true, force: true })
}
