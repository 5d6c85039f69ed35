import addonA11y from '@storybook/addon-a11y'
import { definePreview } from '@storybook/react-vite'
import addonMsw from 'msw-storybook-addon'
import { configure } from 'storybook/test'
import { FreshRegistry } from '../stories/support/fresh-registry'
import { startMockWorker } from '../stories/support/mock-worker'

// Real sockets and timers on a machine that may be busy: waitFor gives a story 10 s, not 1 s.
configure({ asyncUtilTimeout: 10_000 })

export default definePreview({
  addons: [addonA11y(), addonMsw(startMockWorker)],
  decorators: [
    (Story) => (
      <FreshRegistry>
        <Story />
      </FreshRegistry>
    ),
  ],
  parameters: {
    layout: 'padded',
    // axe runs after every story (and its play function): a violation fails the story's test.
    a11y: { test: 'error' },
  },
})
