import { Chat } from './chat.tsx'
import { config } from './config.ts'
import { FaultPanel } from './fault-panel.tsx'
import { Notifications } from './notifications.tsx'
import { Ticker } from './ticker.tsx'

export function App() {
  return (
    <>
      <header>
        <h1>tabwire demo</h1>
        <p>
          Two SSE streams and a WebSocket, each through a tabwire hook. Break them with the fault panel and watch them
          resume. Each tab has its own connections for now; a tab hidden for a while lets go of its SSE streams and
          resumes them, from the last event it saw, when shown again.
        </p>
        <p className="meta">
          You are <strong>{config.name}</strong> · idle timeout {config.idle} ms · backoff {config.delay}–{config.maxDelay} ms · hidden tabs let go after {config.pauseHidden} ms (set
          with <code>?name=…&amp;idle=…&amp;delay=…&amp;maxDelay=…&amp;pauseHidden=…</code>)
        </p>
      </header>
      <main>
        <Ticker />
        <div className="side">
          <Notifications />
          <Chat />
        </div>
        <FaultPanel />
      </main>
    </>
  )
}
