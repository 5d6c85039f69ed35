export type {
  ChannelMessage,
  ChannelReset,
  ChannelSnapshot,
  Connection,
  ConnectionSnapshot,
  ConnectionStatus,
  EngineOptions,
  EventSourceOptions,
  PauseReason,
  RealtimeChannel,
  RealtimeClient,
  RealtimeErrorKind,
  RealtimeMessage,
  RealtimeOptions,
  RealtimeSnapshot,
  RealtimeTransportKind,
  Registry,
  SendResult,
  ShareMode,
  StandardSchema,
  TabRole,
  TabShareOptions,
  WebSocketOptions,
} from './core/index'
export { createRegistry, isRealtimeError, RealtimeError } from './core/index'
export type { HookOptions, HookState } from './react/use-connection'
export { useEventSource, type UseEventSourceOptions, type UseEventSourceResult } from './react/use-event-source'
export { useWebSocket, type UseWebSocketOptions, type UseWebSocketResult } from './react/use-web-socket'
export { RealtimeProvider, type RealtimeProviderProps, useRealtimeClient } from './react/realtime-provider'
export { RegistryProvider, type RegistryProviderProps } from './react/registry-provider'
export { type Publish, useRealtime, type UseRealtimeOptions, type UseRealtimeResult } from './react/use-realtime'
