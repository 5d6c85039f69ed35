// The published build (dist/, as `npm run build` makes it, internal names shortened) end to
// end in Node: three createRealtime clients of dist/core.js in one process are three "tabs"
// (Node's real Web Locks and BroadcastChannel) against createRealtimeHandler of
// dist/server.js on loopback. One connection for the three; every event once, in order;
// the leader closes and another tab takes over with nothing lost or repeated; a follower's
// publish is taken once. The other suites test src/: this one tests what users install.
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'

const dist = new URL('../../dist/', import.meta.url)
const load = async <T>(file: string): Promise<T> => {
  try {
    return (await import(/* @vite-ignore */ new URL(file, dist).href)) as T
  } catch (error) {
    throw new Error(`dist/${file} is missing or broken: run npm run build first (${String(error)})`)
  }
}
type Core = typeof import('../../src/core/index')
type ServerEntry = typeof import('../../src/server/index')

const poll = { timeout: 20_000, interval: 10 }
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

describe('the published build (dist/)', () => {
  it('shortens internal names in the client chunks, and three tabs share one connection through it: nothing lost or repeated across a leader change', async () => {
    const core = await load<Core>('core.js')
    const server = await load<ServerEntry>('server.js')
    expect(/\._[a-z]/.test(readFileSync(new URL('core.js', dist), 'utf8')), 'dist/core.js spells out an internal name').toBe(false)

    const prices = server.createMemoryLog()
    const room = server.createMemoryLog()
    const handler = server.createRealtimeHandler({ channels: { prices, room: { log: room, writable: true } }, origins: '*', heartbeat: 0, batchWindow: 0 })
    let upgrades = 0
    const http: Server = createServer((request, response) => handler.handleRequest(request, response))
    http.on('upgrade', (request, socket, head) => {
      upgrades++
      handler.handleUpgrade(request, socket, head)
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => (handler.close(), http.close(), http.closeAllConnections()))
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/rt`

    const namespace = `published-${process.pid}-${Date.now()}`
    const tabs = [0, 1, 2].map(() => {
      const client = core.createRealtime({ url, transport: 'websocket', storage: null, share: { namespace, heartbeat: 100, timeout: 600 } })
      cleanups.push(() => client.close())
      const values: number[] = []
      const channel = client.channel<number, { text: string }>('prices')
      channel.onMessage((m) => void values.push(m.data))
      return { client, channel, values }
    })
    await expect.poll(() => tabs.map((t) => t.client.getSnapshot().status), poll).toEqual(['open', 'open', 'open'])
    const upTo = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
    for (const n of upTo(1, 20)) prices.append(JSON.stringify(n))
    for (const t of tabs) await expect.poll(() => t.values, poll).toEqual(upTo(1, 20))
    expect(upgrades).toBe(1)

    const leader = tabs.find((t) => t.client.getSnapshot().role === 'leader')!
    const followers = tabs.filter((t) => t !== leader)
    expect(followers.map((t) => t.client.getSnapshot().role)).toEqual(['follower', 'follower'])
    leader.client.close()
    for (const n of upTo(21, 40)) prices.append(JSON.stringify(n))
    for (const t of followers) await expect.poll(() => t.values, poll).toEqual(upTo(1, 40))
    expect(upgrades).toBe(2)

    // A follower's publish goes through the new leader's connection, taken once.
    const follower = followers.find((t) => t.client.getSnapshot().role === 'follower')!
    const chat = follower.client.channel<{ text: string }, { text: string }>('room')
    const id = await chat.publish({ text: 'hi' }, { ack: true })
    expect(room.since(`${room.epoch}.0`)).toMatchObject({ entries: [{ id, data: '{"text":"hi"}' }] })
  })
})
