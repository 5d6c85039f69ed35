import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { serveFile } from '../../demo/http.ts'
import { launchChromium } from './helpers.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
let outDir: string
let server: Server
let browser: Browser

beforeAll(async () => {
  // The static Storybook, built as `npm run build-storybook` does, into a folder of its own.
  outDir = await mkdtemp(join(tmpdir(), 'tabwire-storybook-'))
  const bin = join(root, 'node_modules/.bin/storybook')
  await promisify(execFile)(bin, ['build', '-o', outDir, '--quiet'], { cwd: root, env: { ...process.env, CI: 'true' } })
  server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://x')
    void serveFile(outDir, pathname, request.method ?? 'GET', response)
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  server?.close()
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

it('the built useEventSource story streams from the tabwire/testing mock behind MSW\'s worker, resumes after a drop with no quote skipped or repeated, and retries through 503s', async () => {
  const page = await browser.newPage()
  const { port } = server.address() as AddressInfo
  await page.goto(`http://127.0.0.1:${port}/iframe.html?id=hooks-useeventsource--playground&viewMode=story`)
  // The worker is the build's own copy (msw/vite emits it): no worker, no stream.
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? ''), { timeout: 10_000 }).toMatch(/\/mockServiceWorker\.js$/)
  const cell = (name: string) => page.getByTestId(`report-${name}`).textContent()
  await expect.poll(() => cell('status'), { timeout: 10_000 }).toBe('open')
  // Every quote carries its number: received equal to the last number means no gap and no repeat.
  const consistent = async () => {
    const [received, last, gaps, repeats] = await Promise.all(['received', 'last-seq', 'gaps', 'repeats'].map(cell))
    return Number(received) > 0 && received === last && gaps === '0' && repeats === '0'
  }
  await expect.poll(consistent).toBe(true)
  // 'reconnecting' can last only a few ms (full jitter may pick a delay near 0), too short for
  // polling to see: the page records every value the status cell takes.
  await page.evaluate(() => {
    const seen: string[] = []
    Object.assign(window, { seen })
    const status = document.querySelector('[data-testid=report-status]')!
    new MutationObserver(() => seen.push(`status ${status.textContent}`)).observe(status, { subtree: true, childList: true, characterData: true })
  })
  const seen = () => page.evaluate(() => (window as unknown as { seen: string[] }).seen.join('\n'))
  await page.getByRole('button', { name: 'Drop', exact: true }).click()
  await expect.poll(seen).toMatch(/^status reconnecting$[^]*^status open$/m)
  await expect.poll(consistent).toBe(true)
  await page.getByRole('button', { name: '503 twice' }).click()
  await expect.poll(() => cell('errors-seen'), { timeout: 10_000 }).toMatch(/http, http$/)
  await expect.poll(() => cell('status')).toBe('open')
  await expect.poll(consistent).toBe(true)
  await page.close()
}, 60_000)
