/**
 * One client connection: its grant, subscriptions, limits and outbound queue.
 *
 * Outbound frames are complete WebSocket frames (see framing.ts) written straight to the TCP
 * socket. Frames queued for one socket within one event-loop turn are written together with
 * cork/uncork, which Node turns into a single writev(2): under load one system call carries many
 * messages, while a lone message still leaves on the next turn. Writing around `ws`'s Sender is
 * safe because the gateway disables permessage-deflate (the Sender then writes synchronously and
 * keeps no queue of its own) and never fragments.
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
  closing = false;
  expiryTimer: NodeJS.Timeout | undefined;
  /** On the shared flusher's list for this turn (an eager flush leaves it there). */
  scheduled = false;

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

  /** Queues one complete frame for this turn's flush. */
  send(frame: Buffer): SendResult {
    if (this.closing) return 'dropped';
    if (this.bufferedBytes + frame.length > this.maxBufferedBytes) return 'overflow';
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

  /** Drops whatever is queued and not yet written (used before closing a slow consumer). */
  discardQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }
}
