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
 * stderr and `process.on('warning')` can route elsewhere (`console.warn` where there is no `process`, a browser running the mocks). Never pass ids or headers a
 * client sent: they may carry tokens.
 */
export function warn(message: string): void {
  // The protocol code is shared with the mocks of tabwire/testing, which also run in browsers.
  const node = (globalThis as { process?: { emitWarning?: (message: string, options: { code: string }) => void } }).process
  if (typeof node?.emitWarning === 'function') node.emitWarning(`[tabwire/server] ${message}`, { code: 'TABWIRE_SERVER' })
  else console.warn(`[tabwire/server] ${message}`)
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
