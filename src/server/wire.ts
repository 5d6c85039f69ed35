/**
 * Byte framing shared by the handlers, so one event is framed once and the same bytes go
 * to every client.
 */

/**
 * An unmasked WebSocket text frame (FIN set, opcode 1) around UTF-8 `payload`: what a
 * server sends, the same for every client.
 * @see https://datatracker.ietf.org/doc/html/rfc6455#section-5.2
 */
export function webSocketTextFrame(payload: Buffer): Buffer {
  const length = payload.length
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x81
  if (header === 2) frame[1] = length
  else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  payload.copy(frame, header)
  return frame
}

/**
 * One HTTP/1.1 chunk of `payload` (`Transfer-Encoding: chunked`).
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-7.1
 */
export function httpChunk(payload: Buffer): Buffer {
  const size = `${payload.length.toString(16)}\r\n`
  const chunk = Buffer.allocUnsafe(size.length + payload.length + 2)
  chunk.write(size, 0, 'latin1')
  payload.copy(chunk, size.length)
  chunk.write('\r\n', size.length + payload.length, 'latin1')
  return chunk
}

/** The bytes as they are (a stream delimited by the connection's close). */
export const asIs = (payload: Buffer): Buffer => payload
