/**
 * permessage-deflate (RFC 7692) the way a fan-out server needs it: no zlib state on any connection.
 *
 * - Negotiated by the gateway (deflate-offer.ts), not by `ws`, which is told nothing about the
 *   extension; {@link InflatePool.attach} then gives the socket the extension object ws's Receiver
 *   and Sender look for.
 * - Outbound, the gateway never lets `ws` compress (it writes pre-built frames around ws's Sender,
 *   see conn.ts); framing.ts compresses each broadcast once. `server_no_context_takeover` is always
 *   in the response, so that one compressed message is valid for every client.
 * - Inbound, `ws` would give every socket its own `zlib.InflateRaw` on the first compressed frame
 *   and keep it for the connection's life (`*_no_context_takeover` only resets it), about 40 KB
 *   each: browsers compress every frame once the extension is on, the keep-alive ping included.
 *   `client_no_context_takeover` in the response makes every client message a deflate stream of
 *   its own, so small ones are inflated on the spot (inflate-inline.ts) and the rest by
 *   {@link InflatePool} with a few zlib streams shared by every socket, reset between messages.
 */
import { constants, createInflateRaw, type InflateRaw } from 'node:zlib';
import type { WebSocket } from 'ws';
import type { GatewayMetrics } from './metrics.js';
import { INLINE_INFLATE_MAX_BYTES, inflateInline } from './inflate-inline.js';
import { EXTENSION, type DeflateParams } from './deflate-offer.js';

/** The window the gateway compresses with (framing.ts); a client must accept it. */
const SERVER_WINDOW_BITS = 15;
/** The sync-flush tail every message lost on the wire (RFC 7692 §7.2.2). */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/**
 * Inflaters, and so inflates running at once. zlib runs on libuv's thread pool (4 threads by
 * default, shared with fs and dns), so this bounds the threads client frames can take and the
 * zlib contexts alive (these, for the life of the process); the rest wait in a queue holding only
 * their compressed bytes, one message per socket at most (ws reads no further from a socket while
 * its message inflates).
 */
export const INFLATE_CONCURRENCY = 2;

/** What ws reads from a socket's extension object (ws 8: lib/receiver.js, sender.js, websocket.js). */
interface WsExtension {
  params: DeflateParams | null;
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

/**
 * ws's per-socket extension container: one object shared by the WebSocket, its Receiver and its
 * Sender (`ws._extensions`, handed to both in `setSocket`), so one assignment reaches all three.
 */
type Extensions = Record<string, WsExtension | undefined>;

function extensionsOf(ws: WebSocket): Extensions {
  return (ws as unknown as { _extensions: Extensions })._extensions;
}

function extensionOf(ws: WebSocket): WsExtension | undefined {
  return extensionsOf(ws)[EXTENSION];
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
  /** The whole compressed message, trailer appended. */
  readonly data: Buffer;
  readonly done: (err: Error | null, out?: Buffer) => void;
}

/** Inflates every socket's compressed frames, {@link INFLATE_CONCURRENCY} at a time. */
export class InflatePool {
  private readonly idle: Inflater[] = Array.from({ length: INFLATE_CONCURRENCY }, () => new Inflater());
  private readonly queue: Job[] = [];

  constructor(
    /** The largest inflated message (WSGW_MAX_PAYLOAD_BYTES). */
    private readonly maxBytes: number,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * Takes over inflating for a freshly upgraded socket that negotiated the extension
   * (deflate-offer.ts): ws, which was not asked to negotiate, gets a {@link SocketInflate} of a few
   * fields as the socket's extension object, so its Receiver accepts compressed frames and hands
   * them here, and no per-socket zlib stream is ever created.
   */
  attach(ws: WebSocket, params: DeflateParams): void {
    const receiver = (ws as unknown as { _receiver: WsReceiver })._receiver;
    extensionsOf(ws)[EXTENSION] = new SocketInflate(this, receiver, params);
  }

  /**
   * Inflates one whole message (its compressed parts, in order) for `receiver`'s socket: small ones
   * on the spot (inflate-inline.ts), the rest on the pool's zlib streams. `cb` is always called
   * asynchronously, as ws expects of an inflater (its Receiver resumes its read loop there).
   */
  inflateMessage(
    receiver: WsReceiver,
    parts: readonly Buffer[],
    cb: (err: Error | null, out?: Buffer) => void,
  ): void {
    let compressed = 0;
    for (const part of parts) compressed += part.length;
    if (compressed <= INLINE_INFLATE_MAX_BYTES) {
      const result = inflateInline(parts, this.maxBytes);
      if (result.ok) {
        this.metrics.tallies.inflatedFrames++;
        process.nextTick(cb, null, result.data);
      } else process.nextTick(cb, this.failure(receiver, result.reason));
      return;
    }
    // A copy with the trailer, made now: the last part is a view into the socket's read buffer
    // (commonly 64 KiB, shared with other frames), which a waiting job would otherwise keep alive.
    const whole = Buffer.concat([...parts, TRAILER]);
    this.run({
      data: whole,
      done: (err, out) => {
        if (err === null) {
          this.metrics.tallies.inflatedFrames++;
          cb(null, out);
          return;
        }
        const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        cb(this.failure(receiver, tooLarge ? 'too_large' : 'bad_data'));
      },
    });
  }

  /** Counts a message that failed to inflate and makes the error ws closes the socket with. */
  private failure(receiver: WsReceiver, reason: 'too_large' | 'bad_data'): Error {
    this.metrics.inflateFailures.inc({ reason });
    return reason === 'too_large'
      ? receiver.createError(
          RangeError,
          'Max payload size exceeded',
          false,
          1009,
          'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
        )
      : receiver.createError(Error, 'invalid compressed data', true, 1007, 'WSGW_ERR_INFLATE');
  }

  private run(job: Job): void {
    const inflater = this.idle.pop();
    if (inflater === undefined) this.queue.push(job);
    else this.runOn(inflater, job);
  }

  private runOn(inflater: Inflater, job: Job): void {
    inflater.inflate(job.data, this.maxBytes, (err, out) => {
      const next = this.queue.shift();
      if (next === undefined) this.idle.push(inflater);
      else this.runOn(inflater, next);
      job.done(err, out);
    });
  }
}

/**
 * A socket's permessage-deflate extension as ws sees it (ws calls `decompress` for every compressed
 * frame and `cleanup` on close). The methods live on the prototype and the params object is shared
 * (deflate-offer.ts), so a socket pays for one small object; compressed fragments of a message
 * still arriving are the only per-socket state, and only while one does.
 */
class SocketInflate implements WsExtension {
  private parts: Buffer[] | undefined = undefined;

  constructor(
    private readonly pool: InflatePool,
    private readonly receiver: WsReceiver,
    readonly params: DeflateParams,
  ) {}

  /**
   * What ws's Sender reads before compressing a message of its own (`ws.send`, which the gateway
   * never calls): with no context takeover it compresses above this threshold, so never.
   */
  get _threshold(): number {
    return Infinity;
  }

  get _isServer(): boolean {
    return true;
  }

  decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void {
    // Fragments of one message form one deflate stream: keep them until the last one (ws has
    // already bounded their compressed total by the max payload).
    if (!fin) {
      (this.parts ??= []).push(Buffer.from(data));
      // ws expects the answer asynchronously, as zlib would give it.
      process.nextTick(cb, null, EMPTY);
      return;
    }
    const parts = this.parts;
    this.parts = undefined;
    if (parts === undefined) this.pool.inflateMessage(this.receiver, [data], cb);
    else {
      parts.push(data);
      this.pool.inflateMessage(this.receiver, parts, cb);
    }
  }

  /** The socket closed: drop a message cut short. There is no zlib state to release. */
  cleanup(): void {
    this.parts = undefined;
  }
}

interface InflateJob {
  readonly limit: number;
  readonly done: (err: Error | null, out?: Buffer) => void;
  chunks: Buffer[];
  total: number;
  settled: boolean;
}

/**
 * One reusable raw-inflate stream: reset between messages (every message is a stream of its own
 * without context takeover), replaced after a failure. Reusing it, rather than a zlib context per
 * message, keeps the allocator from churning 40 KB of zlib state per message, which left the
 * process's memory fragmented when thousands of sockets sent their first frame at once.
 */
class Inflater {
  private z: InflateRaw | undefined;
  private job: InflateJob | undefined;

  inflate(data: Buffer, limit: number, done: (err: Error | null, out?: Buffer) => void): void {
    const z = (this.z ??= this.open());
    const job: InflateJob = { limit, done, chunks: [], total: 0, settled: false };
    this.job = job;
    // One write, flushed (the stream's flush flag): one trip through libuv's thread pool per
    // message rather than a write and a flush, so a message's bookkeeping lives half as long.
    z.write(data, (err) => {
      if (job.settled) return;
      if (err != null) {
        // The stream failed (its 'error' handler may not have run yet): never reuse it.
        if (this.z === z) this.z = undefined;
        this.settle(job, err);
        return;
      }
      // Ready for the next message, which starts a deflate stream of its own (before settling:
      // settling may hand this inflater the next message at once).
      z.reset();
      this.settle(job, null, Buffer.concat(job.chunks, job.total));
    });
  }

  private open(): InflateRaw {
    const z = createInflateRaw({ windowBits: 15, flush: constants.Z_SYNC_FLUSH });
    z.on('data', (chunk: Buffer) => {
      const job = this.job;
      if (job === undefined || job.settled || this.z !== z) return;
      job.total += chunk.length;
      if (job.total <= job.limit) {
        job.chunks.push(chunk);
        return;
      }
      // A bomb: stop here, before more memory is spent, and start over with a fresh stream.
      this.discard(z);
      this.settle(
        job,
        Object.assign(new RangeError(`inflated message exceeds ${job.limit} bytes`), {
          code: 'ERR_BUFFER_TOO_LARGE',
        }),
      );
    });
    z.on('error', (err: Error) => {
      // zlib closes a stream that failed; the next message gets a new one.
      if (this.z === z) this.z = undefined;
      const job = this.job;
      if (job !== undefined && !job.settled) this.settle(job, err);
    });
    return z;
  }

  private discard(z: InflateRaw): void {
    if (this.z === z) this.z = undefined;
    z.removeAllListeners('data');
    z.removeAllListeners('error');
    z.on('error', noop);
    z.close();
  }

  private settle(job: InflateJob, err: Error | null, out?: Buffer): void {
    job.settled = true;
    job.chunks = [];
    if (this.job === job) this.job = undefined;
    job.done(err, out);
  }
}

function noop(): void {}

const EMPTY = Buffer.alloc(0);
