/**
 * What the cross-tab layer (src/core/tabs/ and what only it uses) adds to a hook import,
 * min+gzip: each hook is bundled as a user would import it, once as it is and once with
 * `shareAcrossTabs` replaced by "one connection per tab". Issue 5's budget: 2 KB (2,000 B,
 * as size-limit counts), for a production build (`process.env.NODE_ENV` is "production", so
 * the development-only warnings are left out, as every bundler does); the development
 * figure is printed too. Run: `node scripts/size-tabs.ts` (part of `npm run size`).
 */
import { build, type Plugin } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

const BUDGET = 2000
const root = fileURLToPath(new URL('..', import.meta.url))

/** Resolves the layer's entry to a stand-in without it: the fallback `shareAcrossTabs` takes where the APIs are missing. */
const withoutTabs: Plugin = {
  name: 'without-tabs',
  setup(b) {
    b.onResolve({ filter: /tabs\/share-across-tabs$/ }, () => ({ path: 'tabs-stub', namespace: 'stub' }))
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: `export const IDLE = { status: 'idle', data: undefined, lastEventId: undefined, error: null, attempt: 0 }
export const shareAcrossTabs = (key, create) => create(undefined, false)`,
      loader: 'js',
    }))
  },
}

async function size(names: string, plugins: Plugin[], mode: 'production' | 'development'): Promise<number> {
  const result = await build({
    stdin: { contents: `export { ${names} } from './src/index.ts'`, resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    external: ['react', 'react-dom'],
    plugins,
    define: { 'process.env.NODE_ENV': JSON.stringify(mode) },
    logLevel: 'silent',
  })
  return gzipSync(result.outputFiles[0]!.contents).length
}

let failed = false
for (const names of ['useEventSource', 'useWebSocket', 'useEventSource, useWebSocket']) {
  const [whole, without, dev, devWithout] = await Promise.all([
    size(names, [], 'production'),
    size(names, [withoutTabs], 'production'),
    size(names, [], 'development'),
    size(names, [withoutTabs], 'development'),
  ])
  const added = whole - without
  failed ||= added > BUDGET
  console.log(
    `import { ${names} }: ${whole} B, of which the cross-tab layer ${added} B (budget ${BUDGET} B)${added > BUDGET ? '  OVER BUDGET' : ''}; development build ${dev} B, layer ${dev - devWithout} B`,
  )
}
if (failed) process.exit(1)
