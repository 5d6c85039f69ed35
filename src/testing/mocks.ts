/**
 * The MSW mocks of tabwire/testing: handlers that speak tabwire's protocols as
 * tabwire/server does (the same protocol functions), with fault controls for tests and stories.
 */
export { createMemoryLog, type LogEntry, type ReplayLog } from '../server/log.ts'
export type { MockChannelControls, MockChannelInput, PublishSeen, SubscribeSeen } from './mock-channels.ts'
export type { MockConnectionInfo, MockControls, MockOptions, MockTimers } from './mock-core.ts'
export type { FloodOptions } from './mock-flood.ts'
export { type MockRealtime, type MockRealtimeOptions, mockRealtimeHandler } from './mock-realtime.ts'
export { type MockSse, type MockSseOptions, mockSseHandler } from './mock-sse.ts'
export { type MockWebSocket, type MockWebSocketOptions, mockWebSocketHandler } from './mock-websocket.ts'
