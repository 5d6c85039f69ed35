import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** The demo app: `vite build --config demo/vite.config.ts` writes demo/dist, which demo/server.ts serves. */
export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [react()],
  // The app imports the library by its name, as a user would; here it is the source.
  resolve: {
    alias: [
      { find: /^tabwire$/, replacement: here('../src/index.ts') },
      { find: /^tabwire\/core$/, replacement: here('../src/core/index.ts') },
      { find: /^tabwire\/query$/, replacement: here('../src/query/index.ts') },
      { find: /^tabwire\/components$/, replacement: here('../src/components/index.ts') },
      { find: /^tabwire\/components\/styles\.css$/, replacement: here('../src/components/styles.css') },
    ],
  },
  build: { outDir: here('dist'), emptyOutDir: true },
})
