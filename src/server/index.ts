export { formatEvent, type SseEvent } from './format.ts'
export { createMemoryLog, type LogEntry, type MemoryLogOptions, parseLogId, type Replay, type ReplayLog, type ResetReason } from './log.ts'
export { createSseHandler, type SseHandler, type SseHandlerOptions } from './sse.ts'
export { createWebSocketHandler, type ServerFrame, type WebSocketHandler, type WebSocketHandlerOptions } from './ws.ts'
