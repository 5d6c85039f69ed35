import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Demo } from '../../demo/server.ts'
import { appUrl, chatCounts, launchChromium, openApp, recording, STREAMS, say, startTestDemo, streamStatus, waitOpen } from './helpers.ts'

let browser: Browser
const servers: Demo[] = []

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await Promise.all(servers.map((s) => s.close()))
})

/** A new server on the port the old one had (retried briefly, should the port still be busy). */
async function restartOn(port: number): Promise<Demo> {
  for (let tries = 0; ; tries++) {
    try {
      return await startTestDemo({ port })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries > 20) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

describe('a server restart', () => {
  it('the chat survives it, and messages sent during the outage arrive once, in order', async () => {
    // The backoff grows while the server is away: cap it, so the page is back soon after.
    const first = await startTestDemo()
    servers.push(first)
    const context = await browser.newContext()
    const { page, errors } = await openApp(context, appUrl(first, { name: 'carol', maxDelay: 800 }))
    await say(page, 'before the restart')
    await expect.poll(async () => chatCounts(await recording(page), ['before the restart'])).toEqual([1])

    await first.close()
    await page.locator(streamStatus('chat', undefined, { not: 'open' })).waitFor()
    const outage = ['sent during the outage 1', 'sent during the outage 2', 'sent during the outage 3']
    for (const text of outage) await say(page, text)
    // Shown as waiting, not lost and not sent yet.
    await expect.poll(() => page.locator('[data-pending]').count()).toBe(3)
    expect(chatCounts(await recording(page), outage)).toEqual([0, 0, 0])

    const second = await restartOn(first.port)
    servers.push(second)
    await waitOpen(page)
    await expect.poll(async () => chatCounts(await recording(page), outage), { timeout: 8000 }).toEqual([1, 1, 1])

    const rec = await recording(page)
    expect(rec.chat.map((m) => m.text)).toEqual(['before the restart', ...outage])
    // The new server's log is new: every stream was told (a reset), none silently skipped.
    expect(rec.resets.map((r) => `${r.stream}:${r.reason}`).sort()).toEqual(STREAMS.map((s) => `${s}:epoch`).sort())
    expect(rec.chat.slice(1).every((m) => m.id.startsWith(`${second.stats().epochs.chat}.`))).toBe(true)
    await expect.poll(() => page.locator('[data-pending]').count()).toBe(0)
    expect(errors).toEqual([])
    await context.close()
  })
})
