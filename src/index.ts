export type {
  Connection,
  ConnectionSnapshot,
  ConnectionStatus,
  EngineOptions,
  EventSourceOptions,
  PauseReason,
  RealtimeErrorKind,
  RealtimeMessage,
  Registry,
  SendResult,
  ShareMode,
  StandardSchema,
  TabShareOptions,
  WebSocketOptions,
} from './core/index'
export { createRegistry, isRealtimeError, RealtimeError } from './core/index'
export type { HookOptions, HookState } from './react/use-connection'
export { useEventSource, type UseEventSourceOptions, type UseEventSourceResult } from './react/use-event-source'
export { useWebSocket, type UseWebSocketOptions, type UseWebSocketResult } from './react/use-web-socket'
