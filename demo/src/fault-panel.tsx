import { useEffect, useState } from 'react'
import type { InstanceInfo, ScaleStats } from '../scale.ts'
import type { DemoStats } from '../shared.ts'

/** Calls an admin endpoint; JSON so a cross-site form cannot (the server insists on it). */
async function admin(action: string, body: object = {}): Promise<DemoStats> {
  const response = await fetch(`/api/admin/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = await response.json()
  if (!response.ok) throw new Error(answer.error ?? `HTTP ${response.status}`)
  return answer as DemoStats
}

/** Buttons that break the server on purpose, and what the server sees. */
export function FaultPanel() {
  const [stats, setStats] = useState<DemoStats | null>(null)
  const [message, setMessage] = useState('')
  const [rate, setRate] = useState(1000)
  const [seconds, setSeconds] = useState(3)

  useEffect(() => {
    let stop = false
    const poll = async () => {
      try {
        const response = await fetch('/api/admin/stats', { cache: 'no-store' })
        if (!stop && response.ok) setStats((await response.json()) as DemoStats)
      } catch {
        if (!stop) setStats(null)
      }
    }
    void poll()
    const timer = setInterval(poll, 500)
    return () => {
      stop = true
      clearInterval(timer)
    }
  }, [])

  const blocked = stats?.realtime.blocked ?? false
  // Scaled out (`npm start -- --redis … --instances N`): the instances behind the proxy.
  const instances = (stats as ScaleStats | null)?.instances ?? []
  const instance = ({ n, up }: InstanceInfo) => async () => {
    const label = `${up ? 'Kill' : 'Start'} instance ${n}`
    try {
      // The answer is the instance list; the next poll refreshes the panel.
      await admin(`instances/${n}/${up ? 'kill' : 'start'}`)
      setMessage(`${label}: done at ${new Date().toLocaleTimeString()}`)
    } catch (error) {
      setMessage(`${label} failed: ${error instanceof Error ? error.message : error}`)
    }
  }
  const run = (label: string, action: string, body?: object) => async () => {
    try {
      setStats(await admin(action, body))
      setMessage(`${label}: done at ${new Date().toLocaleTimeString()}`)
    } catch (error) {
      setMessage(`${label} failed: ${error instanceof Error ? error.message : error}`)
    }
  }

  return (
    <section aria-labelledby="faults-title" className="faults">
      <h2 id="faults-title">Fault panel</h2>
      <div className="buttons">
        <button type="button" data-action="drop" onClick={run('Drop', 'drop')}>
          Drop every connection
        </button>
        <button type="button" data-action="restart-log" onClick={run('Restart the log', 'restart-log')}>
          Restart the log
        </button>
        <button type="button" data-action="stall" onClick={run('Stall', 'stall')}>
          Stall the streams
        </button>
        <button
          type="button"
          data-action="block-websocket"
          aria-pressed={blocked}
          onClick={run(blocked ? 'Unblock WebSocket' : 'Block WebSocket', 'block-websocket', { blocked: !blocked })}
        >
          Block WebSocket (realtime)
        </button>
        {instances.map((i) => (
          <button key={i.n} type="button" data-action={i.up ? 'kill-instance' : 'start-instance'} data-instance={i.n} onClick={instance(i)}>
            {i.up ? `Kill instance ${i.n}` : `Start instance ${i.n}`}
          </button>
        ))}
      </div>
      <form
        className="flood"
        onSubmit={(event) => {
          event.preventDefault()
          void run('Flood', 'flood', { rate, seconds })()
        }}
      >
        <label>
          Flood <input type="number" min={1} max={20000} value={rate} onChange={(e) => setRate(Number(e.target.value))} aria-label="Messages a second" /> quotes/s
        </label>{' '}
        <label>
          for <input type="number" min={1} max={60} value={seconds} onChange={(e) => setSeconds(Number(e.target.value))} aria-label="Seconds" /> s
        </label>{' '}
        <button type="submit" data-action="flood">
          Flood
        </button>
      </form>
      <p role="status" className="meta" data-testid="fault-message">
        {message}
      </p>
      <dl className="stats" data-testid="stats">
        {stats ? (
          (['quotes', 'notifications', 'chat'] as const).map((name) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd data-clients={name}>
                {stats.clients[name]} connection{stats.clients[name] === 1 ? '' : 's'} · epoch <code>{stats.epochs[name]}</code>
              </dd>
            </div>
          ))
        ) : (
          <div>
            <dt>server</dt>
            <dd>unreachable</dd>
          </div>
        )}
        {stats && (
          <>
            <div>
              <dt>realtime</dt>
              <dd data-realtime-clients={`${stats.realtime.clients.websocket}/${stats.realtime.clients.sse}`}>
                {stats.realtime.clients.websocket} WebSocket · {stats.realtime.clients.sse} SSE{stats.realtime.blocked && ' · WebSocket blocked'}
              </dd>
            </div>
            <div>
              <dt>orders</dt>
              <dd data-testid="orders-requests" data-requests={stats.orders.requests}>
                {stats.orders.requests} request{stats.orders.requests === 1 ? '' : 's'} to <code>/api/orders</code> · version {stats.orders.version}
                {stats.orders.delay > 0 && ` · answers after ${stats.orders.delay} ms`}
              </dd>
            </div>
            <div>
              <dt>channels</dt>
              <dd data-testid="realtime-channels">
                {Object.entries(stats.realtime.channels)
                  .map(([channel, n]) => (n === 1 ? channel : `${channel} ×${n}`))
                  .join(', ') || 'none'}
              </dd>
            </div>
          </>
        )}
        {stats?.flooding && <div className="flooding">flooding…</div>}
      </dl>
    </section>
  )
}
