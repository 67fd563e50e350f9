/**
 * The gateway: an HTTP server that upgrades to WebSocket, one {@link Conn} per client, a {@link Hub}
 * for local fan-out and a {@link Bus} for everything that crosses processes and regions.
 *
 * Life cycle:  new ──start()──► running ──drain()──► draining ──► stopped
 *
 * Per-socket listeners are shared functions (the connection hangs off the socket under a symbol),
 * so a connection costs its state and not a set of closures.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Bus, BusMessage } from './bus/bus.js';
import { BusError } from './bus/bus.js';
import { CLIENT_ID_PREFIX } from './bus/dedup-window.js';
import type { GatewayConfig } from './config.js';
import { Conn } from './conn.js';
import { Hub, msgFrame } from './hub.js';
import { History } from './history.js';
import { Progress } from './progress.js';
import { LogSampler } from './log-sampler.js';
import { withSync } from '../../shared/src/sync.js';
import { LOAD_CHANNEL, Rebalancer, type LoadReport } from './rebalance.js';
import { GatewayMetrics, closeLabel } from './metrics.js';
import { TokenBucket } from './rate-limit.js';
import { AuthError, Authenticator, originAllowed, tokenFrom, type Grant } from './auth.js';
import { channelProblem } from '../../shared/src/channel.js';
import { busFailureCode } from './errors.js';
import { ERRORS, statusOf, type FrameErrorCode, type HttpErrorCode } from '../../shared/src/errors.js';
import { planDrain } from './drain.js';
import { emfLine } from './emf.js';
import { handleHttp, handleMetrics } from './http.js';
import type { Logger } from './logger.js';
import { textFrame, binaryFrame } from './framing.js';
import { CLOSE_CODES, SUBPROTOCOLS } from '../../shared/src/constants.js';
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
import type { ContentType } from '../../shared/src/envelope.js';

const kConn = Symbol('wsgw.conn');
type Socket = WebSocket & { [kConn]?: Conn };

/** A ping control frame with no payload, pre-framed so heartbeats join the coalesced writes. */
const PING_FRAME = Buffer.from([0x89, 0x00]);

/** Longest delay Node's timers accept. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly bus: Bus;
  readonly logger: Logger;
  /** Where EMF lines go; stdout in production. */
  readonly emfSink?: (line: string) => void;
  /** Prometheus registry shared with the bus, so `/metrics` shows both. */
  readonly registry?: Registry;
}

export type GatewayState = 'new' | 'running' | 'draining' | 'stopped';

export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly hub: Hub;
  readonly history: History;
  /** What this gateway has written to its sockets, per origin: the sync point of pongs and acks. */
  readonly progress: Progress;
  private readonly rebalancer: Rebalancer;
  private readonly config: GatewayConfig;
  private readonly bus: Bus;
  /** @internal */
  readonly log: Logger;
  private readonly auth: Authenticator;
  private readonly server: Server;
  private readonly metricsServer: Server;
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<Conn>();
  private readonly emfSink: (line: string) => void;
  private pendingUpgrades = 0;
  private seq = 0;
  private stateValue: GatewayState = 'new';
  private busReady = false;
  private lastProbeOk = false;
  private timers: NodeJS.Timeout[] = [];
  private busStartAttempt: NodeJS.Timeout | undefined;

  constructor(deps: GatewayDeps) {
    this.config = deps.config;
    this.bus = deps.bus;
    this.log = deps.logger;
    this.emfSink = deps.emfSink ?? ((line) => process.stdout.write(line + '\n'));
    this.auth = new Authenticator(this.config.auth);
    this.metrics = new GatewayMetrics({
      connections: () => this.conns.size,
      subscriptions: () => this.hub.subscriptions,
      channels: () => this.hub.channelCount,
    }, deps.registry);
    this.history = new History(this.config.history);
    this.progress = new Progress();
    this.gaps = new LogSampler(this.log, 'recovery not possible (reason origin: count)');
    this.rebalancer = new Rebalancer({ nodeId: this.config.nodeId, region: this.config.region, ...this.config.rebalance });
    this.hub = new Hub({
      maxSubscriptions: this.config.limits.maxSubscriptions,
      metrics: this.metrics,
      onSlowConsumer: (c) => this.closeSlow(c),
      history: this.history,
      progress: this.progress,
      onControl: (msg) => this.onControl(msg),
    });
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.config.limits.maxPayloadBytes,
      // Off on purpose: pre-framed broadcast relies on uncompressed frames, and per-socket zlib
      // contexts would cost far more memory than they save on small messages.
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOLS.proto) ? SUBPROTOCOLS.proto : protocols.has(SUBPROTOCOLS.json) ? SUBPROTOCOLS.json : false),
    });
    // Every entry point contains its own failures: a request that trips a bug is answered (or its
    // socket destroyed) and logged, and the process goes on serving everyone else.
    this.server = createServer((req, res) => {
      handleHttp(this, req, res).catch((err: unknown) => {
        this.metrics.internalErrors.inc({ where: 'http' });
        this.log.error({ err, method: req.method, url: req.url?.slice(0, 200) }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
        else res.destroy();
      });
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket, head).catch((err: unknown) => {
        this.metrics.internalErrors.inc({ where: 'upgrade' });
        this.log.error({ err, url: req.url?.slice(0, 200) }, 'upgrade handler failed');
        this.refuse(socket, 'internal');
      });
    });
    this.metricsServer = createServer((req, res) => {
      handleMetrics(this, req, res).catch((err: unknown) => {
        this.metrics.internalErrors.inc({ where: 'http' });
        this.log.error({ err }, 'metrics handler failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    // Long-lived sockets: no request timeout on upgraded connections; HTTP keep-alive as usual.
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
  }

  get state(): GatewayState {
    return this.stateValue;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Node id of this gateway, as stamped on envelopes. */
  get nodeId(): string {
    return this.config.nodeId;
  }

  get publishKey(): string | undefined {
    return this.config.publishKey;
  }

  /** Whether the public listener serves the demo page. */
  get demoPage(): boolean {
    return this.config.demoPage;
  }

  get maxPayloadBytes(): number {
    return this.config.limits.maxPayloadBytes;
  }

  /**
   * True while this task should receive new connections: running, the bus path works end to end,
   * and the history reaches back far enough for clients arriving from other tasks to recover.
   */
  get ready(): boolean {
    return this.stateValue === 'running' && this.busReady && this.lastProbeOk && this.bus.health().ok && this.warm;
  }

  /**
   * Whether the recovery history has covered `WSGW_HISTORY_WARM_MS` once: the bus has read back
   * what it reads from before the start, and that reaches back far enough (else the gateway has run
   * long enough). A bus that reads nothing back (the memory bus: nothing to read) is warm at once.
   * A start-up gate only: later, heavy traffic may shorten what the byte-bounded history covers,
   * and that must never take a whole fleet out of the load balancer.
   */
  get warm(): boolean {
    if (this.bus.historyWarm === undefined) return true;
    this.warmed ||= this.warmSince !== undefined && Date.now() - this.warmSince >= this.config.history.warmMs;
    return this.warmed;
  }

  private warmed = false;
  /** Recoveries that could not be vouched for: one log line per interval, with counts. */
  private readonly gaps: LogSampler;
  /** Where the bus's read-back began, once it is done. */
  private warmSince: number | undefined;

  /** The bound port (useful with PORT=0). */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : this.config.port;
  }

  /** The bound port of the metrics listener. */
  get metricsPort(): number {
    const a = this.metricsServer.address();
    return typeof a === 'object' && a !== null ? a.port : this.config.metricsPort;
  }

  async start(): Promise<void> {
    if (this.stateValue !== 'new') throw new Error(`cannot start a gateway that is ${this.stateValue}`);
    await listen(this.server, this.config.port, this.config.host);
    await listen(this.metricsServer, this.config.metricsPort, this.config.host).catch(async (err: unknown) => {
      await new Promise((r) => this.server.close(r));
      throw err;
    });
    this.stateValue = 'running';
    // The gateway listens even when the bus is down: /healthz answers, /readyz stays 503 until
    // the bus works, so the load balancer waits instead of the orchestrator restarting us.
    this.startBus(0);
    this.bus.historyWarm
      ?.then((since) => {
        this.warmSince = since;
        this.log.info({ since: new Date(since).toISOString() }, 'history warmed from the bus');
      })
      .catch((err: unknown) => this.log.error({ err }, 'history warm-up failed'));
    const t = this.config.timing;
    this.every(t.pingIntervalMs, () => this.sweep());
    this.every(t.emfIntervalMs, () => this.emitEmf());
    this.every(t.readyProbeIntervalMs, () => this.probeLater());
    // Age eviction must happen even when no traffic arrives to trigger it.
    this.every(10_000, () => {
      this.history.trim();
      this.gaps.flush();
    });
    if (this.config.rebalance.intervalMs > 0) {
      this.every(this.config.rebalance.intervalMs, () => this.reportLoad());
      let last = performance.now();
      this.every(1_000, () => {
        const now = performance.now();
        this.rebalance(now - last);
        last = now;
      });
    }
    this.log.info({ port: this.port, metricsPort: this.metricsPort, region: this.config.region, node: this.config.nodeId, bus: this.config.kafka ? 'kafka' : 'memory' }, 'gateway listening');
  }

  private startBus(attempt: number): void {
    this.bus.start(this.hub).then(
      () => {
        this.busReady = true;
        this.log.info('bus started');
        this.probeLater();
      },
      (err: unknown) => {
        const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.log.error({ err, retryInMs: Math.round(delay) }, 'bus failed to start');
        if (this.stateValue === 'running') this.busStartAttempt = setTimeout(() => this.startBus(attempt + 1), delay);
      },
    );
  }

  private probeLater(): void {
    this.probe().catch((err: unknown) => this.log.error({ err }, 'bus probe failed unexpectedly'));
  }

  private async probe(): Promise<void> {
    if (!this.busReady || this.stateValue !== 'running') return;
    try {
      await this.bus.probe(Math.max(1_000, this.config.timing.readyProbeIntervalMs));
      if (!this.lastProbeOk) this.log.info('bus probe ok: ready');
      this.lastProbeOk = true;
    } catch (err) {
      if (this.lastProbeOk) this.log.warn({ err }, 'bus probe failed: not ready');
      this.lastProbeOk = false;
    }
  }

  /** A timer whose failures are logged, never thrown into the event loop. */
  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.metrics.internalErrors.inc({ where: 'timer' });
        this.log.error({ err }, 'timer task failed');
      }
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  // ------------------------------------------------------------------ upgrade

  private refuse(socket: Duplex, reason: HttpErrorCode, message: string = ERRORS[reason].message): void {
    this.metrics.refused.inc({ reason });
    if (socket.destroyed) return;
    const status = statusOf(reason);
    const body = JSON.stringify({ error: reason, message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n` +
        (status === 503 ? 'Retry-After: 5\r\n' : '') +
        `\r\n${body}`,
    );
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', noop);
    if (this.stateValue !== 'running') return this.refuse(socket, 'draining');
    if (this.conns.size + this.pendingUpgrades >= this.config.limits.maxConnections) {
      return this.refuse(socket, 'max_connections');
    }
    if (!originAllowed(req.headers.origin, this.config.allowedOrigins)) {
      return this.refuse(socket, 'origin', `origin ${String(req.headers.origin).slice(0, 200)} is not allowed`);
    }
    // Copy what we need out of the request before the await: the socket may go away meanwhile.
    // Any path is accepted; only the query is read, and reading it cannot throw.
    const token = tokenFrom(req.url, req.headers.authorization);
    this.pendingUpgrades++;
    let grant: Grant;
    try {
      grant = await this.auth.authenticate(token);
    } catch (err) {
      const e = err instanceof AuthError ? err : new AuthError('token_invalid', String(err));
      return this.refuse(socket, e.code, e.message);
    } finally {
      this.pendingUpgrades--;
    }
    if (socket.destroyed) return;
    if (grant.expiresAt !== undefined && grant.expiresAt <= Date.now()) return this.refuse(socket, 'token_expired');
    if (this.stateValue !== 'running') return this.refuse(socket, 'draining');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws as Socket, grant));
  }

  private accept(ws: Socket, grant: Grant): void {
    const { limits } = this.config;
    const now = performance.now();
    const conn = new Conn(ws, ws.protocol === SUBPROTOCOLS.proto, grant, new TokenBucket(limits.rateLimitPerSec, limits.rateLimitBurst, now), limits.maxBufferedBytes, now);
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
    conn.expiryTimer = setTimeout(() => {
      if (Date.now() >= expiresAt) this.close(conn, CLOSE_CODES.tokenExpired, 'token expired');
      else this.armExpiry(conn, expiresAt);
    }, Math.min(Math.max(0, delay), MAX_TIMER_MS));
    conn.expiryTimer.unref();
  }

  // ------------------------------------------------------------------ frames from clients

  private readonly onMessage = (function (gw: Gateway) {
    return function (this: Socket, data: RawData, isBinary: boolean): void {
      const conn = this[kConn];
      if (conn === undefined) return;
      try {
        gw.handle(conn, data as Buffer, isBinary);
      } catch (err) {
        // A bug in frame handling costs this connection, not the process.
        gw.metrics.internalErrors.inc({ where: 'frame' });
        gw.log.error({ err }, 'frame handling failed: closing the connection');
        gw.close(conn, CLOSE_CODES.internalError, 'internal error');
      }
    };
  })(this);

  private readonly onClose = (function (gw: Gateway) {
    return function (this: Socket, code: number): void {
      const conn = this[kConn];
      if (conn !== undefined) gw.forget(conn, code);
    };
  })(this);

  /** Handles one client frame. Never throws: every failure becomes an `error` frame or a close. */
  handle(conn: Conn, data: Buffer, isBinary: boolean): void {
    const t = this.metrics.tallies;
    t.messagesIn++;
    t.bytesIn += data.length;
    const now = performance.now();
    conn.lastActivity = now;
    if (conn.closing) return;
    if (!conn.bucket.take(now)) {
      // Refused before parsing: a flood costs one token check per frame.
      if (++conn.strikes > this.config.limits.rateLimitStrikes) this.close(conn, CLOSE_CODES.rateLimited, 'rate limit exceeded');
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
        const sync = this.progress.sync();
        this.sendRaw(conn, conn.proto ? binaryFrame(encodePongProto(op.id, sync)) : textFrame(encodePongJson(op.id, sync)));
        return;
      }
      case 'sub':
        return this.subscribe(conn, op.id, op.ch, op.since);
      case 'unsub': {
        const bad = channelProblem(op.ch);
        if (bad !== undefined) return this.sendError(conn, op.id, 'bad_channel', bad);
        this.hub.unsubscribe(conn, op.ch);
        return this.sendAck(conn, op.id);
      }
      case 'pub':
        return this.publishFromClient(conn, op.id, op.ch, op.contentType, op.payload, op.mid);
    }
  }

  /**
   * Subscribes, recovering first when the client hands back a position: the messages it missed go
   * out before the ack, live ones after it. Both happen in this turn, with the subscription added,
   * so nothing falls between history and live delivery.
   */
  private subscribe(conn: Conn, id: number | undefined, ch: string, since: Position | undefined): void {
    const bad = channelProblem(ch);
    if (bad !== undefined) return this.sendError(conn, id, 'bad_channel', bad);
    if (!conn.grant.canSubscribe(ch)) return this.sendError(conn, id, 'forbidden', `token does not allow subscribing to ${ch}`);
    if (this.hub.subscribe(conn, ch) === 'limit') {
      return this.sendError(conn, id, 'too_many_subscriptions', `at most ${this.config.limits.maxSubscriptions} subscriptions per connection`);
    }
    let recovered: boolean | undefined;
    if (since !== undefined) {
      const r = this.history.recover(ch, since);
      recovered = r.recovered;
      this.metrics.recoveries.inc({ outcome: r.recovered ? 'recovered' : r.reason });
      if (r.recovered) {
        for (const m of r.messages) {
          const frame = msgFrame(m, conn.proto);
          if (frame !== undefined) this.sendRaw(conn, frame);
        }
      } else {
        this.gaps.note(r.reason, r.origin);
      }
    }
    if (id === undefined || conn.closing) return;
    // The newest id per origin, and the sync point: the client is owed everything after both.
    const pos = withSync(this.history.position(ch), this.progress.sync());
    this.sendRaw(conn, conn.proto ? binaryFrame(encodeSubAckProto(id, pos, recovered)) : textFrame(encodeSubAckJson(id, pos, recovered)));
  }

  private publishFromClient(conn: Conn, id: number | undefined, ch: string, contentType: ContentType, payload: Uint8Array, mid: string | undefined): void {
    const bad = channelProblem(ch);
    if (bad !== undefined) return this.sendError(conn, id, 'bad_channel', bad);
    if (!conn.grant.canPublish(ch)) return this.sendError(conn, id, 'forbidden', `token does not allow publishing to ${ch}`);
    this.publish(ch, contentType, payload, mid).then(
      () => this.sendAck(conn, id),
      (err: unknown) => this.sendError(conn, id, busFailureCode(err) ?? 'internal'),
    );
  }

  /**
   * Publishes a message to every subscriber in every region. Resolves with the message id once
   * the bus holds it durably; rejects with a {@link BusError} otherwise, `bus_uncertain` when the
   * bus has not answered within `WSGW_PUBLISH_TIMEOUT_MS` (it may still deliver the message).
   * `mid`, a client-chosen id, makes the publish idempotent: the bus delivers an id once.
   */
  async publish(ch: string, contentType: ContentType, payload: Uint8Array, mid?: string): Promise<string> {
    const msg: BusMessage = {
      id: mid === undefined ? `${this.config.messageIdPrefix}-${(++this.seq).toString(36)}` : `${CLIENT_ID_PREFIX}${mid}`,
      channel: ch,
      origin: this.config.region,
      node: this.config.nodeId,
      ts: Date.now(),
      contentType,
      payload,
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      const ms = this.config.timing.publishTimeoutMs;
      timer = setTimeout(() => reject(new BusError('bus_uncertain', `the bus did not confirm within ${ms} ms; the message may still be delivered`)), ms);
    });
    try {
      await Promise.race([this.bus.publish(msg), deadline]);
    } finally {
      clearTimeout(timer);
    }
    this.metrics.tallies.published++;
    return msg.id;
  }

  // ------------------------------------------------------------------ frames to clients

  private sendRaw(conn: Conn, frame: Buffer): void {
    if (conn.send(frame) === 'overflow') this.closeSlow(conn);
  }

  private sendAck(conn: Conn, id: number | undefined): void {
    if (id === undefined || conn.closing) return;
    this.sendRaw(conn, conn.proto ? binaryFrame(encodeAckProto(id)) : textFrame(encodeAckJson(id)));
  }

  private sendError(conn: Conn, id: number | undefined, code: FrameErrorCode, message: string = ERRORS[code].message): void {
    this.metrics.errors.inc({ code });
    if (conn.closing) return;
    this.sendRaw(conn, conn.proto ? binaryFrame(encodeErrorProto(id, code, message)) : textFrame(encodeErrorJson(id, code, message)));
  }

  // ------------------------------------------------------------------ closing

  /** Closes a connection with a close frame; it is terminated if the peer does not finish the handshake in time. */
  close(conn: Conn, code: number, reason: string): void {
    if (!conn.close(code, reason)) return;
    this.metrics.closes.inc({ code: closeLabel(code) });
    // A closing connection takes no more messages: leave the channels now, not at the handshake's end.
    this.hub.removeAll(conn);
  }

  /**
   * A slow consumer's queue is discarded and its socket closed with 4008; the close frame is queued
   * behind what the kernel has not taken yet, and the socket is destroyed shortly after, so memory
   * stays bounded whatever the client does.
   */
  private closeSlow(conn: Conn): void {
    if (!conn.close(CLOSE_CODES.slowConsumer, 'slow consumer', { discard: true, graceMs: 1_000 })) return;
    this.hub.removeAll(conn);
    this.metrics.closes.inc({ code: closeLabel(CLOSE_CODES.slowConsumer) });
  }

  private forget(conn: Conn, code: number): void {
    if (!this.conns.delete(conn)) return;
    if (!conn.closing) this.metrics.closes.inc({ code: closeLabel(code) });
    conn.closed();
    this.hub.removeAll(conn);
  }

  /** Heartbeat and idle sweep: one timer for all connections. */
  private sweep(): void {
    const now = performance.now();
    const idle = this.config.timing.idleTimeoutMs;
    for (const conn of this.conns) {
      if (conn.closing) continue;
      if (conn.awaitingPong) {
        // No pong for a whole interval: the peer or the path is dead.
        this.metrics.closes.inc({ code: closeLabel('ping_timeout') });
        conn.terminate();
        this.hub.removeAll(conn);
        continue;
      }
      if (idle > 0 && now - conn.lastActivity > idle) {
        this.close(conn, CLOSE_CODES.normal, 'idle timeout');
        continue;
      }
      conn.awaitingPong = true;
      this.sendRaw(conn, PING_FRAME);
    }
  }

  private reportLoad(): void {
    const report: LoadReport = { node: this.config.nodeId, region: this.config.region, connections: this.conns.size };
    this.publish(LOAD_CHANNEL, 'application/json', Buffer.from(JSON.stringify(report))).catch((err: unknown) =>
      this.log.debug({ err }, 'load report not published'),
    );
  }

  private onControl(msg: BusMessage): void {
    try {
      this.rebalancer.observe(JSON.parse(Buffer.from(msg.payload).toString('utf8')) as LoadReport);
    } catch {
      this.metrics.drops.inc({ reason: 'bad_load_report' });
    }
  }

  /** Sheds connections with 1012 while well above the region's average (see rebalance.ts). */
  private rebalance(elapsedMs: number): void {
    if (this.stateValue !== 'running') return;
    const n = this.rebalancer.shed(this.conns.size, elapsedMs);
    if (n === 0) return;
    const victims = shuffle([...this.conns].filter((c) => !c.closing)).slice(0, n);
    this.log.info({ shedding: victims.length, connections: this.conns.size }, 'rebalancing: above the region average');
    this.closeSpread(victims, 1_000, CLOSE_CODES.reconnectNow, 'rebalance').catch((err: unknown) => this.log.error({ err }, 'rebalancing close failed'));
  }

  /**
   * The gentle close shared by drain and rebalancing: random order, jittered batches spread over
   * `windowMs` (drain.ts), so the reconnects reach the load balancer as a trickle, not a wave.
   */
  private closeSpread(conns: Conn[], windowMs: number, code: number, reason: string): Promise<void> {
    const order = shuffle(conns);
    let next = 0;
    const steps = planDrain(order.length, windowMs).map((step) => ({ atMs: step.atMs, batch: order.slice(next, (next += step.count)) }));
    return Promise.all(
      steps.map(
        ({ atMs, batch }) =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              for (const c of batch) this.close(c, code, reason);
              resolve();
            }, atMs).unref();
          }),
      ),
    ).then(() => undefined);
  }

  private emitEmf(): void {
    this.emfSink(emfLine(this.config.serviceName, this.conns.size, { region: this.config.region, node: this.config.nodeId }));
  }

  /**
   * Graceful drain (see drain.ts). Resolves when every connection is closed and the bus is shut;
   * the caller exits the process. Safe to call more than once. `delayMs` overrides the wait for
   * the load balancer, for callers that know it has already stopped sending (ecs-stop.ts).
   */
  drain(opts: { delayMs?: number } = {}): Promise<void> {
    this.drainPromise ??= this.runDrain(opts.delayMs ?? this.config.timing.drainDelayMs);
    return this.drainPromise;
  }

  private drainPromise: Promise<void> | undefined;

  private async runDrain(drainDelayMs: number): Promise<void> {
    const { drainWindowMs, drainDeadlineMs } = this.config.timing;
    const started = Date.now();
    this.stateValue = 'draining';
    this.log.info({ connections: this.conns.size, drainDelayMs, drainWindowMs }, 'draining: readiness off, upgrades refused');
    const deadline = new Promise<'deadline'>((resolve) => setTimeout(() => resolve('deadline'), drainDeadlineMs - 1_000).unref());
    const gentle = (async () => {
      await sleep(drainDelayMs);
      this.log.info({ connections: this.conns.size }, 'draining: closing connections');
      await this.closeSpread([...this.conns], drainWindowMs, CLOSE_CODES.goingAway, 'server draining');
      while (this.conns.size > 0) await sleep(50);
      return 'done' as const;
    })();
    const outcome = await Promise.race([gentle, deadline]);
    if (outcome === 'deadline') {
      this.log.warn({ left: this.conns.size }, 'drain deadline reached: terminating the rest');
    }
    await this.stop();
    this.log.info({ ms: Date.now() - started, outcome }, 'drained');
  }

  /** Stops at once: terminates connections, closes the bus and the listener. */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'stopped';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.busStartAttempt) clearTimeout(this.busStartAttempt);
    for (const c of [...this.conns]) {
      c.terminate();
      this.forget(c, 1006);
    }
    await this.bus.close().catch((err: unknown) => this.log.error({ err }, 'bus close failed'));
    this.server.closeAllConnections();
    this.metricsServer.closeAllConnections();
    await Promise.all([this.server, this.metricsServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function onPong(this: Socket): void {
  const conn = this[kConn];
  if (conn !== undefined) conn.awaitingPong = false;
}

function noop(): void {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
