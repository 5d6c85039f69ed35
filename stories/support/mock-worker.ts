/**
 * The one MSW worker of the playground, for msw-storybook-addon. The addon's own setup passes
 * `onUnhandledRequest`, which MSW 3 ignores: this one sets `onUnhandledFrame`. Every mock of
 * the stories lives under `/mock/` on the page's origin; a request or WebSocket there that no
 * handler matched is a bug of the story (console.error, which fails its test). Everything
 * else (Storybook's and Vite's own files, the HMR socket) goes to the network untouched.
 */
import { setupWorker, type SetupWorker } from 'msw/browser'

/** The path every mock of the playground is served under. */
export const MOCK_PREFIX = '/mock/'

type Frame = Parameters<Extract<NonNullable<Parameters<SetupWorker['start']>[0]>['onUnhandledFrame'], (...args: never[]) => unknown>>[0]['frame']

const urlOf = (frame: Frame): string => {
  const data = frame.data as { request?: Request; connection?: { client: { url: URL } } }
  return String(data.request?.url ?? data.connection?.client.url ?? '')
}

export async function startMockWorker(): Promise<SetupWorker> {
  const worker = setupWorker()
  await worker.start({
    quiet: true,
    onUnhandledFrame: ({ frame, defaults }) => {
      if (new URL(urlOf(frame), location.href).pathname.startsWith(MOCK_PREFIX)) defaults.error()
    },
  })
  return worker
}
