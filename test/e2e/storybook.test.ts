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

it('the useEventSource story streams, resumes after a drop with no id skipped or repeated, and retries through 503s', async () => {
  const page = await browser.newPage()
  const { port } = server.address() as AddressInfo
  await page.goto(`http://127.0.0.1:${port}/iframe.html?id=hooks-useeventsource--playground&viewMode=story`)
  const status = page.getByTestId('status')
  await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('open')
  // Every message is counted by onMessage; the ids come from the stream: equal means no gap and no repeat.
  const consistent = async () => {
    const [count, id] = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('dd')].map((dd) => dd.textContent)
      return [Number(cells[2]), Number(cells[1])]
    })
    return count > 0 && count === id
  }
  await expect.poll(consistent).toBe(true)
  // 'reconnecting' and the 503 error can last only a few ms (full jitter may pick a delay near 0), too
  // short for polling to see: the page records every value the status and error cells take.
  await page.evaluate(() => {
    const seen: string[] = []
    Object.assign(window, { seen })
    const [status, error] = [document.querySelector('[data-testid=status]')!, document.querySelectorAll('dd')[4]!]
    const record = () => seen.push(`status ${status.textContent}`, `error ${error.textContent}`)
    new MutationObserver(record).observe(document.querySelector('dl')!, { subtree: true, childList: true, characterData: true })
  })
  const seen = () => page.evaluate(() => (window as unknown as { seen: string[] }).seen.join('\n'))
  const clear = () => page.evaluate(() => void (window as unknown as { seen: string[] }).seen.splice(0))
  await page.getByRole('button', { name: 'Drop', exact: true }).click()
  await expect.poll(seen).toMatch(/^status reconnecting$[^]*^status open$/m)
  await expect.poll(consistent).toBe(true)
  await clear()
  await page.getByRole('button', { name: 'Drop, then 503 twice' }).click()
  await expect.poll(seen, { timeout: 10_000 }).toMatch(/^error http: HTTP 503[^]*^status open$/m)
  await expect.poll(consistent).toBe(true)
  await page.close()
}, 60_000)
