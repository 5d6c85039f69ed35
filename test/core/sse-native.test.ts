import { describe, expect, it } from 'vitest'
import { nativeTransport, withLastEventId } from '../../src/core/sse-native'
import type { TransportSink } from '../../src/core/transport'

/** A stand-in for the browser's EventSource: records what the transport does with it. */
class FakeEventSource extends EventTarget {
  static instances: FakeEventSource[] = []
  onopen: (() => void) | null = null
  onerror: (() => void) | null = null
  closed = false
  constructor(
    readonly url: string,
    readonly init: EventSourceInit,
  ) {
    super()
    FakeEventSource.instances.push(this)
  }
  close() {
    this.closed = true
  }
  emit(type: string, data: string, lastEventId = '') {
    this.dispatchEvent(new MessageEvent(type, { data, lastEventId }))
  }
}

function start(url: string, events: string[], lastEventId?: string, withCredentials?: boolean) {
  FakeEventSource.instances = []
  const calls: string[] = []
  const sink: TransportSink = {
    open: () => void calls.push('open'),
    message: (m) => void calls.push(`${m.event}:${m.data}:${m.id}`),
    activity: () => void calls.push('activity'),
    lastEventId: (id) => void calls.push(`id=${id}`),
    retryHint: () => void calls.push('retry'),
    report: (e) => void calls.push(`report:${e.kind}`),
    fail: (e, retryable) => void calls.push(`fail:${e.kind}:${retryable}`),
  }
  const transport = nativeTransport(url, events, {
    EventSource: FakeEventSource as unknown as typeof EventSource,
    ...(withCredentials === undefined ? {} : { withCredentials }),
  })({ sink, lastEventId, attempt: 0 })
  return { transport, calls, source: FakeEventSource.instances[0]! }
}

describe('nativeTransport', () => {
  it('opens the URL as given on a first connection, and passes withCredentials', () => {
    const { source } = start('https://example.test/s?x=1', ['message'], undefined, true)
    expect(source.url).toBe('https://example.test/s?x=1')
    expect(source.init).toEqual({ withCredentials: true })
  })

  it('resumes through the lastEventId query parameter, replacing a stale one', () => {
    expect(start('https://example.test/s', ['message'], '41').source.url).toBe('https://example.test/s?lastEventId=41')
    expect(start('https://example.test/s?lastEventId=3&a=b#frag', ['message'], '4 2').source.url).toBe(
      'https://example.test/s?lastEventId=4+2&a=b#frag',
    )
    expect(withLastEventId('https://example.test/s', 'since', 'é')).toBe('https://example.test/s?since=%C3%A9')
  })

  it('listens to the named event types only, with ids', () => {
    const { source, calls } = start('https://example.test/s', ['quote', 'message'])
    source.onopen!()
    source.emit('quote', 'q1', '7')
    source.emit('other', 'ignored', '8')
    source.emit('message', 'm1', '8')
    expect(calls).toEqual(['open', 'id=7', 'quote:q1:7', 'id=8', 'message:m1:8'])
  })

  it('on any error closes the EventSource and hands the retry to the engine', () => {
    const { source, calls } = start('https://example.test/s', ['message'])
    source.onerror!()
    expect(source.closed).toBe(true)
    expect(calls).toEqual(['fail:network:true'])
  })

  it('after close, no listener and no error reaches the sink', () => {
    const { source, calls, transport } = start('https://example.test/s', ['message'])
    transport.close()
    source.emit('message', 'late')
    source.onerror!()
    expect(source.closed).toBe(true)
    expect(calls).toEqual([])
  })
})
