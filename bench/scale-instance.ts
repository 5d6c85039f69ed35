/**
 * One server instance for the scale-out tests and `npm run bench:scale`: an SSE endpoint
 * over a Redis log (or a memory log), in its own process. Run by Node itself (type
 * stripping), so imports name `.ts` files.
 *
 * Arguments: JSON `{ "redis"?: url, "key"?: string, "capacity"?: number }` (no `redis`: a
 * memory log). Serves `GET /events` (SSE, resume by `Last-Event-ID`), `POST /append?n=N&size=B&from=K`
 * (appends N events of about B bytes, data `{"n":<count>,"t":<ms>}` padded, counting on from K, each awaited in
 * turn; answers the last id), `GET /stats` (clients). Prints `{"port":N}` once listening on
 * 127.0.0.1, and ends when its stdin closes.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryLog } from '../src/server/log.ts'
import { createRedisLog } from '../src/server/redis-log.ts'
import { createSseHandler } from '../src/server/sse.ts'

const options = JSON.parse(process.argv[2] ?? '{}') as { redis?: string; key?: string; capacity?: number }
const capacity = options.capacity ?? 10_000
const log = options.redis ? createRedisLog({ url: options.redis, key: options.key ?? 'scale', capacity, block: 250 }) : createMemoryLog({ capacity })
const sse = createSseHandler({ log, heartbeat: 0 })
let count = 0

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1')
  if (url.pathname === '/events') return sse(request, response)
  if (url.pathname === '/stats') return void response.end(JSON.stringify({ clients: sse.clients }))
  if (url.pathname === '/append' && request.method === 'POST') {
    const n = Number(url.searchParams.get('n') ?? 1)
    if (url.searchParams.has('from')) count = Number(url.searchParams.get('from'))
    const pad = 'x'.repeat(Math.max(0, Number(url.searchParams.get('size') ?? 0) - 30))
    void (async () => {
      let id = ''
      for (let i = 0; i < n; i++) id = (await log.append(JSON.stringify({ n: ++count, t: Date.now(), pad }))).id
      response.end(id)
    })().catch((error: unknown) => response.writeHead(503).end(String(error)))
    return
  }
  response.writeHead(404).end()
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
