/**
 * Server-to-client WebSocket framing (RFC 6455 §5.2), done once per message so that the same
 * bytes can be written to every subscriber. Server frames are never masked, so a frame is a 2-10
 * byte header followed by the payload.
 *
 * A message may also be framed compressed (permessage-deflate, RFC 7692): the gateway always
 * negotiates `server_no_context_takeover`, so a message compressed on its own is valid for every
 * client that negotiated the extension, and a broadcast is compressed once, not once per socket.
 */
import { constants, deflateRawSync } from 'node:zlib';

const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
/** RSV1 marks a compressed message (RFC 7692 §6). */
const RSV1 = 0x40;

/**
 * Compression settings of every compressed frame. The window is zlib's largest (15 bits), so a
 * client that asked for a smaller `server_max_window_bits` is sent plain frames (see
 * `deflateWindowOk` in compression.ts).
 */
const DEFLATE_OPTIONS = Object.freeze({ windowBits: 15, finishFlush: constants.Z_SYNC_FLUSH });

function frame(opcode: number, payload: Buffer, rsv1 = false): Buffer {
  const len = payload.length;
  const headerLen = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLen + len);
  out[0] = 0x80 | (rsv1 ? RSV1 : 0) | opcode; // FIN + opcode
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

/**
 * The payload compressed as one permessage-deflate message: raw deflate with a sync flush and the
 * flush's trailing `00 00 ff ff` removed (RFC 7692 §7.2.1). Undefined when compressing does not
 * make it smaller (the plain frame is then the better one for everybody).
 */
export function deflateMessage(payload: Buffer): Buffer | undefined {
  const z = deflateRawSync(payload, DEFLATE_OPTIONS);
  const body = z.subarray(0, z.length - 4);
  return body.length < payload.length ? body : undefined;
}

/** A complete text frame carrying `text`. */
export function textFrame(text: string): Buffer {
  return frame(OP_TEXT, Buffer.from(text, 'utf8'));
}

/** A complete binary frame carrying `bytes`. */
export function binaryFrame(bytes: Uint8Array): Buffer {
  return frame(OP_BINARY, toBuffer(bytes));
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * One message in one wire shape, framed at most twice: plain, and compressed for the clients that
 * negotiated permessage-deflate. Each variant is built the first time a subscriber needs it, so a
 * channel without compressing clients never pays for deflate, and one without plain clients never
 * copies the plain frame.
 */
export class OutboundFrames {
  private plainFrame: Buffer | undefined;
  /** undefined: not tried yet; null: not compressed (too small, or deflate did not shrink it). */
  private deflated: Buffer | null | undefined;

  constructor(
    private readonly payload: Buffer,
    private readonly binary: boolean,
    private readonly minBytes: number,
    /** Called once per compressed frame built (the metric of compressions). */
    private readonly onDeflate: () => void,
  ) {}

  static text(text: string, minBytes: number, onDeflate: () => void): OutboundFrames {
    return new OutboundFrames(Buffer.from(text, 'utf8'), false, minBytes, onDeflate);
  }

  static binary(bytes: Uint8Array, minBytes: number, onDeflate: () => void): OutboundFrames {
    return new OutboundFrames(toBuffer(bytes), true, minBytes, onDeflate);
  }

  /** The frame for a client: compressed when it negotiated the extension and compressing pays. */
  for(deflate: boolean): Buffer {
    if (deflate) {
      if (this.deflated === undefined) {
        const body = this.payload.length >= this.minBytes ? deflateMessage(this.payload) : undefined;
        if (body === undefined) {
          this.deflated = null;
        } else {
          this.deflated = frame(this.binary ? OP_BINARY : OP_TEXT, body, true);
          this.onDeflate();
        }
      }
      if (this.deflated !== null) return this.deflated;
    }
    return (this.plainFrame ??= frame(this.binary ? OP_BINARY : OP_TEXT, this.payload));
  }
}
