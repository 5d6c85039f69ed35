import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createConnection } from '../../../src/core/connection'
import { realtimeTransport } from '../../../src/core/realtime/transport'
import type { FrameLink, RealtimeServerFrame, RealtimeTransportHost } from '../../../src/core/realtime/transport-types'
import { createMemoryLog, createRealtimeHandler } from '../../../src/server/index'
import { fakeEnvironment } from '../fakes'

// The transport against the real tabwire/server handler on a loopback port, with Node's own
// fetch and WebSocket: the fallback to SSE when upgrades are refused, channels over SSE with
// POST, and the move back to WebSocket once upgrades work, resuming from the cursor.

const stops: (() => void)[] = []
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
})

async function serve() {
  const realtime = createRealtimeHandler({ channels: { room: { log: createMemoryLog(), writable: true } }, origins: '*' })
  const gate = { upgrades: false }
  const server = createServer((request, response) => realtime.handleRequest(request, response))
  server.on('upgrade', (request, socket, head) => (gate.upgrades ? realtime.handleUpgrade(request, socket, head) : socket.destroy()))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  stops.push(() => {
    realtime.close()
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/realtime`, gate }
}

/** A host that follows `room` from its cursor on every link, as the client's wire does. */
function followRoom() {
  const log: string[] = []
  let cursor: string | undefined
  let link: FrameLink | undefined
  const host: RealtimeTransportHost = {
    opened(next, kind) {
      log.push(`opened:${kind}`)
      link = next
      next.send([{ type: 'subscribe', channel: 'room', ...(cursor && { since: cursor }) }])
    },
    closed() {
      log.push('closed')
      link = undefined
    },
    receive(frame: RealtimeServerFrame) {
      if (frame.type === 'event') {
        cursor = frame.id
        log.push(`event:${JSON.stringify(frame.data)}`)
        return { data: frame.data, event: 'room', id: frame.id }
      }
      log.push(frame.type)
    },
  }
  return { host, log, publish: (data: unknown, pid: string) => link!.send([{ type: 'publish', channel: 'room', data, pid }]) }
}

describe('realtimeTransport against createRealtimeHandler', () => {
  it('falls back to SSE when upgrades are refused, publishes by POST, and moves back to WebSocket without losing or repeating an event', async () => {
    const { url, gate } = await serve()
    const room = followRoom()
    const storage = new Map<string, string>()
    const transport = realtimeTransport(
      url,
      {
        fallback: { probe: 50, maxProbe: 100 },
        storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v), removeItem: (k) => void storage.delete(k) },
      },
      room.host,
    )
    const connection = createConnection({ transport, initialDelay: 20, environment: fakeEnvironment() })
    stops.push(() => connection.close())
    const statuses: string[] = []
    connection.subscribe(() => statuses.at(-1) !== connection.getSnapshot().status && statuses.push(connection.getSnapshot().status))
    connection.connect()

    await vi.waitFor(() => expect(room.log).toEqual(['opened:sse', 'subscribed']), { timeout: 10_000 })
    expect(transport.kind).toBe('sse')
    expect([...storage.values()]).toEqual(['sse'])
    room.publish({ n: 1 }, 'p1')
    room.publish({ n: 2 }, 'p2')
    await vi.waitFor(() => expect(room.log.filter((l) => l.startsWith('event'))).toHaveLength(2), { timeout: 10_000 })

    gate.upgrades = true
    await vi.waitFor(() => expect(transport.kind).toBe('websocket'), { timeout: 10_000 })
    room.publish({ n: 3 }, 'p3')
    await vi.waitFor(() => expect(room.log.at(-1)).toBe('event:{"n":3}'), { timeout: 10_000 })
    expect(room.log.filter((l) => l !== 'ack')).toEqual([
      'opened:sse',
      'subscribed',
      'event:{"n":1}',
      'event:{"n":2}',
      'closed',
      'opened:websocket',
      'subscribed',
      'event:{"n":3}',
    ])
    expect(storage.size).toBe(0)
    expect(statuses).toEqual(['connecting', 'reconnecting', 'open'])
  })
})
