/**
 * A real `redis-server` for the tests: on a free loopback port, without persistence unless a
 * directory is given (then `SHUTDOWN SAVE` keeps the data across a restart), stopped by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from 'redis'

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'

/** A free loopback port (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Stops the process (SIGKILL: nothing saved) and removes its directory; resolves when it exited. */
  stop(): Promise<void>
  /** Saves the data to its directory and stops. */
  shutdownSave(): Promise<void>
  /** Starts it again on the same port and directory (loading what was saved). */
  restart(): Promise<void>
  /** Runs one command on a short-lived client. */
  run(...args: string[]): Promise<unknown>
}

/** Starts a redis-server on a free port; `stop` it (tests register it for cleanup). */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tabwire-redis-'))
  let child: ChildProcess | undefined
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', 'dump.rdb'], { stdio: ['ignore', 'pipe', 'pipe'] })
      child = proc
      let out = ''
      const onData = (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('Ready to accept connections')) {
          proc.stdout!.off('data', onData)
          proc.stdout!.resume()
          resolve()
        }
      }
      proc.stdout!.on('data', onData)
      proc.stderr!.resume()
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready: ${out.slice(-500)}`)))
    })
  const exited = () => new Promise<void>((resolve) => (!child || child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())))
  const url = `redis://127.0.0.1:${port}`
  const run = async (...args: string[]) => {
    const client = createClient({ url, socket: { reconnectStrategy: false } })
    client.on('error', () => {})
    await client.connect()
    try {
      return await client.sendCommand(args)
    } finally {
      client.destroy()
    }
  }
  await launch()
  return {
    port,
    url,
    run,
    async stop() {
      child?.kill('SIGKILL')
      await exited()
      rmSync(dir, { recursive: true, force: true })
    },
    async shutdownSave() {
      const done = exited()
      await run('SHUTDOWN', 'SAVE').catch(() => {})
      await done
    },
    restart: launch,
  }
}
