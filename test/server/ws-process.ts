/**
 * A WebSocket endpoint in its own process, for the bad input that could crash a server:
 * the tests see a crash as this process exiting, where in the test process it would be an
 * unhandled error of the whole run. Run by Node itself (type stripping), so imports name
 * `.ts` files.
 *
 * Endpoint: channel `feed` (writable), no heartbeat, and the handler options given as JSON
 * in the first argument (e.g. `{"maxPayload":1024}`). Prints `{"port":N}` on its first
 * stdout line once listening on 127.0.0.1.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMemoryLog } from '../../src/server/log.ts'
import { createWebSocketHandler } from '../../src/server/ws.ts'

const ws = createWebSocketHandler({
  channels: { feed: createMemoryLog({ epoch: 'p1' }) },
  writable: ['feed'],
  origins: '*',
  heartbeat: 0,
  ...(JSON.parse(process.argv[2] ?? '{}') as { maxPayload?: number }),
})
const server = createServer((_request, response) => response.writeHead(404).end())
server.on('upgrade', (request, socket, head) => ws.handleUpgrade(request, socket, head))
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
// The test ends this process; it also goes when the test process's pipe closes.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
