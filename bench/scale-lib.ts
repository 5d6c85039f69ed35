/** Starting bench/scale-instance.ts processes for `npm run bench:scale`. */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface Instance {
  readonly port: number
  /** Appends `n` events of about `size` bytes through this instance. */
  append(n: number, size: number): Promise<void>
  stop(): void
}

/** Runs one instance with `config` (see bench/scale-instance.ts) and waits until it listens. */
export async function spawnInstance(config: object): Promise<Instance> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./scale-instance.ts', import.meta.url)), JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as { port: number }))
    child.once('exit', (code) => reject(new Error(`the instance exited (${code})`)))
  })
  return {
    port,
    async append(n, size) {
      const response = await fetch(`http://127.0.0.1:${port}/append?n=${n}&size=${size}`, { method: 'POST' })
      if (!response.ok) throw new Error(`append failed: ${response.status} ${await response.text()}`)
    },
    stop: () => child.stdin.end(),
  }
}
