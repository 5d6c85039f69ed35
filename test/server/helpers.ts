/**
 * Shared pieces of the `tabwire/server` tests: real loopback servers, an SSE client on real
 * `fetch` read with the project's own parser, a WebSocket client on the `ws` package, and
 * wrappers around a replay log (counting listeners, async `since`).
 *
 * Everything a test opens is registered here and closed by `runCleanups` (each test file
 * calls it from `afterEach`). Servers bind 127.0.0.1 only.
 */
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type AddressInfo, connect, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import type { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { vi } from 'vitest'
import { type ClientOptions, type RawData, WebSocket } from 'ws'
import { createSseParser } from '../../src/core/sse-parser'
import type { LogEntry, Replay, ReplayLog } from '../../src/server/log'

const cleanups: (() => unknown)[] = []

/** Runs `fn` after the current test (last registered, first run). */
export function onCleanup(fn: () => unknown) {
  cleanups.push(fn)
}

/** Closes everything the test opened; call from `afterEach`. */
export async function runCleanups() {
  const errors: unknown[] = []
  while (cleanups.length) {
    try {
      await cleanups.pop()!()
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length) throw new AggregateError(errors, 'cleanup failed')
}

/** Polls `check` (an assertion) until it passes, every 5 ms, up to `timeout` ms. */
export function eventually<T>(check: () => T, timeout = 3000): Promise<T> {
  return vi.waitFor(check, { timeout, interval: 5 })
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Lets the event loop turn once (I/O included). */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

export interface Deferred<T = void> {
  promise: Promise<T>
  resolve(value: T): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

export interface TestServer {
  server: Server
  port: number
  url(path?: string): string
  /** What the request handler threw (the wrapper catches it so the test process survives). */
  takeErrors(): unknown[]
}

/**
 * A `node:http` server on 127.0.0.1, port 0. The request handler runs inside a try/catch:
 * a plain `node:http` server would crash the process on a throw, so a throw is recorded
 * and the cleanup fails the test unless the test took the errors itself.
 */
export async function startServer(handlers: {
  request?: (request: IncomingMessage, response: ServerResponse) => void
  upgrade?: (request: IncomingMessage, socket: Duplex, head: Buffer) => void
}): Promise<TestServer> {
  let errors: unknown[] = []
  const sockets = new Set<Socket>()
  const server = createServer((request, response) => {
    try {
      if (handlers.request) handlers.request(request, response)
      else response.writeHead(404).end()
    } catch (error) {
      errors.push(error)
      response.destroy()
    }
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('upgrade', (request, socket, head) => {
    if (handlers.upgrade) handlers.upgrade(request, socket, head)
    else socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  onCleanup(async () => {
    // Upgraded sockets are no longer the server's: end them too.
    for (const socket of sockets) socket.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    if (errors.length) throw new AggregateError(errors, 'the request handler threw')
  })
  return {
    server,
    port,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    takeErrors: () => {
      const taken = errors
      errors = []
      return taken
    },
  }
}

export interface SseMessage {
  type: string
  data: string
  id: string
}

export interface SseClient {
  response: Response
  /** Dispatched events, in order (data as `#<length>` when `keepData` is false). */
  events: SseMessage[]
  /** `retry:` values, in order. */
  retries: number[]
  /** Comment lines seen (heartbeats). */
  comments: number
  /** Everything received, decoded (empty when `keepRaw` is false). */
  raw: string
  /** Bytes received. */
  bytes: number
  /** Whether the stream has ended (closed by either side, or failed). */
  ended: boolean
  /** Resolves when the stream has ended. */
  done: Promise<void>
  close(): void
}

/** Opens an SSE stream with real `fetch` and parses it with `createSseParser` as it arrives. */
export async function openSse(
  url: string,
  init: { headers?: Record<string, string>; keepRaw?: boolean; keepData?: boolean } = {},
): Promise<SseClient> {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...init.headers }, signal: controller.signal })
  const keepRaw = init.keepRaw ?? true
  const keepData = init.keepData ?? true
  const client: SseClient = {
    response,
    events: [],
    retries: [],
    comments: 0,
    raw: '',
    bytes: 0,
    ended: false,
    done: Promise.resolve(),
    close: () => controller.abort(),
  }
  const parser = createSseParser(
    {
      event: (type, data, id) => client.events.push({ type, data: keepData ? data : `#${data.length}`, id }),
      id: () => {},
      retry: (ms) => client.retries.push(ms),
      comment: () => void client.comments++,
      oversized: () => {
        throw new Error('SSE parser: an event passed the size bound')
      },
    },
    1 << 26,
  )
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  client.done = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        client.bytes += value.byteLength
        const text = decoder.decode(value, { stream: true })
        if (keepRaw) client.raw += text
        parser.feed(text)
      }
    } catch {
      // Aborted by the test or cut by the server: both end the stream.
    } finally {
      client.ended = true
    }
  })()
  onCleanup(() => {
    controller.abort()
    return client.done
  })
  return client
}

export interface WsClient {
  socket: WebSocket
  /** Text frames as received. */
  texts: string[]
  /** Text frames parsed as JSON (non-JSON text as the string itself). */
  frames: unknown[]
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>
  /** Whether the socket has closed. */
  isClosed(): boolean
  /** Sends JSON (objects) or raw text / binary. */
  send(message: unknown): void
}

/** Opens a `ws` client and waits for the handshake. */
export async function openWs(url: string, options: ClientOptions = {}): Promise<WsClient> {
  const socket = new WebSocket(url, options)
  let closedFlag = false
  const client: WsClient = {
    socket,
    texts: [],
    frames: [],
    closed: new Promise((resolve) =>
      socket.once('close', (code, reason) => {
        closedFlag = true
        resolve({ code, reason: reason.toString() })
      }),
    ),
    isClosed: () => closedFlag,
    send: (message) => socket.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message)),
  }
  socket.on('message', (raw: RawData, isBinary) => {
    const text = isBinary ? `binary:${raw.toString()}` : raw.toString()
    client.texts.push(text)
    try {
      client.frames.push(JSON.parse(text))
    } catch {
      client.frames.push(text)
    }
  })
  // Errors surface through 'close'; an unhandled 'error' would throw.
  socket.on('error', () => {})
  onCleanup(() => {
    socket.terminate()
    return client.closed
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('close', () => reject(new Error('closed before open')))
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)))
  })
  return client
}

/** Tries a WebSocket handshake that should be refused; resolves with the HTTP status. */
export function refusedStatus(url: string, options: ClientOptions = {}): Promise<number> {
  const socket = new WebSocket(url, options)
  socket.on('error', () => {})
  onCleanup(() => socket.terminate())
  return new Promise((resolve, reject) => {
    socket.once('open', () => reject(new Error('the handshake succeeded')))
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0)
      response.resume()
      socket.terminate()
    })
  })
}

/** A log wrapper that counts listeners, to prove the handlers clean up. */
export function countingLog(inner: ReplayLog) {
  const counts = { subscribed: 0, unsubscribed: 0, active: 0 }
  const log: ReplayLog = {
    epoch: inner.epoch,
    append: (data, event) => inner.append(data, event),
    since: (id) => inner.since(id),
    subscribe(listener) {
      counts.subscribed++
      counts.active++
      const off = inner.subscribe(listener)
      let done = false
      return () => {
        if (done) return
        done = true
        counts.unsubscribed++
        counts.active--
        off()
      }
    },
  }
  return { log, counts }
}

/**
 * A log like a shared store's: `since` is async. `beforeSnapshot` runs after the handler
 * asked and before the inner log is read; `afterSnapshot` after it is read and before the
 * answer is returned (so appends there are in the answer, or only live).
 */
export function asyncLog(inner: ReplayLog, hooks: { beforeSnapshot?: () => Promise<void>; afterSnapshot?: () => Promise<void> } = {}) {
  const calls: (string | null | undefined)[] = []
  const log: ReplayLog = {
    epoch: inner.epoch,
    append: (data, event) => inner.append(data, event),
    async since(id): Promise<Replay> {
      calls.push(id)
      await hooks.beforeSnapshot?.()
      const replay = await inner.since(id)
      await hooks.afterSnapshot?.()
      return replay
    },
    subscribe: (listener: (entry: LogEntry) => void) => inner.subscribe(listener),
  }
  return { log, calls }
}

export interface RawClient {
  socket: Socket
  /** Everything received, as latin1 text. */
  received(): string
  closed: Promise<void>
  isClosed(): boolean
}

/**
 * Sends `request` as raw bytes on a `node:net` socket. With `read: false` nothing is ever
 * read: the socket is paused before the first byte comes, so the kernel buffers fill up.
 */
export async function rawRequest(port: number, request: string | Buffer, { read = true } = {}): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1')
  let text = ''
  if (read) socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')))
  else socket.pause()
  socket.on('error', () => {})
  let isClosed = false
  const closed = new Promise<void>((resolve) => socket.once('close', () => ((isClosed = true), resolve())))
  onCleanup(() => {
    socket.destroy()
    return closed
  })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(request)
  return { socket, received: () => text, closed, isClosed: () => isClosed }
}

export interface ServerProcess<T> {
  /** The JSON the process printed on its first stdout line once listening. */
  ready: T
  /** Whether the process still runs. */
  alive(): boolean
  /** Everything it wrote to stderr so far. */
  stderr(): string
  /** Resolves when it has exited. */
  exited: Promise<void>
  exitCode(): number | null
}

/**
 * Runs a server script in a child process (the Node that runs the tests), for input that
 * could crash a server: a crash there is the child exiting, not an error of this run. The
 * script prints JSON on its first stdout line once listening; the cleanup ends it.
 */
export async function spawnServer<T>(script: URL, args: string[] = [], nodeOptions: string[] = []): Promise<ServerProcess<T>> {
  const child = spawn(process.execPath, [...nodeOptions, fileURLToPath(script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  onCleanup(() => {
    child.kill()
    return exited
  })
  const ready = await new Promise<T>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as T))
    child.once('exit', (code) => reject(new Error(`the server process exited (${code}): ${stderr}`)))
  })
  return {
    ready,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => stderr,
    exited,
    exitCode: () => child.exitCode,
  }
}
