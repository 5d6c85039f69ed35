// Plain HTTP plumbing of the demo server: static files of the built app and JSON answers.
import { readFile, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, resolve, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
}


/** Serves a file of the built app from `dist`, never anything outside it. */
export async function serveFile(dist: string, pathname: string, method: string, response: ServerResponse) {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return json(response, 400, { error: 'bad path' })
  }
  const file = resolve(dist, `.${decoded === '/' ? '/index.html' : decoded}`)
  // Nothing outside dist, whatever `..` or encoded slashes the path holds.
  if (decoded.includes('\0') || (file !== dist && !file.startsWith(dist + sep))) return json(response, 404, { error: 'not found' })
  const info = await stat(file).catch(() => null)
  if (!info?.isFile()) {
    if (decoded === '/') {
      response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
      return void response.end('The demo app is not built: run `npm run demo:build` (or `npm start`).\n')
    }
    return json(response, 404, { error: 'not found' })
  }
  const body = await readFile(file)
  response.writeHead(200, {
    'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': body.length,
    'x-content-type-options': 'nosniff',
    // Hashed assets never change; the page itself is always fresh.
    'cache-control': decoded.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  })
  response.end(method === 'HEAD' ? undefined : body)
}

/** Answers with a JSON body. */
export function json(response: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}

/** Reads a request body as text, refusing more than `limit` characters. */
export function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((done, fail) => {
    let text = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => {
      text += chunk
      if (text.length > limit) {
        fail(new Error('too large'))
        request.destroy()
      }
    })
    request.on('end', () => done(text))
    request.on('error', fail)
  })
}

/** `--port N`, else `PORT`, else 5173. */
export function portFromArgs(argv: readonly string[]): number {
  const at = argv.indexOf('--port')
  const given = at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith('--port='))?.slice(7) ?? process.env.PORT
  const port = given === undefined || given === '' ? 5173 : Number(given)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`bad port '${given}'`)
  return port
}
