/**
 * A story's mock server: made in the story's `beforeEach` (msw-storybook-addon gives it the
 * worker there), once per mount of the story, and read by its render and play functions.
 * Storybook runs `beforeEach` again when a control changes; the story keeps the mock it
 * started with (its connections and log) until it is torn down.
 */
import type { SetupWorker } from 'msw/browser'

type Handlers = { readonly handlers: readonly Parameters<SetupWorker['use']>[number][] }

export interface StoryMock<M> {
  /** Give it to a meta or a story as its `beforeEach`. */
  beforeEach(context: { id: string; msw: SetupWorker }): (() => void) | undefined
  /** The mock of the story being shown. */
  of(context: { id: string }): M
}

export function storyMock<M extends Handlers>(make: () => M): StoryMock<M> {
  const mocks = new Map<string, M>()
  return {
    beforeEach(context) {
      if (mocks.has(context.id)) return undefined
      const mock = make()
      mocks.set(context.id, mock)
      context.msw.use(...mock.handlers)
      return () => void mocks.delete(context.id)
    },
    of(context) {
      const mock = mocks.get(context.id)
      if (!mock) throw new Error(`stories: no mock for ${context.id}; is storyMock's beforeEach in the story or its meta?`)
      return mock
    },
  }
}

/** Where a mock is served: under /mock/ on the page's origin (see mock-worker.ts). */
export const mockUrl = (path: string) => new URL(`/mock/${path}`, location.href).href
