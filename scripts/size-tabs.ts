/**
 * What the cross-tab layer (src/core/tabs/ and what only it uses) adds to a hook import,
 * min+gzip (esbuild --minify, gzip -9, as issue 9 measures): each hook is bundled as a user
 * would import it, once as it is and once with the layer replaced by "one connection per
 * tab". The budgets are the figures after issue 9's rebuild plus ~100 B, for a production
 * build (`process.env.NODE_ENV` is "production", so the development-only warnings are left
 * out, as every bundler does); the development figure is printed too. Issue 5's first layer
 * had 2,000 B; the rebuilt one does more (an election machine with a token per request,
 * batches, sequence windows, the stall check, the back/forward cache), in small modules.
 * The bundles mangle the internal property names as the published build does
 * (scripts/internal-props.ts), so the figures are what a user's bundle gets.
 * Run: `node scripts/size-tabs.ts` (part of `npm run size`); `--breakdown [names]` lists what
 * each module of an import costs instead (min+gzip without it, for `useEventSource` unless named).
 */
import { build, type Plugin, transform } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { INTERNAL_PROPS } from './internal-props.ts'

/**
 * Per import, in bytes. Issue 14 raised them to what relaying the retry time and pause reason
 * (validated) and telling each tab its role measured: +20, +37 and +33 B. Mangling the layer's
 * internal names (and a few smaller cuts) took 140–170 B off each; the budgets are those figures plus ~1 %.
 * Going back to a live leader after one frame of a newer epoch (a forged frame cost the
 * non-leader tabs seconds of events) added ~80 B to each.
 * Keeping each follower's sends in order across a leader change (a send's id names the one
 * before it; a leader keeps back one that came before it, bounded) added 174 and 173 B to
 * the imports with useWebSocket (16 B to useEventSource, within its budget).
 */
const BUDGETS: Record<string, number> = {
  useEventSource: 4200,
  useWebSocket: 4885,
  'useEventSource, useWebSocket': 4875,
}
const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * Resolves the layer's entries to stand-ins without them: `shareAcrossTabs` as the fallback
 * it takes where the APIs are missing, and `createSends` (which the WebSocket hook imports
 * directly, to relay followers' sends) as nothing, so the layer is measured whole.
 */
const withoutTabs: Plugin = {
  name: 'without-tabs',
  setup(b) {
    b.onResolve({ filter: /tabs\/(share-across-tabs|sends)$/ }, (args) => ({ path: args.path, namespace: 'stub' }))
    b.onLoad({ filter: /share-across-tabs$/, namespace: 'stub' }, () => ({
      contents: `export const shareAcrossTabs = (key, create) => create(undefined, false)`,
      loader: 'js',
    }))
    b.onLoad({ filter: /sends$/, namespace: 'stub' }, () => ({ contents: `export const createSends = undefined`, loader: 'js' }))
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
    mangleProps: INTERNAL_PROPS,
    logLevel: 'silent',
  })
  return gzipSync(result.outputFiles[0]!.contents, { level: 9 }).length
}

/**
 * What each module of an import costs: the production bundle's min+gzip size less the same
 * without that module's code (so shared strings are counted where they are not repeated).
 * The sum comes short of the whole: gzip finds more to share in the whole.
 */
async function breakdown(names: string): Promise<void> {
  const { outputFiles } = await build({
    stdin: { contents: `export { ${names} } from './src/index.ts'`, resolveDir: root, loader: 'ts' },
    bundle: true,
    minifySyntax: true,
    minifyIdentifiers: true,
    format: 'esm',
    write: false,
    external: ['react', 'react-dom'],
    define: { 'process.env.NODE_ENV': '"production"' },
    mangleProps: INTERNAL_PROPS,
    logLevel: 'silent',
  })
  // esbuild heads each module's code with a `// src/…` comment when whitespace is kept.
  const parts = outputFiles[0]!.text.split(/^(?=\/\/ src\/)/m)
  const gz = async (code: string) => gzipSync((await transform(code, { minifyWhitespace: true, format: 'esm' })).code, { level: 9 }).length
  const whole = await gz(parts.join(''))
  const modules = [...new Set(parts.map((p) => /^\/\/ (src\/\S+)/.exec(p)?.[1]).filter((m) => m !== undefined))]
  const rows = await Promise.all(modules.map(async (m) => [whole - (await gz(parts.filter((p) => !p.startsWith(`// ${m}\n`)).join(''))), m] as const))
  console.log(`import { ${names} }: ${whole} B min+gzip (whitespace minified after bundling)`)
  for (const [bytes, m] of rows.sort((a, b) => b[0] - a[0])) console.log(`${String(bytes).padStart(6)} B  ${m}`)
}

const at = process.argv.indexOf('--breakdown')
if (at >= 0) {
  await breakdown(process.argv[at + 1] ?? 'useEventSource')
  process.exit(0)
}

let failed = false
for (const [names, budget] of Object.entries(BUDGETS)) {
  const [whole, without, dev, devWithout] = await Promise.all([
    size(names, [], 'production'),
    size(names, [withoutTabs], 'production'),
    size(names, [], 'development'),
    size(names, [withoutTabs], 'development'),
  ])
  const added = whole - without
  failed ||= added > budget
  console.log(
    `import { ${names} }: ${whole} B, of which the cross-tab layer ${added} B (budget ${budget} B)${added > budget ? '  OVER BUDGET' : ''}; development build ${dev} B, layer ${dev - devWithout} B`,
  )
}
if (failed) process.exit(1)
