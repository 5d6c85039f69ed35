export { backoffDelay, type BackoffOptions, parseRetryAfter } from './backoff'
export {
  type Connection,
  type ConnectionConfig,
  type ConnectionSnapshot,
  createConnection,
  type EngineOptions,
  type RealtimeMessage,
  type TabRole,
} from './connection'
export { closeCodeOutcome } from './close-codes'
export { createDecoder, type DecodeOptions, type StandardSchema } from './decode'
export type { Environment, EnvironmentSignal } from './environment'
export { globalEnvironment } from './environment'
export { isRealtimeError, RealtimeError, type RealtimeErrorDetails, type RealtimeErrorKind } from './errors'
export { REALTIME_ERROR_KINDS } from './errors'
export { createEventSource, eventSourceKey, type EventSourceOptions } from './event-source'
export { hashKey, streamKey } from './key'
export { checkEventSource, checkWebSocket } from './key'
export { type ConnectionStatus, initialState, type MachineEvent, type MachineState, type PauseReason, transition } from './machine'
export { createRegistry, defaultRegistry, type Lease, type Registry, type RegistryOptions } from './registry'
export type { FrameScheduler, Timers } from './runtime'
export { type FetchTransportOptions, fetchTransport, type HeadersInput } from './sse-fetch'
export { nativeTransport, type NativeTransportOptions, withLastEventId } from './sse-native'
export type { Transport, TransportContext, TransportFactory, TransportSink, WireMessage } from './transport'
export {
  createWebSocket,
  type HeartbeatOptions,
  type SendResult,
  type WebSocketConnection,
  type WebSocketOptions,
  webSocketKey,
  type WireData,
} from './web-socket'
export { type ShareMode } from './share'
export { shareAcrossTabs } from './tabs/share-across-tabs'
export { createSends as tabSends } from './tabs/sends'
export type { PageEvents, Shareable, TabChannel, TabDecodeOptions, TabResume, TabShareInjectables, TabShareOptions } from './tabs/types'
export { createRealtime } from './realtime/client'
export type {
  ChannelMessage,
  ChannelReset,
  ChannelSnapshot,
  RealtimeChannel,
  RealtimeClient,
  RealtimeOptions,
  RealtimeSnapshot,
} from './realtime/client-types'
export { isChannelName, MAX_CHANNEL_NAME, REALTIME_PROTOCOL, readServerFrame } from './realtime/protocol'
export type { RealtimeClientFrame, RealtimeErrorCode, RealtimeServerFrame } from './realtime/protocol'
export type { RealtimeTransportKind, RealtimeTransportOptions } from './realtime/transport-types'
