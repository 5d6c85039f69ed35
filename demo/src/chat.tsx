import { type FormEvent, useEffect, useRef, useState } from 'react'
import { useWebSocket } from 'tabwire'
import type { ChatIn, ChatOut, ChatPost } from '../shared.ts'
import { config, engine } from './config.ts'
import { recordError, recordId, recording } from './recorder.ts'
import { StreamStatus } from './stream-status.tsx'

const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/chat`

type Line =
  | { kind: 'message'; key: string; id: string; from: string; text: string; mine: boolean }
  | { kind: 'system'; key: string; text: string }

let sent = 0
const cid = () => `${config.name}-${Date.now().toString(36)}-${++sent}`

/** A chat room over one WebSocket: sends are queued while it reconnects, and it resumes where it left off. */
export function Chat() {
  const [lines, setLines] = useState<Line[]>([])
  // Messages sent but not yet echoed back by the server (queued while the socket is down).
  const [pending, setPending] = useState<ChatPost[]>([])
  const [text, setText] = useState('')
  // The id of the last room event seen: a reopened socket re-subscribes from it.
  const since = useRef<string | undefined>(undefined)
  const system = (text: string) => setLines((l) => [...l, { kind: 'system', key: `s${Date.now()}-${l.length}`, text }])

  const chat = useWebSocket<ChatIn, ChatOut>(url, {
    ...engine,
    json: true,
    // Pings keep the socket proven alive; silence for `idle` ms means it is dead.
    heartbeat: { interval: Math.max(50, Math.round(config.idle / 3)), timeout: config.idle },
    onReopen: () => [{ type: 'subscribe', channel: 'room', since: since.current }],
    onMessage: ({ data: frame }) => {
      if (frame.type === 'event') {
        since.current = frame.id
        recordId('chat', frame.id)
        // Anyone can publish anything: take only strings, and show them as text.
        const post = (typeof frame.data === 'object' && frame.data !== null ? frame.data : {}) as Partial<ChatPost>
        const message = {
          from: typeof post.from === 'string' ? post.from.slice(0, 32) : '?',
          text: typeof post.text === 'string' ? post.text.slice(0, 2000) : '',
          cid: typeof post.cid === 'string' ? post.cid : '',
        }
        recording.chat.push({ id: frame.id, ...message, at: Date.now() })
        setLines((l) => [...l.slice(-199), { kind: 'message', key: frame.id, id: frame.id, from: message.from, text: message.text, mine: message.from === config.name }])
        if (message.cid) setPending((p) => p.filter((m) => m.cid !== message.cid))
      } else if (frame.type === 'subscribed') {
        // A room this tab has seen nothing of yet: resume from where the subscription
        // started, so a socket that replaces this one (here, or in a tab that takes the
        // stream over) misses nothing published in between.
        since.current ??= frame.head ?? undefined
      } else if (frame.type === 'reset') {
        since.current = frame.head
        recording.resets.push({ stream: 'chat', id: frame.head, epoch: frame.epoch, reason: frame.reason, at: Date.now() })
        system(`The room restarted (${frame.reason}); earlier messages are not replayed.`)
      } else if (frame.type === 'error') {
        system(`Server: ${frame.code}: ${frame.message}`)
      }
    },
    onError: (error) => recordError('chat', error),
  })

  // The first socket subscribes from here (queued until it opens); later ones through onReopen.
  const { send } = chat
  useEffect(() => {
    send({ type: 'subscribe', channel: 'room' })
  }, [send])

  const submit = (event: FormEvent) => {
    event.preventDefault()
    const value = text.trim()
    if (!value) return
    const post = { from: config.name, text: value, cid: cid() }
    const result = send({ type: 'publish', channel: 'room', data: post })
    if (result === 'rejected') return system('Too many messages waiting: this one was not sent.')
    setPending((p) => [...p, post])
    setText('')
  }

  return (
    <section aria-labelledby="chat-title">
      <div className="panel-head">
        <h2 id="chat-title">Chat</h2>
        <StreamStatus name="chat" state={chat} />
      </div>
      <ol className="chat" role="log" aria-live="polite" data-testid="chat">
        {lines.map((line) =>
          line.kind === 'system' ? (
            <li key={line.key} className="system">
              {line.text}
            </li>
          ) : (
            <li key={line.key} data-id={line.id} className={line.mine ? 'mine' : undefined}>
              <strong>{line.from}</strong>: <span className="text">{line.text}</span>
            </li>
          ),
        )}
        {pending.map((post) => (
          <li key={post.cid} className="pending" data-pending={post.cid}>
            <strong>{post.from}</strong>: <span className="text">{post.text}</span> <em>(sending…)</em>
          </li>
        ))}
      </ol>
      <form onSubmit={submit} className="say">
        <label>
          {config.name}{' '}
          <input value={text} onChange={(e) => setText(e.target.value)} maxLength={2000} placeholder="Say something" aria-label="Chat message" />
        </label>
        <button type="submit">Send</button>
      </form>
    </section>
  )
}
