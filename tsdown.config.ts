import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: { index: 'src/index.ts', core: 'src/core/index.ts', server: 'src/server/index.ts', query: 'src/query/index.ts', testing: 'src/testing/index.ts', components: 'src/components/index.ts' },
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  dts: true,
  clean: true,
  // The components' optional stylesheet ships as it is: `tabwire/components/styles.css`.
  copy: [{ from: 'src/components/styles.css', rename: 'components.css' }],
  deps: { neverBundle: ['react', 'react-dom', 'ws', '@tanstack/react-query', '@tanstack/query-core', 'msw', /^msw\//, 'redis', /^@redis\//, /^node:/] },
  // The React entries are client-only; bundling drops per-module directives, so the entry
  // chunks get it back as a banner.
  outputOptions: {
    banner: (chunk) => (chunk.isEntry && (chunk.name === 'index' || chunk.name === 'query' || chunk.name === 'components') ? "'use client';" : ''),
    // tabwire/query shares two core modules (errors, runtime) with the other entries: left to
    // itself, the bundler gives them a chunk of their own, which costs useEventSource an
    // import. This keeps the chunk the main and core entries share as it was: every core
    // module, except what the server shares (protocol) and what only the React entry uses
    // (options-cell).
    codeSplitting: {
      includeDependenciesRecursively: false,
      // Source modules only (`x.ts`): the declaration build goes through the same bundler.
      groups: [{ name: 'core', test: /[\\/]src[\\/]core[\\/](?!realtime[\\/]protocol\.ts$|options-cell\.ts$)(?:[\w-]+[\\/])*[\w-]+\.ts$/ }],
    },
  },
  inputOptions: {
    onLog(level, log, handler) {
      if (log.code === 'MODULE_LEVEL_DIRECTIVE') return
      handler(level, log)
    },
  },
})
