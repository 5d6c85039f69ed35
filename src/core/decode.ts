import { misuse } from './errors'
import type { WireMessage } from './transport'

declare const process: { env: Record<string, string | undefined> }

/**
 * Any validator that follows Standard Schema v1 (zod, valibot, arktype…), described
 * structurally so tabwire needs no dependency for it.
 * @see https://standardschema.dev
 */
export interface StandardSchema<Output = unknown> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => SchemaResult<Output> | Promise<SchemaResult<Output>>
    readonly types?: { readonly input: unknown; readonly output: Output } | undefined
  }
}

type SchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string }> }

/** How message payloads become data. */
export interface DecodeOptions<T> {
  /**
   * Parse each payload as JSON.
   * @defaultValue false (data is the raw text)
   */
  json?: boolean
  /**
   * Turn each payload into data; runs after `json`. A throw becomes a `parse` error.
   * @example { parse: (text) => Number(text) }
   */
  parse?: (data: unknown, message: WireMessage) => T
  /**
   * Validate each payload (after `json`/`parse`) with a Standard Schema. Must validate
   * synchronously: messages are delivered in order, as they arrive.
   * @example { json: true, schema: z.object({ symbol: z.string(), price: z.number() }) }
   */
  schema?: StandardSchema<T>
}

/**
 * Builds the decoder for these options; undefined when data stays raw. It throws on bad
 * input; the engine turns the throw into a `parse` error that keeps the raw payload.
 */
export function createDecoder<T>(options: DecodeOptions<T>): ((message: WireMessage) => T) | undefined {
  const { json, parse, schema } = options
  if (schema && typeof schema['~standard']?.validate !== 'function') {
    throw misuse('schema', 'schema', process.env.NODE_ENV !== 'production' && 'expected a Standard Schema (with `~standard.validate`)')
  }
  if (!json && !parse && !schema) return undefined
  return (message) => {
    let value = json ? JSON.parse(message.data as string) : message.data
    if (parse) value = parse(value, message)
    if (!schema) return value as T
    const result = schema['~standard'].validate(value)
    if (result instanceof Promise) throw new Error('async schemas are not supported')
    if (result.issues) throw new Error(result.issues.map((issue) => issue.message).join('; '))
    return result.value
  }
}
