import addonA11y from '@storybook/addon-a11y'
import { definePreview } from '@storybook/react-vite'
import addonMsw from 'msw-storybook-addon'
import { startMockWorker } from '../stories/support/mock-worker'

export default definePreview({
  addons: [addonA11y(), addonMsw(startMockWorker)],
  parameters: {
    layout: 'padded',
    // axe runs after every story (and its play function): a violation fails the story's test.
    a11y: { test: 'error' },
  },
})
