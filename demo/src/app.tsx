import { Chat } from './chat.tsx'
import { config } from './config.ts'
import { FaultPanel } from './fault-panel.tsx'
import { Notifications } from './notifications.tsx'
import { Orders } from './orders.tsx'
import { RealtimePanel } from './realtime-panel.tsx'
import { TabRoleBadge } from './tab-role.tsx'
import { Ticker } from './ticker.tsx'

export function App() {
  return (
    <>
      <header>
        <h1>tabwire demo</h1>
        <p>
          Two SSE streams and a WebSocket, each through a tabwire hook. Open this page in several tabs: the whole
          browser holds one connection per stream, in the tab that leads, and the other tabs get every message from it.
          Close or reload the leading tab and another takes over, resuming from the last event the tabs saw. Break the
          streams with the fault panel and watch them resume. The Realtime panel carries the same data on channels of one
          connection per browser: WebSocket first, SSE with POST when the fault panel blocks WebSockets. The Orders panel is a TanStack query kept fresh by the `orders` channel through tabwire/query: one refetch per browser for each change.
        </p>
        <TabRoleBadge />
        <p className="meta">
          You are <strong>{config.name}</strong> · sharing {{ tabs: 'across tabs', tab: 'per tab', off: 'off' }[config.mode]} · idle
          timeout {config.idle} ms · backoff {config.delay}–{config.maxDelay} ms
          {config.mode !== 'tabs' && ` · hidden tabs let go after ${config.pauseHidden} ms`} (set with{' '}
          <code>?share=tabs|tab|off&amp;beat=…&amp;name=…&amp;idle=…&amp;delay=…&amp;maxDelay=…&amp;pauseHidden=…&amp;channels=…&amp;probe=…&amp;only=realtime|orders</code>)
        </p>
      </header>
      <main>
        {config.only === undefined && (
          <>
            <Ticker />
            <div className="side">
              <Notifications />
              <Chat />
            </div>
          </>
        )}
        {config.only !== 'realtime' && <Orders />}
        {config.only !== 'orders' && <RealtimePanel />}
        <FaultPanel />
      </main>
    </>
  )
}
