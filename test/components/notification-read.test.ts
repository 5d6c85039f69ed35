/**
 * The notification center's `read` sees the whole message, and a notification without an id
 * takes the message's event id: taken once across a replay without an id in the payload.
 */
import { describe, expect, it } from 'vitest'
import { createNotificationCenter, type NotificationCenterOptions } from '../../src/components/index'

const center = <T>(read?: NotificationCenterOptions<T>['read']) => createNotificationCenter<T>({ read, channel: null })

describe('notification ids', () => {
  it('a notification without an id takes the event id, so a replayed event is taken once', () => {
    const c = center<{ subject: string }>((data) => ({ title: data.subject }))
    c.onMessage({ data: { subject: 'Deploy done' }, id: 'e1.7' })
    c.onMessage({ data: { subject: 'Deploy done' }, id: 'e1.7' })
    c.onMessage({ data: { subject: 'Deploy done' }, id: 'e1.8' })
    expect(c.getSnapshot().items.map((i) => [i.id, i.title])).toEqual([
      ['e1.8', 'Deploy done'],
      ['e1.7', 'Deploy done'],
    ])
  })

  it('read gets the message too; an id in the result wins; no id anywhere is a parse error', () => {
    const seen: (string | undefined)[] = []
    const c = center<{ subject: string; uuid?: string }>((data, message) => (seen.push(message.id), { id: data.uuid, title: data.subject }))
    c.onMessage({ data: { subject: 'a', uuid: 'u1' }, id: 'e1.1' })
    c.onMessage({ data: { subject: 'b' } })
    expect(seen).toEqual(['e1.1', undefined])
    expect(c.getSnapshot().items.map((i) => i.id)).toEqual(['u1'])
    expect(c.getSnapshot().error?.kind).toBe('parse')
  })
})
