import { transform } from 'esbuild'
import { defineConfig, type Rolldown } from 'tsdown'
import { INTERNAL_PROPS } from './scripts/internal-props.ts'

/**
 * Shortens the internal property names (`_epoch`: see scripts/internal-props.ts) in the
 * client chunks (tabwire and tabwire/core); the others (the server's, the testing kit's) are
 * left as written, so code there that reaches into another library's `_private` fields keeps
 * working. Each chunk is mangled on its own, so a name must live in one chunk only: the build
 * fails when two chunks have one (they would name it apart, or one not at all).
 */
function mangleInternalProps(): Rolldown.Plugin {
  const client = new Set(['index', 'core'])
  const owner = new Map<string, string>()
  return {
    name: 'tabwire:mangle-internal-props',
    async renderChunk(code, chunk) {
      if (!chunk.fileName.endsWith('.js')) return null
      const result = await transform(code, { loader: 'js', format: 'esm', target: 'es2022', mangleProps: INTERNAL_PROPS, mangleCache: {} })
      const names = Object.keys(result.mangleCache ?? {})
      for (const name of names) {
        const first = owner.get(name)
        if (first && first !== chunk.fileName) this.error(`internal property ${name} is in ${first} and ${chunk.fileName}: chunks mangle apart, so keep it in one (or rename it)`)
        owner.set(name, chunk.fileName)
      }
      return names.length && client.has(chunk.name) ? { code: result.code, map: null } : null
    },
  }
}

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
  plugins: [mangleInternalProps()],
  inputOptions: {
    onLog(level, log, handler) {
      if (log.code === 'MODULE_LEVEL_DIRECTIVE') return
      handler(level, log)
    },
  },
})
