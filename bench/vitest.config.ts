import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Benchmarks have a config of their own, so `npm test` never runs them.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    environment: 'node',
    include: [],
    benchmark: { include: ['bench/**/*.bench.ts'] },
  },
})
