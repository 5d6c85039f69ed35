/**
 * Types of the custom browser commands defined in the `browser` project of
 * vitest.config.ts. They run in the Vitest (Node) process; tests call them through
 * `commands` from 'vitest/browser'.
 */
declare module 'vitest/browser' {
  interface BrowserCommands {
    /**
     * Puts this test session's browser context in Playwright's offline mode for `ms`, then
     * back online, and resolves after that. Offline fires window `offline`/`online`, fails
     * new requests and holds WebSocket frames (so the page's link to Vitest too: the page
     * must not await any command while offline), but does not cut open HTTP streams.
     * Times are `Date.now()` in the Vitest process (the fixture server's clock):
     * `offStart` before going offline, `offAt` once offline, `onAt` just before going back
     * online.
     */
    offlineFor: (ms: number) => Promise<{ offStart: number; offAt: number; onAt: number }>
  }
}

export {}
