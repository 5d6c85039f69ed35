/**
 * Thrown at once when a `tabwire/server` factory is given options it cannot run with. The
 * message names the factory, the option and the fix; `option` names the option.
 */
export class ServerOptionsError extends TypeError {
  override readonly name = 'ServerOptionsError'
  /** The option at fault, e.g. `'origins'`. */
  readonly option: string

  constructor(api: string, option: string, problem: string) {
    super(`[tabwire/server] ${api}: ${problem}`)
    this.option = option
  }
}

/**
 * Reports something a server skipped or cut instead of throwing (an entry it cannot frame,
 * a log that failed): a process warning with code `TABWIRE_SERVER`, which Node prints to
 * stderr and `process.on('warning')` can route elsewhere. Never pass ids or headers a
 * client sent: they may carry tokens.
 */
export function warn(message: string): void {
  process.emitWarning(`[tabwire/server] ${message}`, { code: 'TABWIRE_SERVER' })
}

/** A thrown value as one short line. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/** A value for a warning: quoted and escaped (no line breaks reach the log), at most ~60 characters. */
export function quote(value: unknown): string {
  const text = JSON.stringify(String(value))
  return text.length > 62 ? `${text.slice(0, 60)}…"` : text
}
