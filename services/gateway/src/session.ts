/**
 * Sessions: every open connection and what it says. A frame from a client is rate-checked,
 * decoded and answered here (`sub` with recovery, `unsub`, `pub`, `ping`); connections are closed
 * here (gently, as slow consumers, at token expiry, when idle or dead) and forgotten when their
 * socket goes.
 *
 * Per-socket listeners are shared functions (the connection hangs off the socket under a symbol),
 * so a connection costs its state and not a set of closures.
 */
import type { WebSocket, RawData } from 'ws';
import type { GatewayConfig } from './config.js';
import { Conn } from './conn.js';
import { msgFrame, type Hub } from './hub.js';
import type { History } from './history.js';
import type { Progress } from './progress.js';
import type { Publisher } from './publisher.js';
import { LogSampler } from './log-sampler.js';
import { closeLabel, type GatewayMetrics } from './metrics.js';
import { TokenBucket } from './rate-limit.js';
import type { Grant } from './auth.js';
import { busFailureCode } from './errors.js';
import type { Logger } from './logger.js';
import { textFrame, binaryFrame } from './framing.js';
import { deflateNegotiated } from './compression.js';
import { channelProblem } from '../../shared/src/channel.js';
import { CLOSE_CODES, SUBPROTOCOLS } from '../../shared/src/constants.js';
import { ERRORS, type FrameErrorCode } from '../../shared/src/errors.js';
import type { ContentType } from '../../shared/src/envelope.js';
import { withSync } from '../../shared/src/sync.js';
import {
  FrameError,
  decodeClientJson,
  decodeClientProto,
  encodeAckJson,
  encodeAckProto,
  encodeSubAckJson,
  encodeSubAckProto,
  encodeErrorJson,
  encodeErrorProto,
  encodePongJson,
  encodePongProto,
  type ClientOp,
  type Position,
} from '../../shared/src/frames.js';

const kConn = Symbol('wsgw.conn');
type Socket = WebSocket & { [kConn]?: Conn };

/** A ping control frame with no payload, pre-framed so heartbeats join the coalesced writes. */
const PING_FRAME = Buffer.from([0x89, 0x00]);

/** Longest delay Node's timers accept. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SessionDeps {
  readonly config: Pick<GatewayConfig, 'limits' | 'timing'>;
  readonly hub: Hub;
  readonly history: History;
  readonly progress: Progress;
  readonly publisher: Publisher;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
}

export class Sessions {
  private readonly conns = new Set<Conn>();
  /** Recoveries that could not be vouched for: one log line per interval, with counts. */
  readonly gaps: LogSampler;

  constructor(private readonly d: SessionDeps) {
    this.gaps = new LogSampler(d.log, 'recovery not possible (reason origin: count)');
  }

  get size(): number {
    return this.conns.size;
  }

  /** The open connections (a copy). */
  list(): Conn[] {
    return [...this.conns];
  }

  /** Takes an upgraded socket as a session. */
  accept(ws: Socket, grant: Grant): void {
    const { limits } = this.d.config;
    const now = performance.now();
    const conn = new Conn(
      ws,
      ws.protocol === SUBPROTOCOLS.proto,
      grant,
      new TokenBucket(limits.rateLimitPerSec, limits.rateLimitBurst, now),
      limits.maxBufferedBytes,
      now,
    );
    conn.deflate = deflateNegotiated(ws);
    ws[kConn] = conn;
    this.conns.add(conn);
    ws.on('message', this.onMessage);
    ws.on('pong', onPong);
    ws.on('close', this.onClose);
    ws.on('error', noop);
    if (grant.expiresAt !== undefined) this.armExpiry(conn, grant.expiresAt);
  }

  private armExpiry(conn: Conn, expiresAt: number): void {
    const delay = expiresAt - Date.now();
    conn.expiryTimer = setTimeout(
      () => {
        if (Date.now() >= expiresAt) this.close(conn, CLOSE_CODES.tokenExpired, 'token expired');
        else this.armExpiry(conn, expiresAt);
      },
      Math.min(Math.max(0, delay), MAX_TIMER_MS),
    );
    conn.expiryTimer.unref();
  }

  // ------------------------------------------------------------------ frames from clients

  private readonly onMessage = (function (s: Sessions) {
    return function (this: Socket, data: RawData, isBinary: boolean): void {
      const conn = this[kConn];
      if (conn === undefined) return;
      try {
        s.handle(conn, data as Buffer, isBinary);
      } catch (err) {
        // A bug in frame handling costs this connection, not the process.
        s.d.metrics.internalErrors.inc({ where: 'frame' });
        s.d.log.error({ err }, 'frame handling failed: closing the connection');
        s.close(conn, CLOSE_CODES.internalError, 'internal error');
      }
    };
  })(this);

  private readonly onClose = (function (s: Sessions) {
    return function (this: Socket, code: number): void {
      const conn = this[kConn];
      if (conn !== undefined) s.forget(conn, code);
    };
  })(this);

  /** Handles one client frame. Every failure becomes an `error` frame or a close. */
  handle(conn: Conn, data: Buffer, isBinary: boolean): void {
    const { metrics, config } = this.d;
    metrics.tallies.messagesIn++;
    metrics.tallies.bytesIn += data.length;
    const now = performance.now();
    conn.lastActivity = now;
    if (conn.closing) return;
    if (!conn.bucket.take(now)) {
      // Refused before parsing: a flood costs one token check per frame.
      if (++conn.strikes > config.limits.rateLimitStrikes)
        this.close(conn, CLOSE_CODES.rateLimited, 'rate limit exceeded');
      else this.sendError(conn, undefined, 'rate_limited');
      return;
    }
    conn.strikes = 0;
    let op: ClientOp;
    try {
      if (conn.proto) {
        if (!isBinary) throw new FrameError('bad_frame', `text frames are not part of ${SUBPROTOCOLS.proto}`);
        op = decodeClientProto(data);
      } else {
        if (isBinary) throw new FrameError('bad_frame', `binary frames are not part of ${SUBPROTOCOLS.json}`);
        op = decodeClientJson(data.toString('utf8'));
      }
    } catch (err) {
      if (err instanceof FrameError) this.sendError(conn, err.id, err.code, err.message);
      else this.sendError(conn, undefined, 'bad_frame');
      return;
    }
    switch (op.op) {
      case 'ping': {
        // The pong carries the sync point: every message it covers was queued on this socket
        // before it, so once the client reads the pong it holds them (progress.ts).
        const sync = this.d.progress.sync();
        this.send(
          conn,
          conn.proto ? binaryFrame(encodePongProto(op.id, sync)) : textFrame(encodePongJson(op.id, sync)),
        );
        return;
      }
      case 'sub':
        return this.subscribe(conn, op.id, op.ch, op.since);
      case 'unsub': {
        const bad = channelProblem(op.ch);
        if (bad !== undefined) return this.sendError(conn, op.id, 'bad_channel', bad);
        this.d.hub.unsubscribe(conn, op.ch);
        return this.sendAck(conn, op.id);
      }
      case 'pub':
        return this.publish(conn, op.id, op.ch, op.contentType, op.payload, op.mid);
    }
  }

  /**
   * Subscribes, recovering first when the client hands back a position: the messages it missed go
   * out before the ack, live ones after it. Both happen in this turn, with the subscription added,
   * so nothing falls between history and live delivery.
   */
  private subscribe(conn: Conn, id: number | undefined, ch: string, since: Position | undefined): void {
    const { hub, history, metrics, config } = this.d;
    const bad = channelProblem(ch);
    if (bad !== undefined) return this.sendError(conn, id, 'bad_channel', bad);
    if (!conn.grant.canSubscribe(ch))
      return this.sendError(conn, id, 'forbidden', `token does not allow subscribing to ${ch}`);
    if (hub.subscribe(conn, ch) === 'limit') {
      return this.sendError(
        conn,
        id,
        'too_many_subscriptions',
        `at most ${config.limits.maxSubscriptions} subscriptions per connection`,
      );
    }
    let recovered: boolean | undefined;
    if (since !== undefined) {
      const r = history.recover(ch, since);
      recovered = r.recovered;
      metrics.recoveries.inc({ outcome: r.recovered ? 'recovered' : r.reason });
      if (r.recovered) {
        for (const m of r.messages) {
          const frame = msgFrame(m, conn.proto);
          if (frame !== undefined) this.send(conn, frame);
        }
      } else {
        this.gaps.note(r.reason, r.origin);
      }
    }
    if (id === undefined || conn.closing) return;
    // The newest id per origin, and the sync point: the client is owed everything after both.
    const pos = withSync(history.position(ch), this.d.progress.sync());
    this.send(
      conn,
      conn.proto
        ? binaryFrame(encodeSubAckProto(id, pos, recovered))
        : textFrame(encodeSubAckJson(id, pos, recovered)),
    );
  }

  private publish(
    conn: Conn,
    id: number | undefined,
    ch: string,
    contentType: ContentType,
    payload: Uint8Array,
    mid: string | undefined,
  ): void {
    const bad = channelProblem(ch);
    if (bad !== undefined) return this.sendError(conn, id, 'bad_channel', bad);
    if (!conn.grant.canPublish(ch))
      return this.sendError(conn, id, 'forbidden', `token does not allow publishing to ${ch}`);
    this.d.publisher.publish(ch, contentType, payload, mid).then(
      () => this.sendAck(conn, id),
      (err: unknown) => this.sendError(conn, id, busFailureCode(err) ?? 'internal'),
    );
  }

  // ------------------------------------------------------------------ frames to clients

  private send(conn: Conn, frame: Buffer): void {
    if (conn.send(frame) === 'overflow') this.closeSlow(conn);
  }

  private sendAck(conn: Conn, id: number | undefined): void {
    if (id === undefined || conn.closing) return;
    this.send(conn, conn.proto ? binaryFrame(encodeAckProto(id)) : textFrame(encodeAckJson(id)));
  }

  private sendError(
    conn: Conn,
    id: number | undefined,
    code: FrameErrorCode,
    message: string = ERRORS[code].message,
  ): void {
    this.d.metrics.errors.inc({ code });
    if (conn.closing) return;
    this.send(
      conn,
      conn.proto
        ? binaryFrame(encodeErrorProto(id, code, message))
        : textFrame(encodeErrorJson(id, code, message)),
    );
  }

  // ------------------------------------------------------------------ closing

  /** Closes a connection with a close frame; it is terminated if the peer does not finish the handshake in time. */
  close(conn: Conn, code: number, reason: string): void {
    if (!conn.close(code, reason)) return;
    this.d.metrics.closes.inc({ code: closeLabel(code) });
    // A closing connection takes no more messages: leave the channels now, not at the handshake's end.
    this.d.hub.removeAll(conn);
  }

  /**
   * A slow consumer's queue is discarded and its socket closed with 4008; the close frame is queued
   * behind what the kernel has not taken yet, and the socket is destroyed shortly after, so memory
   * stays bounded whatever the client does.
   */
  closeSlow(conn: Conn): void {
    if (!conn.close(CLOSE_CODES.slowConsumer, 'slow consumer', { discard: true, graceMs: 1_000 })) return;
    this.d.hub.removeAll(conn);
    this.d.metrics.closes.inc({ code: closeLabel(CLOSE_CODES.slowConsumer) });
  }

  private forget(conn: Conn, code: number): void {
    if (!this.conns.delete(conn)) return;
    if (!conn.closing) this.d.metrics.closes.inc({ code: closeLabel(code) });
    conn.closed();
    this.d.hub.removeAll(conn);
  }

  /** Ends every connection at once (a stop that cannot wait). */
  terminateAll(): void {
    for (const c of [...this.conns]) {
      c.terminate();
      this.forget(c, 1006);
    }
  }

  /** Heartbeat and idle sweep: one timer for all connections. */
  sweep(): void {
    const now = performance.now();
    const {
      idleTimeoutMs: idle,
      pingIntervalMs: interval,
      pingSkipActive: skipActive,
    } = this.d.config.timing;
    for (const conn of this.conns) {
      if (conn.closing) continue;
      // A frame from the client within the interval proves it alive as a pong would; outbound
      // writes prove nothing (a load balancer acknowledges them for a client long gone).
      if (skipActive && now - conn.lastActivity < interval) {
        conn.awaitingPong = false;
        continue;
      }
      if (conn.awaitingPong) {
        // No pong for a whole interval: the peer or the path is dead.
        this.d.metrics.closes.inc({ code: closeLabel('ping_timeout') });
        conn.terminate();
        this.d.hub.removeAll(conn);
        continue;
      }
      if (idle > 0 && now - conn.lastActivity > idle) {
        this.close(conn, CLOSE_CODES.normal, 'idle timeout');
        continue;
      }
      conn.awaitingPong = true;
      this.send(conn, PING_FRAME);
    }
  }
}

function onPong(this: Socket): void {
  const conn = this[kConn];
  if (conn !== undefined) conn.awaitingPong = false;
}

function noop(): void {}
