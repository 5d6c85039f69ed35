import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: { index: 'src/index.ts', core: 'src/core/index.ts', server: 'src/server/index.ts', query: 'src/query/index.ts' },
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  dts: true,
  clean: true,
  deps: { neverBundle: ['react', 'react-dom', 'ws', '@tanstack/react-query', '@tanstack/query-core', /^node:/] },
  // The React entries are client-only; bundling drops per-module directives, so the entry
  // chunks get it back as a banner.
  outputOptions: {
    banner: (chunk) => (chunk.isEntry && (chunk.name === 'index' || chunk.name === 'query') ? "'use client';" : ''),
  },
  inputOptions: {
    onLog(level, log, handler) {
      if (log.code === 'MODULE_LEVEL_DIRECTIVE') return
      handler(level, log)
    },
  },
})
