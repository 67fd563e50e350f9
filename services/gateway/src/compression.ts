/**
 * permessage-deflate (RFC 7692) the way a fan-out server needs it: negotiated by `ws`, but with no
 * zlib state on any connection.
 *
 * - Outbound, the gateway never lets `ws` compress (it writes pre-built frames around ws's Sender,
 *   see conn.ts); framing.ts compresses each broadcast once. `server_no_context_takeover` is always
 *   in the response, so that one compressed message is valid for every client.
 * - Inbound, `ws` would give every socket its own `zlib.InflateRaw` on the first compressed frame
 *   and keep it for the connection's life (`*_no_context_takeover` only resets it), about 40 KB
 *   each: browsers compress every frame once the extension is on, the keep-alive ping included.
 *   `client_no_context_takeover` in the response makes every client message a deflate stream of
 *   its own, so {@link InflatePool} inflates them with short-lived contexts, a few at a time,
 *   shared by all sockets.
 */
import { constants, inflateRaw } from 'node:zlib';
import type { PerMessageDeflateOptions, WebSocket } from 'ws';
import type { CompressionSettings } from './config.js';
import type { GatewayMetrics } from './metrics.js';

const EXTENSION = 'permessage-deflate';
/** The window the gateway compresses with (framing.ts); a client must accept it. */
const SERVER_WINDOW_BITS = 15;
/** The sync-flush tail every message lost on the wire (RFC 7692 §7.2.2). */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/**
 * Inflates running at once. zlib runs on libuv's thread pool (4 threads by default, shared with
 * fs and dns), so this bounds the threads client frames can take and the zlib contexts alive at
 * any time; the rest wait in a queue holding only their compressed bytes, one message per socket
 * at most (ws reads no further from a socket while its message inflates).
 */
export const INFLATE_CONCURRENCY = 2;

/** ws's options for the extension, or false when it is off. */
export function deflateOptions(settings: CompressionSettings): PerMessageDeflateOptions | false {
  if (!settings.enabled) return false;
  return {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    // Never reached: the gateway does not send through ws (and a frame ws would send, a close
    // frame, is a control frame and never compressed). Infinity documents that ws never deflates.
    threshold: Infinity,
  };
}

/** The part of ws's PerMessageDeflate instance the pool replaces (ws 8, lib/permessage-deflate.js). */
interface WsDeflate {
  params: Record<string, unknown> | null;
  decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
  /** Compressed fragments of a message still arriving (only while one does). */
  [kParts]?: Buffer[];
}

/** ws's Receiver, for the one method the pool uses: its errors carry the close code ws sends. */
interface WsReceiver {
  createError(
    ctor: ErrorConstructor | RangeErrorConstructor,
    message: string,
    prefix: boolean,
    statusCode: number,
    errorCode: string,
  ): Error;
}

const kParts = Symbol('wsgw.deflate.parts');

function extensionOf(ws: WebSocket): WsDeflate | undefined {
  return (ws as unknown as { _extensions: Record<string, WsDeflate | undefined> })._extensions[EXTENSION];
}

/**
 * Whether compressed frames may go to this socket: it negotiated the extension and did not limit
 * the server's window below the one the gateway compresses with (RFC 7692 §7.1.2.1; such a client
 * is sent plain frames, which the RFC always allows).
 */
export function deflateNegotiated(ws: WebSocket): boolean {
  const params = extensionOf(ws)?.params;
  if (params == null) return false;
  const bits = params.server_max_window_bits;
  return typeof bits !== 'number' || bits >= SERVER_WINDOW_BITS;
}

interface Job {
  readonly data: Buffer;
  readonly done: (err: Error | null, out?: Buffer) => void;
}

/** Inflates every socket's compressed frames, {@link INFLATE_CONCURRENCY} at a time. */
export class InflatePool {
  private running = 0;
  private readonly queue: Job[] = [];

  constructor(
    /** The largest inflated message (WSGW_MAX_PAYLOAD_BYTES). */
    private readonly maxBytes: number,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Pending inflates (for tests and diagnostics). */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Takes over a freshly upgraded socket's inflating, if it negotiated the extension. ws's own
   * per-socket inflater is then never created.
   */
  attach(ws: WebSocket): void {
    const ext = extensionOf(ws);
    if (ext === undefined) return;
    const receiver = (ws as unknown as { _receiver: WsReceiver })._receiver;
    ext.decompress = (data, fin, cb) => this.fragment(ext, receiver, data, fin, cb);
  }

  private fragment(
    ext: WsDeflate,
    receiver: WsReceiver,
    data: Buffer,
    fin: boolean,
    cb: (err: Error | null, out?: Buffer) => void,
  ): void {
    // Fragments of one message form one deflate stream: keep them until the last one (ws has
    // already bounded their compressed total by the max payload).
    if (!fin) {
      (ext[kParts] ??= []).push(data);
      // ws expects the answer asynchronously, as zlib would give it.
      process.nextTick(cb, null, EMPTY);
      return;
    }
    const parts = ext[kParts];
    ext[kParts] = undefined;
    const whole = parts === undefined ? data : Buffer.concat([...parts, data]);
    this.run({
      data: whole,
      done: (err, out) => {
        if (err === null) {
          this.metrics.tallies.inflatedFrames++;
          cb(null, out);
          return;
        }
        const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        this.metrics.inflateFailures.inc({ reason: tooLarge ? 'too_large' : 'bad_data' });
        cb(
          tooLarge
            ? receiver.createError(
                RangeError,
                'Max payload size exceeded',
                false,
                1009,
                'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
              )
            : receiver.createError(Error, 'invalid compressed data', true, 1007, 'WSGW_ERR_INFLATE'),
        );
      },
    });
  }

  private run(job: Job): void {
    if (this.running >= INFLATE_CONCURRENCY) {
      this.queue.push(job);
      return;
    }
    this.running++;
    // A context of its own per message: nothing outlives it, and a stream that failed cannot
    // poison the next message. zlib stops at maxOutputLength, so a bomb costs at most
    // maxBytes (plus one output chunk) before it is refused.
    inflateRaw(
      job.data.length === 0 ? TRAILER : Buffer.concat([job.data, TRAILER]),
      { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: this.maxBytes },
      (err, out) => {
        this.running--;
        const next = this.queue.shift();
        if (next !== undefined) this.run(next);
        job.done(err, out);
      },
    );
  }
}

const EMPTY = Buffer.alloc(0);
