/**
 * The `react18` Vitest project runs the hook suites (test/react) against React 18, which the
 * peer range `^18 || ^19` promises. React 18 lives in test/react18/node_modules (a file:
 * devDependency, so `npm ci` puts it there, next to its own react-dom; see
 * test/react18/package.json). This plugin sends every import of `react`, `react-dom` and
 * their subpaths made by code Vite transforms (src/, the tests, and the ES module build of
 * @testing-library/react, which the project inlines) to that copy. React itself is loaded
 * by Node, so its internal requires stay within React 18.
 */
import { createRequire } from 'node:module'
import type { Plugin } from 'vite'

const fromReact18 = createRequire(new URL('../react18/package.json', import.meta.url))
const fromRoot = createRequire(new URL('../../package.json', import.meta.url))

/**
 * @testing-library/react's ES module build: its `main` is CommonJS, which Node would load
 * itself, with the root's React 19. Inline this file in the project (`server.deps.inline`).
 */
export const testingLibraryEsm = fromRoot.resolve('@testing-library/react').replace(/dist[\\/]index\.js$/, 'dist/@testing-library/react.esm.js')

export function react18(): Plugin {
  return {
    name: 'tabwire:react-18',
    enforce: 'pre',
    resolveId(source) {
      if (source === '@testing-library/react') return testingLibraryEsm
      if (!/^react(-dom)?(\/|$)/.test(source)) return null
      try {
        return fromReact18.resolve(source)
      } catch (thrown) {
        throw new Error(`[react18 project] cannot resolve ${source} in test/react18: run \`npm ci\` (or \`npm install\`) at the root`, { cause: thrown })
      }
    },
  }
}
