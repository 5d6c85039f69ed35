/**
 * `npm run bench:scale`: what the Redis log costs, side by side in one run on one machine.
 * - fan-out: events/s delivered to 1,000 SSE clients, a memory log on one instance vs a Redis
 *   log on two instances (500 clients each); the ratio is the figure, not the numbers;
 * - the Redis hop's added latency (append → a client has it), p50/p99, at a low rate;
 * - Redis commands per published event, from INFO commandstats.
 * Each instance is its own process (bench/scale-instance.ts); clients are raw sockets here.
 */
import { connect, type Socket } from 'node:net'
import { spawnInstance, type Instance } from './scale-lib.ts'
import { startRedis } from '../test/server/redis-server.ts'

const CLIENTS = 1000
const EVENTS = Number(process.env.EVENTS ?? 1000)
const PROBES = 200

/** A raw SSE client counting events (`id:` lines) and noting when each probe event arrived. */
function rawClient(port: number, onEvent?: (text: string) => void): Promise<{ count(): number; socket: Socket }> {
  return new Promise((resolve) => {
    let count = 0
    let tail = ''
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
      resolve({ count: () => count, socket })
    })
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      const text = tail + chunk
      const parts = text.split('\nid: ')
      count += parts.length - 1
      tail = parts.at(-1)!.slice(-12)
      if (onEvent) for (const line of chunk.split('\n')) if (line.startsWith('data: ')) onEvent(line.slice(6))
    })
  })
}

async function fanOut(instances: Instance[]) {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => rawClient(instances[i % instances.length]!.port)))
  await new Promise((resolve) => setTimeout(resolve, 500))
  const start = performance.now()
  // Appended through every instance in turn, 100 at a time, as publishers behind a balancer would.
  for (let i = 0; i < EVENTS / 100; i++) await instances[i % instances.length]!.append(100, 100)
  while (clients.some((c) => c.count() < EVENTS)) await new Promise((resolve) => setTimeout(resolve, 10))
  const seconds = (performance.now() - start) / 1000
  for (const c of clients) c.socket.destroy()
  return (CLIENTS * EVENTS) / seconds
}

async function latency(instances: Instance[]) {
  const delays: number[] = []
  const probe = await rawClient(instances.at(-1)!.port, (data) => delays.push(Date.now() - (JSON.parse(data) as { t: number }).t))
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (let i = 0; i < PROBES; i++) {
    await instances[0]!.append(1, 100)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  await new Promise((resolve) => setTimeout(resolve, 300))
  probe.socket.destroy()
  delays.sort((a, b) => a - b)
  return { p50: delays[Math.floor(delays.length / 2)]!, p99: delays[Math.floor(delays.length * 0.99)]! }
}

const redis = await startRedis()
try {
  const memory = [await spawnInstance({})]
  const memoryRate = await fanOut(memory)
  const memoryLatency = await latency(memory)
  memory.forEach((i) => i.stop())

  const config = { redis: redis.url, key: 'bench', capacity: 10_000 }
  const shared = [await spawnInstance(config), await spawnInstance(config)]
  // Per command; the calls a Lua script makes inside Redis are counted too (not round trips).
  const calls = async () => new Map([...String(await redis.run('INFO', 'commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]))
  const before = await calls()
  const redisRate = await fanOut(shared)
  const after = await calls()
  const perCommand = [...after].map(([name, n]) => [name, (n - (before.get(name) ?? 0)) / EVENTS] as const).filter(([, n]) => n > 0)
  const perEvent = perCommand.reduce((sum, [, n]) => sum + n, 0)
  const redisLatency = await latency(shared)
  shared.forEach((i) => i.stop())

  console.log(`fan-out to ${CLIENTS} SSE clients, ${EVENTS} events of ~100 B:`)
  console.log(`  memory log, 1 instance:  ${Math.round(memoryRate).toLocaleString('en')} events/s delivered`)
  console.log(`  Redis log, 2 instances:  ${Math.round(redisRate).toLocaleString('en')} events/s delivered  (ratio ${(redisRate / memoryRate).toFixed(2)})`)
  console.log(`latency append → client (ms), ${PROBES} events at ~150/s: memory p50 ${memoryLatency.p50} p99 ${memoryLatency.p99}; Redis p50 ${redisLatency.p50} p99 ${redisLatency.p99}`)
  console.log(`  added by the Redis hop: p50 ${redisLatency.p50 - memoryLatency.p50} ms, p99 ${redisLatency.p99 - memoryLatency.p99} ms`)
  console.log(`Redis commands per published event (2 instances, ${CLIENTS} clients): ${perEvent.toFixed(2)}: ${perCommand.map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ')}`)
} finally {
  await redis.stop()
}
