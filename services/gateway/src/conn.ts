/**
 * One client connection: its grant, subscriptions, limits and outbound queue.
 *
 * Outbound frames are complete WebSocket frames (see framing.ts) written straight to the TCP
 * socket. Frames queued for one socket within one event-loop turn are written together with
 * cork/uncork, which Node turns into a single writev(2): under load one system call carries many
 * messages, while a lone message still leaves on the next turn. Writing around `ws`'s Sender is
 * safe because the gateway never sends data through it, so it never compresses (compressing is
 * what would make it queue; the gateway compresses in framing.ts instead) and writes its close
 * frames synchronously, and the gateway never fragments.
 *
 * Backpressure is policy: when the bytes waiting for a socket (kernel-refused bytes in Node's
 * buffer plus this queue) would pass `maxBufferedBytes`, the connection is closed with 4008
 * instead of letting memory grow.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Grant } from './auth.js';
import type { TokenBucket } from './rate-limit.js';

/** Result of {@link Conn.send}. */
export type SendResult =
  | 'queued'
  /** The connection is closing; the frame was not queued. */
  | 'dropped'
  /** The frame would overflow the outbound buffer; the caller closes the connection as slow. */
  | 'overflow';

/**
 * Past this many queued bytes a connection is flushed at once instead of at the end of the turn:
 * a burst larger than the socket's share of memory should reach the kernel (which may well take
 * it), not sit in the queue and count against the slow-consumer limit.
 */
const EAGER_FLUSH_BYTES = 64 * 1024;

let dirty: Conn[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  const list = dirty;
  dirty = [];
  for (const c of list) {
    c.scheduled = false;
    c.flush();
  }
}

export class Conn {
  /** Channels this connection is subscribed to. */
  readonly subs = new Set<string>();
  /** Set by the heartbeat sweep, cleared by a pong. */
  awaitingPong = false;
  /** `performance.now()` of the last frame received from the client. */
  lastActivity: number;
  /** Consecutive frames refused by the rate limiter. */
  strikes = 0;
  /** Set by {@link close}, {@link terminate} and {@link closed}; a closing connection takes no frames. */
  closing = false;
  expiryTimer: NodeJS.Timeout | undefined;
  /** On the shared flusher's list for this turn (an eager flush leaves it there). */
  scheduled = false;
  /** Negotiated permessage-deflate: takes compressed frames (compression.ts). */
  deflate = false;

  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private readonly socket: Duplex;

  constructor(
    readonly ws: WebSocket,
    /** True for the `wsgw.v1.proto` subprotocol, false for JSON. */
    readonly proto: boolean,
    readonly grant: Grant,
    readonly bucket: TokenBucket,
    private readonly maxBufferedBytes: number,
    now: number,
  ) {
    this.lastActivity = now;
    // `_socket` is the net.Socket ws wraps; documented in ws as internal, stable across v8.
    this.socket = (ws as unknown as { _socket: Duplex })._socket;
  }

  /** Bytes waiting to reach the client: Node's socket buffer plus this turn's queue. */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.queuedBytes;
  }

  /**
   * Queues one complete frame for this turn's flush. A frame that would pass the limit first
   * hands what is queued to the kernel; only bytes the kernel refused count against a client, and
   * a frame is always let through an empty buffer, so one large message (a recovery replaying it
   * included) can never close a client that keeps up.
   */
  send(frame: Buffer): SendResult {
    if (this.closing) return 'dropped';
    if (this.bufferedBytes > 0 && this.bufferedBytes + frame.length > this.maxBufferedBytes) {
      if (this.queuedBytes > 0) this.flush();
      const refused = this.socket.writableLength;
      if (refused > 0 && refused + frame.length > this.maxBufferedBytes) return 'overflow';
    }
    if (!this.scheduled) {
      this.scheduled = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (this.queuedBytes >= EAGER_FLUSH_BYTES) this.flush();
    return 'queued';
  }

  /** Writes everything queued in one writev. Called by the shared flusher. */
  flush(): void {
    const q = this.queue;
    if (q.length === 0) return;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.closing || this.socket.destroyed) return;
    if (q.length === 1) {
      this.socket.write(q[0]!);
      return;
    }
    this.socket.cork();
    for (const f of q) this.socket.write(f);
    this.socket.uncork();
  }

  /**
   * Starts the close handshake. What is queued leaves first (acks, errors and messages of this
   * very turn), then the close frame; `discard` drops the queue instead (a slow consumer). The
   * socket is terminated if the peer has not finished the handshake within `graceMs`.
   * Returns false when the connection was already closing.
   *
   *     open ──close()──► closing ──peer's close / graceMs──► closed
   *     open ──terminate()─────────────────────────────────► closed
   */
  close(code: number, reason: string, opts: { discard?: boolean; graceMs?: number } = {}): boolean {
    if (this.closing) return false;
    if (opts.discard) this.discardQueue();
    else this.flush();
    this.closing = true;
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), opts.graceMs ?? 5_000).unref();
    return true;
  }

  /**
   * Ends the connection at once, without a close frame (a dead peer, or a close handshake that a
   * stop cannot wait for). Returns false when it was already closing.
   */
  terminate(): boolean {
    const first = !this.closing;
    this.closing = true;
    this.ws.terminate();
    return first;
  }

  /** The socket is gone: nothing more is queued or written, timers are cleared. */
  closed(): void {
    this.closing = true;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.discardQueue();
  }

  private discardQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }
}
