/**
 * createChannelLogs (issue 11): logs made on demand, bounded in number, idle ones dropped,
 * never one in use; on an injected clock (no sleeps). Then through a realtime handler: a
 * client cycling through 20,000 channel names leaves the logs and the handler's channel
 * states bounded.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createChannelLogs } from '../../src/server/channel-logs'
import { ServerOptionsError } from '../../src/server/errors'
import { createMemoryLog, type ReplayLog } from '../../src/server/log'
import { handlerStats } from '../../src/server/realtime'
import { MAX_IDLE } from '../../src/server/realtime-channels'
import { eventually, onCleanup, runCleanups } from './helpers'
import { connect, startRealtime, subscribe, waitFor } from './realtime-helpers'

afterEach(runCleanups)

const request = {} as never

function clocked(options: Parameters<typeof createChannelLogs>[0] = {}) {
  const clock = { now: 0 }
  const made: string[] = []
  const logs = createChannelLogs({
    now: () => clock.now,
    create: (name) => (made.push(name), createMemoryLog({ epoch: `l${made.length}` })),
    ...options,
  })
  const logOf = (name: string) => (logs(name, request) as { log: ReplayLog } | undefined)?.log
  return { clock, made, logs, logOf }
}

describe('createChannelLogs', () => {
  it('makes a log per name on first use, the same one after', () => {
    const { logs, made, logOf } = clocked({ writable: (name) => name.startsWith('w/'), snapshot: (name) => ({ name }) })
    const a = logOf('a')
    expect(logOf('a')).toBe(a)
    expect(made).toEqual(['a'])
    expect(logs('w/x', request)).toMatchObject({ writable: true })
    expect(logs('a', request)).toMatchObject({ writable: false })
    expect((logs('a', request) as { snapshot(): unknown }).snapshot()).toEqual({ name: 'a' })
    expect(logs.log('a')).toBe(a)
    expect(logs.size).toBe(2)
  })

  it('keeps at most max: the least recently used idle one goes; when all are in use a new name is unknown', () => {
    const { logs, logOf } = clocked({ max: 3 })
    const a = logOf('a')
    logOf('b')
    logOf('c')
    logOf('a')
    logOf('d')
    // b was the least recently used.
    expect(logs.size).toBe(3)
    expect(logOf('a')).toBe(a)
    logs.retain('a')
    logs.retain('c')
    logs.retain('d')
    expect(logOf('e')).toBeUndefined()
    expect(logs.size).toBe(3)
    logs.release('c')
    expect(logOf('e')).toBeDefined()
    expect(logOf('a')).toBe(a)
  })

  it('drops a log idle (no subscriber, no append) for idle ms, never one in use; an append or a release restarts the wait', () => {
    const { clock, logs, logOf } = clocked({ idle: 1000 })
    const quiet = logOf('quiet')
    const busy = logOf('busy')!
    const followed = logOf('followed')
    logs.retain('followed')
    clock.now = 900
    busy.append('"x"')
    clock.now = 1000
    expect(logOf('quiet')).not.toBe(quiet)
    clock.now = 1899
    expect(logOf('busy')).toBe(busy)
    clock.now = 50_000
    expect(logOf('followed')).toBe(followed)
    logs.release('followed')
    clock.now = 50_999
    expect(logOf('followed')).toBe(followed)
    clock.now = 52_000
    logOf('other')
    expect(logs.log('followed')).not.toBe(followed)
  })

  it('drops idle logs on a timer too: a log clients left goes after idle ms though no other name is asked for', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    onCleanup(() => vi.useRealTimers())
    const { clock, logs } = clocked({ idle: 1000 })
    const made = ['a', 'b', 'c'].map((name) => logs.log(name))
    for (const name of ['a', 'b', 'c']) logs.retain(name)
    clock.now = 10
    logs.release('a')
    clock.now = 500
    logs.release('b')
    made[1]!.append('"x"')
    expect(vi.getTimerCount()).toBe(1)
    clock.now = 1010
    vi.advanceTimersByTime(1010)
    expect(logs.size).toBe(2) // a went; b (released at 500) has 490 ms to go, c is followed
    clock.now = 1500
    vi.advanceTimersByTime(490)
    expect(logs.size).toBe(1)
    expect(logs.log('c')).toBe(made[2])
    expect(vi.getTimerCount()).toBe(0) // nothing idle: no timer
  })

  it('release without retain, and retain of an unknown name, change nothing', () => {
    const { logs, logOf } = clocked({ max: 1 })
    logs.retain('ghost')
    logs.release('ghost')
    const a = logOf('a')
    logs.release('a')
    expect(logOf('b')).not.toBe(a)
  })

  it('checks its options', () => {
    expect(() => createChannelLogs({ max: 0 })).toThrow(ServerOptionsError)
    expect(() => createChannelLogs({ idle: -1 })).toThrow(ServerOptionsError)
  })
})

describe('createChannelLogs behind a realtime handler: bounded under 20,000 channel names', () => {
  it('a client cycling through names leaves at most max logs and a bounded number of channel states; a followed log is kept', async () => {
    const logs = createChannelLogs({ max: 100, writable: true })
    const server = await startRealtime({ channels: logs, origins: '*' })
    const watcher = await connect(server, 'websocket')
    await subscribe(watcher, 'kept')
    const cycler = await connect(server, 'websocket')
    const N = 20_000
    let peak = 0
    for (let i = 0; i < N; i += 500) {
      const frames = []
      for (let j = i; j < i + 500; j++) frames.push({ type: 'subscribe', channel: `n${j}` }, { type: 'unsubscribe', channel: `n${j}` }, { type: 'publish', channel: `p${j}`, data: j, pid: `x${j}` })
      await cycler.send(...frames)
      await eventually(() => expect(cycler.of('ack')).toHaveLength(i + 500), 10_000)
      peak = Math.max(peak, logs.size, server.handler[handlerStats]().channels)
    }
    expect(cycler.of('error')).toEqual([])
    expect(logs.size).toBeLessThanOrEqual(100)
    expect(peak).toBeLessThanOrEqual(MAX_IDLE + 2)
    expect(server.handler[handlerStats]().channels).toBeLessThanOrEqual(MAX_IDLE + 2)
    // The followed channel's log stayed: an append reaches its subscriber.
    logs.log('kept')!.append('"still"')
    await waitFor(watcher, { type: 'event', channel: 'kept' })
  }, 60_000)

  it('names a client may not use make no log: authorize is asked before the resolver', async () => {
    const logs = createChannelLogs({ writable: true })
    const server = await startRealtime({ channels: logs, origins: '*', authorize: (_request, channel) => channel.startsWith('ok:') })
    const client = await connect(server, 'websocket')
    const frames = []
    for (let j = 0; j < 200; j++) frames.push({ type: 'subscribe', channel: `junk${j}` }, { type: 'publish', channel: `junk-p${j}`, data: j, pid: `x${j}` })
    await client.send(...frames, { type: 'subscribe', channel: 'ok:1' })
    await waitFor(client, { type: 'subscribed', channel: 'ok:1' })
    expect(client.of('error').map((e) => e.code)).toEqual(Array(400).fill('unauthorized'))
    expect(logs.size).toBe(1)
  })
})
