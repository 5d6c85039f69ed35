import { defineMain } from '@storybook/react-vite/node'
import { msw } from 'msw/vite'

export default defineMain({
  framework: '@storybook/react-vite',
  stories: ['../stories/**/*.stories.tsx'],
  addons: ['@storybook/addon-a11y', '@storybook/addon-vitest'],
  core: { disableTelemetry: true },
  // Serves MSW's service worker (the installed version's) at /mockServiceWorker.js in
  // `storybook dev` and emits it into `storybook build`; @storybook/addon-vitest applies this
  // config too, so the story tests get it. No copy in the source tree to go stale.
  viteFinal: (config) => ({ ...config, plugins: [...(config.plugins ?? []), msw({ mode: 'worker-only' })] }),
})
