/**
 * The demo's orders: a list the Orders panel fetches as a TanStack query, kept fresh by
 * change events on the realtime channel `orders` (demo/realtime.ts carries them).
 *
 *   GET  /api/orders          the current orders (`OrdersPage`), never cached; every request counted
 *   POST /api/admin/orders    {"delay": ms} makes `GET /api/orders` answer that late (0: at once);
 *                             {"change": true} changes an order now (as the timer does)
 *
 * Item names are untrusted text (one holds markup on purpose): the page renders them as text.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { json } from './http.ts'
import type { Order, OrderChange, OrdersPage, OrdersStats } from './shared.ts'

export interface DemoOrdersOptions {
  /** ms between two order changes (0: none but those asked for). @defaultValue 3000 */
  orderInterval?: number
}

/** The longest `delay` an admin may set, ms. */
const MAX_DELAY = 30_000

const ITEMS = ['Espresso beans', 'Tea sampler', '<img src=x onerror="alert(1)">Mug', 'Oat milk ×6', 'Grinder "Pro"', 'Filter papers']
const STATUSES: readonly Order['status'][] = ['new', 'paid', 'packed', 'shipped']

export interface DemoOrders {
  /** `GET /api/orders`. */
  handle(request: IncomingMessage, response: ServerResponse): void
  /** `POST /api/admin/orders`'s body. */
  admin(body: Record<string, unknown>): void
  /** Changes one order (or adds one) and tells `changed`. */
  change(): void
  stats(): OrdersStats
}

/**
 * @param every - the server's interval maker (its timers are cleared on close)
 * @param changed - appends a change to the realtime channel `orders`
 */
export function createDemoOrders(options: DemoOrdersOptions, every: (ms: number, callback: () => void) => unknown, changed: (change: OrderChange) => void): DemoOrders {
  let version = 0
  let requests = 0
  let delay = 0
  let nextId = 1
  const orders: Order[] = []
  const add = () => void orders.push({ id: nextId++, item: ITEMS[(nextId - 2) % ITEMS.length]!, quantity: 1 + ((nextId * 7) % 5), status: 'new' })
  for (let i = 0; i < 4; i++) add()

  const change = () => {
    const open = orders.filter((o) => o.status !== 'shipped')
    let order: Order
    if (open.length < 3 || Math.random() < 0.25) {
      add()
      order = orders.at(-1)!
    } else {
      order = open[Math.floor(Math.random() * open.length)]!
      order.status = STATUSES[STATUSES.indexOf(order.status) + 1]!
    }
    // The newest 20 orders.
    if (orders.length > 20) orders.splice(0, orders.length - 20)
    version++
    changed({ version, id: order.id, status: order.status })
  }
  const interval = options.orderInterval ?? 3000
  if (interval > 0) every(interval, change)

  return {
    handle(request, response) {
      if (request.method !== 'GET') return json(response, 405, { error: 'GET only' })
      requests++
      const page: OrdersPage = { version, orders: orders.map((o) => ({ ...o })), requests }
      const send = () => {
        if (response.destroyed) return
        response.setHeader('cache-control', 'no-store')
        json(response, 200, page)
      }
      if (delay > 0) setTimeout(send, delay).unref()
      else send()
    },
    admin(body) {
      if (body.delay !== undefined) {
        const ms = Number(body.delay)
        if (!(Number.isFinite(ms) && ms >= 0 && ms <= MAX_DELAY)) throw new RangeError(`orders: the delay must be 0 to ${MAX_DELAY} ms`)
        delay = ms
      }
      if (body.change === true) change()
    },
    change,
    stats: () => ({ requests, version, delay }),
  }
}
