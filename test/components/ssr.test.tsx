/**
 * The components render on a server (renderToString): their stores give a server snapshot,
 * and a center made during render opens no channel and reads no page until it starts.
 */
import { renderToString } from 'react-dom/server'
import { describe, expect, it, vi } from 'vitest'
import { ConnectionStatus, createTicker, LiveTicker, Notifications, useNotificationCenter } from '../../src/components/index'

function Notes() {
  const center = useNotificationCenter({ channel: (name) => ((): never => { throw new Error(`opened ${name} on the server`) })() })
  return (
    <Notifications.Provider center={center}>
      <Notifications.Viewport />
      <Notifications.Inbox />
      <Notifications.UnreadCount />
    </Notifications.Provider>
  )
}

describe('server rendering', () => {
  it('renders each component to HTML without effects', () => {
    const ticker = createTicker()
    ticker.push({ symbol: 'A', value: 1 })
    const hasFocus = vi.spyOn(document, 'hasFocus')
    const html = renderToString(
      <>
        <LiveTicker ticker={ticker} source={{ status: 'connecting' }} />
        <ConnectionStatus source={{ status: 'connecting', error: null }} />
        <Notes />
      </>,
    )
    expect(html).toContain('data-tabwire-ticker')
    expect(html).toContain('Connecting…')
    expect(html).toContain('No notifications')
    expect(html).toContain('Notifications (F8)')
    expect(hasFocus).not.toHaveBeenCalled()
    hasFocus.mockRestore()
    ticker.dispose()
  })

  it('a part outside its Provider throws at once, naming the part and the fix', () => {
    expect(() => renderToString(<Notifications.Viewport />)).toThrow('tabwire: Notifications.Viewport needs a center: render it inside <Notifications.Provider center={useNotificationCenter()}>')
    expect(() => renderToString(<Notifications.Inbox />)).toThrow(/Notifications.Inbox needs a center/)
  })
})
