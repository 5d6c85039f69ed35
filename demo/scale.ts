/**
 * The demo scaled out (`npm start -- --redis redis://127.0.0.1:6379 --instances 2`): every
 * log in Redis, N demo instances in processes of their own (demo/instance.ts), a round-robin
 * proxy on the public port (demo/proxy.ts), so every reconnect of a tab may land on another
 * instance and resumes there. One publisher in this process (a `startDemo` with the Redis
 * logs, off the round robin) appends the quotes, notifications and order changes, so
 * killing an instance does not stop the streams.
 *
 * The proxy's own routes:
 *   GET  /api/admin/instances                the instances: `InstanceInfo[]`
 *   POST /api/admin/instances/:n/kill        SIGKILL instance n (1-based): its clients are cut and resume on another
 *   POST /api/admin/instances/:n/start       starts instance n again (a new process, a new port)
 *   GET  /api/admin/stats                    `ScaleStats`: the instances' counts summed, with `instances`
 *   POST /api/admin/drop | stall | block-websocket   sent to every live instance
 *   POST /api/admin/restart-log              refused (400): with Redis, FLUSHALL it instead
 *   GET  /api/orders, POST /api/admin/orders | flood   the publisher's (it owns the orders and the feed)
 * Everything else (the app, the streams) goes round robin to the live instances.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { json, readBody } from './http.ts'
import { createRoundRobinProxy } from './proxy.ts'
import type { Demo, DemoOptions } from './server.ts'
import type { DemoStats } from './shared.ts'

export interface ScaleDemoOptions extends Omit<DemoOptions, 'redis' | 'feed' | 'origins'> {
  /** The Redis every instance keeps its logs in. */
  redis: string
  /** How many instances. @defaultValue 2 */
  instances?: number
}

/** One instance, as `GET /api/admin/instances` tells it. */
export interface InstanceInfo {
  /** 1-based, as in the admin routes. */
  n: number
  up: boolean
  /** Its own port on 127.0.0.1 while up. */
  port: number | null
  pid: number | null
  /** How many times it was started. */
  starts: number
}

/** `GET /api/admin/stats` behind the proxy. */
export interface ScaleStats extends DemoStats {
  instances: InstanceInfo[]
}

export interface ScaleDemo {
  /** The proxy: `http://127.0.0.1:<port>/` */
  readonly url: string
  readonly port: number
  /** The publisher, in this process. */
  readonly feed: Demo
  instances(): InstanceInfo[]
  /** Kills instance `n` (SIGKILL); resolves once it exited. */
  kill(n: number): Promise<InstanceInfo[]>
  /** Starts instance `n` again; resolves once it listens. */
  start(n: number): Promise<InstanceInfo[]>
  /** Instance `n`'s own stats (asked on its port). */
  instanceStats(n: number): Promise<DemoStats>
  stats(): Promise<ScaleStats>
  close(): Promise<void>
}

const INSTANCE = fileURLToPath(new URL('./instance.ts', import.meta.url))
const FAN_OUT = new Set(['drop', 'stall', 'block-websocket', 'restart-log'])
const TO_FEED = new Set(['/api/orders', '/api/admin/orders', '/api/admin/flood'])

interface Slot {
  n: number
  child: ChildProcess | undefined
  port: number | null
  starts: number
  exited: Promise<void>
}

/**
 * Starts the proxy, the publisher and the instances; resolves once every instance listens.
 * @param startDemo - demo/server.ts's (given, not imported: that module runs this one when it is the main module)
 */
export async function startScaleDemo(options: ScaleDemoOptions, startDemo: (options: DemoOptions) => Promise<Demo>): Promise<ScaleDemo> {
  const { redis, instances: count = 2, port: wanted = 5173, ...rest } = options
  if (!(Number.isInteger(count) && count >= 1 && count <= 16)) throw new RangeError(`--instances must be 1 to 16, not '${count}'`)
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({ n: i + 1, child: undefined, port: null, starts: 0, exited: Promise.resolve() }))
  const live = () => slots.flatMap((slot) => (slot.port === null ? [] : [slot.port]))
  const proxy = createRoundRobinProxy(live)
  let feed: Demo | undefined
  const toFeed = createRoundRobinProxy(() => (feed ? [feed.port] : []))

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: String(error) })
      else response.destroy()
    })
  })
  server.on('upgrade', proxy.upgrade)
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(wanted, '127.0.0.1', () => {
      server.off('error', fail)
      done()
    })
  })
  const port = (server.address() as AddressInfo).port
  const origins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`]
  const instanceOptions: DemoOptions = { ...rest, dist: resolve(rest.dist ?? fileURLToPath(new URL('./dist', import.meta.url))), redis, origins }

  const info = (): InstanceInfo[] => slots.map((s) => ({ n: s.n, up: s.port !== null, port: s.port, pid: s.child?.pid ?? null, starts: s.starts }))
  const slotOf = (n: number) => {
    const slot = slots[n - 1]
    if (!Number.isInteger(n) || !slot) throw new RangeError(`no instance ${n}: they are 1 to ${count}`)
    return slot
  }

  async function start(n: number) {
    const slot = slotOf(n)
    if (slot.child) return info()
    const child = spawn(process.execPath, [INSTANCE, JSON.stringify(instanceOptions)], { stdio: ['pipe', 'pipe', 'inherit'] })
    slot.child = child
    slot.starts++
    slot.exited = new Promise<void>((done) =>
      child.once('exit', () => {
        if (slot.child === child) Object.assign(slot, { child: undefined, port: null })
        done()
      }),
    )
    const ready = await new Promise<{ port: number } | undefined>((done) => {
      createInterface({ input: child.stdout! }).once('line', (line) => done(JSON.parse(line) as { port: number }))
      void slot.exited.then(() => done(undefined))
    })
    if (!ready) throw new Error(`instance ${n} exited before it listened`)
    if (slot.child === child) slot.port = ready.port
    return info()
  }

  async function kill(n: number) {
    const slot = slotOf(n)
    // Off the round robin at once, before the process is even gone.
    slot.port = null
    slot.child?.kill('SIGKILL')
    await slot.exited
    return info()
  }

  const instanceStats = async (n: number): Promise<DemoStats> => {
    const { port: at } = slotOf(n)
    if (at === null) throw new Error(`instance ${n} is down`)
    const response = await fetch(`http://127.0.0.1:${at}/api/admin/stats`, { cache: 'no-store' })
    return (await response.json()) as DemoStats
  }

  async function stats(): Promise<ScaleStats> {
    const own = feed!.stats()
    const parts = (await Promise.all(slots.map((s) => (s.port === null ? undefined : instanceStats(s.n).catch(() => undefined))))).filter((s) => s !== undefined)
    const sum = <K extends string>(pick: (s: DemoStats) => Record<K, number>) =>
      parts.reduce<Record<string, number>>((total, part) => {
        for (const [key, value] of Object.entries<number>(pick(part))) total[key] = (total[key] ?? 0) + value
        return total
      }, {})
    return {
      ...own,
      clients: { quotes: 0, notifications: 0, chat: 0, ...sum((s) => s.clients) },
      realtime: {
        ...own.realtime,
        clients: { websocket: 0, sse: 0, ...sum((s) => s.realtime.clients) },
        channels: sum((s) => s.realtime.channels),
        blocked: parts.some((s) => s.realtime.blocked),
      },
      instances: info(),
    }
  }

  async function route(request: IncomingMessage, response: ServerResponse) {
    const { pathname } = new URL(request.url ?? '/', 'http://x')
    const method = request.method ?? 'GET'
    if (pathname === '/api/admin/stats' && method === 'GET') return json(response, 200, await stats())
    if (pathname === '/api/admin/instances') return method === 'GET' ? json(response, 200, info()) : json(response, 405, { error: 'GET only' })
    const control = /^\/api\/admin\/instances\/([^/]+)\/(kill|start)$/.exec(pathname)
    const action = pathname.startsWith('/api/admin/') ? pathname.slice('/api/admin/'.length) : undefined
    if (control || (action && FAN_OUT.has(action))) {
      if (method !== 'POST') return json(response, 405, { error: 'POST only' })
      // As the demo's own admin routes: JSON only, which a cross-site form cannot send.
      if (!/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) return json(response, 415, { error: 'send content-type: application/json' })
      const body = await readBody(request, 10_000)
      if (!control) return fanOut(action!, body, response)
      const n = Number(control[1])
      try {
        slotOf(n)
      } catch (error) {
        return json(response, 404, { error: (error as Error).message })
      }
      return json(response, 200, await (control[2] === 'kill' ? kill(n) : start(n)))
    }
    if (TO_FEED.has(pathname)) return toFeed.forward(request, response)
    return proxy.forward(request, response)
  }

  /** An admin action on every live instance; the first refusal is the answer. */
  async function fanOut(action: string, body: string, response: ServerResponse) {
    const answers = await Promise.all(
      live().map((at) =>
        fetch(`http://127.0.0.1:${at}/api/admin/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
          async (answer) => ({ status: answer.status, body: (await answer.json()) as unknown }),
          () => undefined,
        ),
      ),
    )
    const refused = answers.find((answer) => answer && answer.status !== 200)
    if (refused) return json(response, refused.status, refused.body)
    json(response, 200, await stats())
  }

  let closing: Promise<void> | undefined
  try {
    feed = await startDemo({ ...instanceOptions, port: 0, feed: true })
    await Promise.all(slots.map((slot) => start(slot.n)))
  } catch (error) {
    await close()
    throw error
  }

  function close() {
    return (closing ??= (async () => {
      server.close()
      server.closeAllConnections()
      await Promise.all(slots.map((slot) => kill(slot.n)))
      await feed?.close()
    })())
  }

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    get feed() {
      return feed!
    },
    instances: info,
    kill,
    start,
    instanceStats,
    stats,
    close,
  }
}
