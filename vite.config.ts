import { storybookTest } from '@storybook/addon-vitest/vitest-plugin'
import { playwright } from '@vitest/browser-playwright'
import { msw } from 'msw/vite'
import { defineConfig } from 'vitest/config'
import { chromiumArgs, chromiumPath } from './test/chromium.ts'
import { react18, testingLibraryEsm } from './test/setup/react-18.ts'

// Each browser project needs its own provider object (a shared one fails with
// "Cannot define a nested project").
const chromium = () =>
  playwright({
    launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
  })

// A real lock manager (grants in a later task) and BroadcastChannel: the hooks' default
// `share: 'tabs'` runs shared in jsdom, not as its one-connection-per-tab fallback.
const hookSetupFiles = ['test/setup/jsdom.ts', 'test/setup/browser-tabs.ts']
// Above waitFor's 10 s (test/react/harness.ts), so a wait that never ends fails with its diff;
// no passing test comes near either on a loaded machine.
const hookTestTimeout = 30_000

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'core',
          environment: 'node',
          include: ['test/core/**/*.test.ts'],
          // The cross-tab suite on Node's real lock manager polls and waits on real time: a
          // test ends as soon as it holds, and a loaded machine must not fail it on a budget.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'server',
          environment: 'node',
          include: ['test/server/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'react',
          environment: 'jsdom',
          include: ['test/react/**/*.test.{ts,tsx}', 'test/setup/**/*.test.ts'],
          setupFiles: hookSetupFiles,
          testTimeout: hookTestTimeout,
        },
      },
      {
        // tabwire/query: the bridge with a real QueryClient, MSW `http` and `ws.link`.
        test: {
          name: 'query',
          environment: 'jsdom',
          include: ['test/query/**/*.test.{ts,tsx}'],
          setupFiles: hookSetupFiles,
          testTimeout: hookTestTimeout,
        },
      },
      {
        // tabwire/components: the components in jsdom with MSW, in the default share mode.
        test: {
          name: 'components',
          environment: 'jsdom',
          include: ['test/components/**/*.test.{ts,tsx}'],
          setupFiles: hookSetupFiles,
          testTimeout: hookTestTimeout,
        },
      },
      {
        // tabwire/testing: the MSW mocks (and their conformance with tabwire/server) and the
        // multi-tab simulator, as an app's own jsdom tests would use them.
        test: {
          name: 'testing',
          environment: 'jsdom',
          include: ['test/testing/**/*.test.{ts,tsx}'],
          setupFiles: ['test/setup/jsdom.ts'],
          testTimeout: hookTestTimeout,
        },
      },
      {
        // The same hook suites on React 18 (the peer range is ^18 || ^19), from test/react18.
        plugins: [react18()],
        test: {
          name: 'react18',
          environment: 'jsdom',
          include: ['test/react/**/*.test.{ts,tsx}'],
          setupFiles: hookSetupFiles,
          testTimeout: hookTestTimeout,
          // Transformed by Vite, so its imports of react and react-dom reach React 18 too.
          server: { deps: { inline: [testingLibraryEsm] } },
        },
      },
      {
        // Pre-bundled up front: found mid-run, they make Vite reload the test page.
        optimizeDeps: { include: ['react', 'react/jsx-dev-runtime', 'react-dom/client', '@testing-library/react', 'msw', 'msw/browser'] },
        // Serves MSW's service worker (the installed version's) at /mockServiceWorker.js, for
        // setupWorker in test/browser/testing-kit.test.tsx: no copy in the source tree to go stale.
        plugins: [msw({ mode: 'worker-only' })],
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.{ts,tsx}'],
          globalSetup: ['test/browser/global-setup.ts'],
          // Real sockets and timers: leave room for a slow CI machine; poll often.
          expect: { poll: { timeout: 3000, interval: 10 } },
          browser: {
            enabled: true,
            headless: true,
            provider: chromium(),
            instances: [{ browser: 'chromium' }],
            // A failure is told by its assertion; a screenshot would only land in the source tree.
            screenshotFailures: false,
            commands: {
              // Real offline mode (Playwright) for this session's browser context, ended from
              // Node: offline also holds the page's RPC socket to Vitest, so the page could not
              // ask to come back online itself. Typed in test/browser/commands.ts.
              async offlineFor(context, ms: number) {
                const offStart = Date.now()
                await context.context.setOffline(true)
                const offAt = Date.now()
                await new Promise((resolve) => setTimeout(resolve, ms))
                const onAt = Date.now()
                await context.context.setOffline(false)
                return { offStart, offAt, onAt }
              },
            },
          },
        },
      },
      {
        // The Storybook playground's stories as tests (@storybook/addon-vitest): each story
        // renders in real Chromium against the tabwire/testing mocks behind MSW's worker (served
        // by .storybook/main.ts's viteFinal), its play function runs, then axe (addon-a11y).
        plugins: [storybookTest({ configDir: '.storybook' })],
        // Pre-bundled up front: found mid-run, they make Vite reload the test page. msw and
        // msw/browser both, or the worker and the mocks get two copies of msw.
        optimizeDeps: {
          include: ['react', 'react/jsx-dev-runtime', 'react-dom/client', '@testing-library/react', 'msw', 'msw/browser', 'msw-storybook-addon', '@storybook/addon-a11y/preview', 'axe-core'],
        },
        test: {
          name: 'storybook',
          testTimeout: 30_000,
          browser: {
            enabled: true,
            headless: true,
            provider: chromium(),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
          },
        },
      },
      {
        // The demo (demo/server.ts + the built app) driven by real Chromium via playwright-core.
        // Its files run one at a time, after every other project: they time failovers of
        // several real tabs against wall-clock bounds, which other Chromiums on the same
        // 2 cores would stretch.
        test: {
          name: 'e2e',
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 20_000,
          hookTimeout: 30_000,
          expect: { poll: { timeout: 5000, interval: 50 } },
        },
      },
    ],
  },
})
