import { type FormEvent, useCallback, useState, useSyncExternalStore } from 'react'
import { type ChannelMessage, type ChannelReset, type RealtimeError, useRealtime, useRealtimeClient } from 'tabwire'
import { ConnectionStatus } from 'tabwire/components'
import type { LobbyPost, Notice, Quote } from '../shared.ts'
import { config } from './config.ts'
import { recordChannelMessage, recording } from './recorder.ts'

const PRICES = 'prices:'
const LOBBY = 'room:lobby'

/** Every message, reset and error of a channel reaches the recording, however React batches renders. */
const recordReset = (reset: ChannelReset) => void recording.realtime.resets.push({ ...reset, at: Date.now() })
const record = { onMessage: recordChannelMessage, onReset: recordReset }
const recordErrorOf = (channel: string) => (error: RealtimeError) =>
  void recording.realtime.errors.push({ channel, kind: error.kind, message: error.message, at: Date.now() })

/** Whatever JSON anyone appended: keep only what has the fields of a quote. */
const isQuote = (data: unknown): data is Quote =>
  typeof data === 'object' && data !== null && typeof (data as Quote).symbol === 'string' && typeof (data as Quote).price === 'number'

/**
 * The same data as the panels beside it, on realtime channels: the channels of every tab on
 * one connection per browser, WebSocket first and SSE with POST where WebSockets fail.
 */
export function RealtimePanel() {
  const client = useRealtimeClient()
  const snapshot = useSyncExternalStore(client.subscribe, client.getSnapshot)
  const { transport } = snapshot
  // One identity for the page's life: `<ConnectionStatus>` renders again only when a field changes.
  const reconnect = useCallback(() => client.reconnect(), [client])
  const symbols = config.channels.filter((c) => c.startsWith(PRICES))
  const others = config.channels.filter((c) => !c.startsWith(PRICES) && c !== 'notifications' && c !== LOBBY)
  return (
    <section aria-labelledby="realtime-title" className="realtime">
      <div className="panel-head">
        <h2 id="realtime-title">Realtime</h2>
        <div className="status" data-realtime="">
          <ConnectionStatus source={{ ...snapshot, reconnect }} />
          <span className="transport">over {transport ?? '—'}</span>
        </div>
      </div>
      <p className="meta">
        Channels: <code>{config.channels.join(', ') || 'none'}</code> (set with <code>?channels=</code>)
      </p>
      {symbols.length > 0 && (
        <table className="ticker" data-testid="realtime-prices">
          <thead>
            <tr>
              <th scope="col">Symbol</th>
              <th scope="col">Price</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {symbols.map((channel) => (
              <PriceRow key={channel} channel={channel} />
            ))}
          </tbody>
        </table>
      )}
      {config.channels.includes('notifications') && <RealtimeNotices />}
      {config.channels.includes(LOBBY) && <Lobby />}
      {others.map((channel) => (
        <OtherChannel key={channel} channel={channel} />
      ))}
    </section>
  )
}

/** One symbol: re-renders only when its price changes (`select`), while every quote is recorded. */
function PriceRow({ channel }: { channel: string }) {
  const { data: quote } = useRealtime<unknown, never, Quote | null>(channel, {
    ...record,
    onError: recordErrorOf(channel),
    select: (data) => (isQuote(data) ? data : null),
    equals: (a, b) => a?.price === b?.price,
  })
  return (
    <tr data-channel={channel}>
      <th scope="row">{channel.slice(PRICES.length)}</th>
      <td className="price">{quote ? quote.price.toFixed(2) : '…'}</td>
      <td className={quote && quote.change < 0 ? 'down' : 'up'}>{quote ? `${quote.change > 0 ? '+' : ''}${quote.change.toFixed(2)}%` : ''}</td>
    </tr>
  )
}

let keys = 0

/** The newest notices first; title and body are untrusted, so rendered as text. */
function RealtimeNotices() {
  const [items, setItems] = useState<{ key: number; title: string; body: string }[]>([])
  useRealtime<Partial<Notice>>('notifications', {
    onReset: recordReset,
    onError: recordErrorOf('notifications'),
    onMessage: (message) => {
      recordChannelMessage(message)
      const item = { key: ++keys, title: String(message.data?.title ?? ''), body: String(message.data?.body ?? '') }
      setItems((list) => [item, ...list].slice(0, 5))
    },
  })
  return (
    <ul className="notifications" role="log" aria-live="polite" data-testid="realtime-notifications">
      {items.length === 0 && <li className="empty">no notices yet</li>}
      {items.map((item) => (
        <li key={item.key}>
          <strong>{item.title}</strong> <span>{item.body}</span>
        </li>
      ))}
    </ul>
  )
}

let sent = 0

/** The `room:lobby` channel: anyone on this origin may publish; a publish is taken once, even across a leader change. */
function Lobby() {
  const [lines, setLines] = useState<{ id: string; from: string; text: string }[]>([])
  const [text, setText] = useState('')
  const [problem, setProblem] = useState('')
  const lobby = useRealtime<unknown, LobbyPost>(LOBBY, {
    onReset: recordReset,
    onError: (error) => (recordErrorOf(LOBBY)(error), setProblem(error.message)),
    onMessage: (message: ChannelMessage<unknown>) => {
      recordChannelMessage(message)
      const post = (typeof message.data === 'object' && message.data !== null ? message.data : {}) as Partial<LobbyPost>
      const line = { id: message.id ?? `s${++keys}`, from: String(post.from ?? '?').slice(0, 32), text: String(post.text ?? '').slice(0, 2000) }
      setLines((l) => [...l.slice(-49), line])
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const value = text.trim()
    if (!value) return
    const result = lobby.publish({ from: config.name, text: value, cid: `${config.name}-${Date.now().toString(36)}-${++sent}` })
    if (result === 'rejected') return setProblem('not sent: too many messages wait for the server')
    setProblem('')
    setText('')
  }
  return (
    <div className="lobby">
      <ol className="chat" role="log" aria-live="polite" data-testid="realtime-lobby">
        {lines.map((line) => (
          <li key={line.id} data-id={line.id}>
            <strong>{line.from}</strong>: <span className="text">{line.text}</span>
          </li>
        ))}
      </ol>
      <form onSubmit={submit} className="say">
        <input value={text} onChange={(e) => setText(e.target.value)} maxLength={2000} placeholder="Say something in the lobby" aria-label="Lobby message" />
        <button type="submit">Publish</button>
      </form>
      {problem && <p className="meta error">{problem}</p>}
    </div>
  )
}

/** A channel the panel has no view for: its latest data, as JSON text. */
function OtherChannel({ channel }: { channel: string }) {
  const { data, error } = useRealtime<unknown>(channel, { ...record, onError: recordErrorOf(channel) })
  return (
    <p className="meta" data-channel={channel}>
      <code>{channel}</code>: {error ? `error: ${error.message}` : data === undefined ? '…' : JSON.stringify(data).slice(0, 200)}
    </p>
  )
}
