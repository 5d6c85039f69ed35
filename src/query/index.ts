export { type BridgeSource, createQueryBridge, type QueryBridge, type QueryBridgeOptions } from './bridge'
export { type InvalidateFrame, invalidateFrameKeys } from './frames'
export type { QueryTabsOptions } from './tabs'
export {
  type QueryBridgeHandlers,
  RealtimeQueryBridge,
  type RealtimeQueryBridgeProps,
  useQueryBridge,
  type UseQueryBridgeOptions,
  useRealtimeQueryBridge,
} from './use-query-bridge'
export { streamedChannel, type StreamedChannelOptions } from './streamed-channel'
