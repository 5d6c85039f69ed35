/**
 * The multi-tab simulator with an app's unchanged useWebSocket chat: a follower's messages
 * sent just before, during and after the leader tab goes reach the server exactly once
 * (no de-duplication on the server) and every tab shows each once, as test/e2e/tabs.test.ts
 * checks in real Chromium ("sending from a follower while the lead moves").
 */
import { act, fireEvent, render, waitFor } from '@testing-library/react'
import { useRef, useState } from 'react'
import { describe, expect, it } from 'vitest'
import { useWebSocket } from '../../src/react/use-web-socket'
import type { SimulatedTab } from '../../src/testing/simulator'
import { type ServerSide, wsServer, wsUrl } from '../react/ws-harness'
import { setupSimulatorHarness } from './simulator-harness'

const harness = setupSimulatorHarness()

type Said = { seq: number; text: string }
type Say = { type: 'say'; text: string } | { type: 'resume'; after: number }

/** An app's chat, as it would be written: resumes after the last line it had, lists every line. */
function Chat({ url }: { url: string }) {
  const [lines, setLines] = useState<string[]>([])
  const input = useRef<HTMLInputElement>(null)
  const chat = useWebSocket<Said, Say>(url, {
    json: true,
    messageId: (raw) => String((JSON.parse(raw as string) as Said).seq),
    onReopen: ({ lastEventId }) => [{ type: 'resume', after: Number(lastEventId ?? 0) }],
    onMessage: ({ data }) => setLines((l) => [...l, data.text]),
  })
  return (
    <form onSubmit={(e) => (e.preventDefault(), chat.send({ type: 'say', text: input.current!.value }))}>
      <output data-state={chat.status} />
      <input aria-label="message" ref={input} />
      <ol>
        {lines.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ol>
    </form>
  )
}

/** A chat server over a log: `say` appends and broadcasts, `resume` replays after a seq. It never de-duplicates. */
function chatServer(url: string) {
  const log: Said[] = []
  const open = new Set<ServerSide>()
  const server = wsServer(url, (connection) => {
    open.add(connection)
    connection.client.addEventListener('close', () => void open.delete(connection))
    connection.client.addEventListener('message', (event) => {
      const frame = JSON.parse(String(event.data)) as Say
      if (frame.type === 'resume') for (const said of log.filter((s) => s.seq > frame.after)) connection.client.send(JSON.stringify(said))
      else {
        const said = { seq: log.length + 1, text: frame.text }
        log.push(said)
        for (const c of open) c.client.send(JSON.stringify(said))
      }
    })
  })
  return { ...server, log, texts: () => log.map((s) => s.text) }
}

function renderIn(tab: SimulatedTab, url: string) {
  const view = render(<Chat url={url} />, { wrapper: tab.wrapper })
  return {
    ...view,
    status: () => view.container.querySelector('output')?.getAttribute('data-state'),
    lines: () => [...view.container.querySelectorAll('li')].map((li) => li.textContent),
    say(text: string) {
      fireEvent.change(view.container.querySelector('input')!, { target: { value: text } })
      fireEvent.submit(view.container.querySelector('form')!)
    },
  }
}

describe('sending from a follower while the lead moves', () => {
  it.each(['close', 'crash'] as const)('the leader tabs %s: messages sent before, during and after arrive exactly once, in every tab', async (how) => {
    const url = wsUrl(`chat-${how}`)
    const server = chatServer(url)
    const tabs = harness.tabs(4)
    const views = tabs.map((tab) => renderIn(tab, url))
    await waitFor(() => expect(views.map((v) => v.status())).toEqual(['open', 'open', 'open', 'open']))
    const texts: string[] = []

    // Twice: tab 3 sends as a follower; in the second round it is next in the lock queue,
    // so it becomes the leader and sends what it holds through its own new socket.
    for (const round of [1, 2]) {
      const leader = (await tabs.leader())!
      const sender = views[2]!
      const sockets = server.connections.length
      sender.say(`round ${round}: before`)
      act(() => leader[how]())
      sender.say(`round ${round}: during`)
      await waitFor(() => expect(server.connections).toHaveLength(sockets + 1))
      sender.say(`round ${round}: after`)
      texts.push(`round ${round}: before`, `round ${round}: during`, `round ${round}: after`)

      // Exactly once each. Not necessarily in the order sent: a message posted to the old
      // leader and sent again can come after one the new leader got directly (in Chromium too).
      await waitFor(() => expect([...server.texts()].sort()).toEqual([...texts].sort()))
      const live = tabs.live().map((t) => views[tabs.indexOf(t)]!)
      // Every tab shows the server's log: each line once, in the server's order.
      await waitFor(() => expect(live.map((v) => v.lines())).toEqual(live.map(() => server.texts())))
    }
    expect(await tabs.leader()).toBe(tabs[2])
    expect(server.connections.filter((c) => c.closedWith === null)).toHaveLength(1)
  })
})
