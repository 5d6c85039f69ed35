/**
 * tabwire/components: live ticker, notifications and connection status, built only on the
 * public hooks. Headless parts with `data-state` attributes; an optional stylesheet.
 */
export { ConnectionStatus, type ConnectionStatusProps, type ConnectionStatusSource, describeError } from './connection-status'
export { LiveTicker, type LiveTickerProps, type TickerSource, useTicker } from './live-ticker'
export { createTicker, type Ticker, type TickerDirection, type TickerOptions, type TickerRow, type TickerSnapshot, type TickerUpdate } from './ticker'
