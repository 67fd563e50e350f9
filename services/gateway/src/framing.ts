/**
 * Server-to-client WebSocket framing (RFC 6455 §5.2), done once per message so that the same
 * bytes can be written to every subscriber. Server frames are never masked and the gateway never
 * negotiates permessage-deflate, so a frame is a 2-10 byte header followed by the payload.
 */
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const headerLen = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLen + len);
  out[0] = 0x80 | opcode; // FIN + opcode
  if (len < 126) {
    out[1] = len;
  } else if (len < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  payload.copy(out, headerLen);
  return out;
}

/** A complete text frame carrying `text`. */
export function textFrame(text: string): Buffer {
  return frame(OP_TEXT, Buffer.from(text, 'utf8'));
}

/** A complete binary frame carrying `bytes`. */
export function binaryFrame(bytes: Uint8Array): Buffer {
  return frame(OP_BINARY, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
