// createRealtime against the real createRealtimeHandler on a loopback server, over Node's own
// WebSocket and fetch: the client and the server must agree on every frame, on each
// transport, across drops, a blocked WebSocket and a move back.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createRealtime, type RealtimeClient, type RealtimeOptions } from '../../../src/core/realtime/client'
import { createMemoryLog, type ReplayLog } from '../../../src/server/log'
import { createRealtimeHandler } from '../../../src/server/realtime'

const poll = { timeout: 15_000, interval: 10 }
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

async function start() {
  const logs = new Map<string, ReplayLog>([
    ['a', createMemoryLog()],
    ['b', createMemoryLog()],
    ['room', createMemoryLog()],
  ])
  let blocked = false
  const handler = createRealtimeHandler({
    channels: (name) => {
      const log = logs.get(name)
      return log && { log, writable: name === 'room', snapshot: name === 'b' ? () => ({ snapshot: true }) : undefined }
    },
    origins: '*',
    heartbeat: 0,
    batchWindow: 0,
  })
  const server: Server = createServer((request, response) => handler.handleRequest(request, response))
  server.on('upgrade', (request, socket, head) => (blocked ? socket.destroy() : handler.handleUpgrade(request, socket, head)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => (handler.close(), server.close(), server.closeAllConnections()))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rt`
  const open = (options: Partial<RealtimeOptions> = {}) => {
    const client = createRealtime({ url, share: 'tab', storage: null, ...options })
    cleanups.push(() => client.close())
    return client
  }
  return {
    handler,
    logs,
    open,
    append: (channel: string, value: unknown) => logs.get(channel)!.append(JSON.stringify(value)),
    set blocked(value: boolean) {
      blocked = value
    },
  }
}

/** Holds a channel and records its values (snapshots apart). */
function record(client: RealtimeClient, name: string) {
  const channel = client.channel<number | { snapshot: boolean }, unknown>(name)
  const values: unknown[] = []
  const snapshots: unknown[] = []
  channel.onMessage((m) => void (m.snapshot ? snapshots : values).push(m.data))
  return Object.assign(channel, { values, snapshots })
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

describe.each(['websocket', 'sse'] as const)('createRealtime over %s, against createRealtimeHandler', (transport) => {
  it('subscribes, delivers each channel in order, sends a snapshot on a fresh subscription, and resumes after a drop', async () => {
    const s = await start()
    const client = s.open({ transport })
    const a = record(client, 'a')
    const b = record(client, 'b')
    await expect.poll(() => b.snapshots, poll).toEqual([{ snapshot: true }])
    expect(client.getSnapshot().transport).toBe(transport)
    for (const i of upTo(5)) s.append('a', i), s.append('b', i)
    await expect.poll(() => [a.values, b.values], poll).toEqual([upTo(5), upTo(5)])
    s.handler.dropAll()
    for (const i of upTo(10).slice(5)) s.append('a', i), s.append('b', i)
    await expect.poll(() => [a.values, b.values], poll).toEqual([upTo(10), upTo(10)])
    // Resumed, not fresh: no second snapshot.
    expect(b.snapshots).toHaveLength(1)
  })

  it("publishes with an acknowledgement, taken once, and refuses a read-only channel's publish", async () => {
    const s = await start()
    const client = s.open({ transport })
    const room = record(client, 'room')
    const id = await room.publish({ text: 'hi' }, { ack: true })
    const log = s.logs.get('room')!
    expect(log.head).toBe(id)
    expect(await log.since(`${log.epoch}.0`)).toMatchObject({ entries: [{ id, data: '{"text":"hi"}' }] })
    await expect.poll(() => room.values, poll).toEqual([{ text: 'hi' }])
    await expect.poll(() => room.values, poll).toEqual([{ text: 'hi' }])
    const a = record(client, 'a')
    await expect(a.publish(1, { ack: true })).rejects.toMatchObject({ kind: 'protocol' })
  })

  it('a channel that cannot resume gets a reset, and goes on', async () => {
    const s = await start()
    const client = s.open({ transport })
    const a = record(client, 'a')
    // b's snapshot comes after a's subscription took: a fresh subscription gets what follows it.
    const b = record(client, 'b')
    await expect.poll(() => b.snapshots.length, poll).toBe(1)
    s.append('a', 1)
    await expect.poll(() => a.values, poll).toEqual([1])
    const resets: string[] = []
    a.onReset((r) => void resets.push(r.reason))
    s.logs.set('a', createMemoryLog())
    s.handler.dropAll()
    await expect.poll(() => resets.length, poll).toBe(1)
    s.append('a', 2)
    await expect.poll(() => a.values, poll).toEqual([1, 2])
  })
})

describe("createRealtime's transport 'auto' against createRealtimeHandler", () => {
  it('falls back to SSE when WebSockets are refused, and moves back when they work, losing and repeating nothing', async () => {
    const s = await start()
    s.blocked = true
    const client = s.open({ fallback: { probe: 100, maxProbe: 200 }, initialDelay: 50 })
    const a = record(client, 'a')
    const b = record(client, 'b')
    await expect.poll(() => b.snapshots.length, poll).toBe(1)
    expect(client.getSnapshot().transport).toBe('sse')
    let n = 0
    const tick = setInterval(() => s.append('a', ++n), 5)
    cleanups.push(() => clearInterval(tick))
    await expect.poll(() => a.values.length, poll).toBeGreaterThan(20)
    s.blocked = false
    await expect.poll(() => client.getSnapshot().transport, poll).toBe('websocket')
    const at = n
    await expect.poll(() => a.values.length, poll).toBeGreaterThan(at + 20)
    clearInterval(tick)
    await expect.poll(() => a.values.length, poll).toBe(n)
    expect(a.values).toEqual(upTo(n))
    expect(s.handler.clients).toEqual({ websocket: 1, sse: 0 })
  })
})
