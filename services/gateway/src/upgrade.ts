/**
 * The WebSocket upgrade: who may connect. A request is refused with an HTTP status and a JSON
 * body (docs/protocol.md, Connecting) while the gateway drains or is full, for an `Origin` not
 * allowed, or for a token that does not verify; otherwise it becomes a session.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GatewayConfig } from './config.js';
import { AuthError, Authenticator, originAllowed, tokenFrom, type Grant } from './auth.js';
import type { GatewayMetrics } from './metrics.js';
import { InflatePool } from './compression.js';
import { acceptDeflate, type DeflateAnswer } from './deflate-offer.js';
import type { Logger } from './logger.js';
import { SUBPROTOCOLS } from '../../shared/src/constants.js';
import { ERRORS, statusOf, type HttpErrorCode } from '../../shared/src/errors.js';

export interface UpgradeDeps {
  readonly config: Pick<GatewayConfig, 'limits' | 'allowedOrigins' | 'auth' | 'compression'>;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** Whether the gateway takes new connections (false while draining or stopped). */
  readonly open: () => boolean;
  /** Connections held now. */
  readonly connections: () => number;
  /** Takes an upgraded socket. */
  readonly accept: (ws: WebSocket, grant: Grant) => void;
}

export class Upgrader {
  private readonly auth: Authenticator;
  private readonly wss: WebSocketServer;
  private readonly inflater: InflatePool;
  /** Upgrades waiting for their token to verify: they count against the connection limit. */
  private pending = 0;

  constructor(private readonly d: UpgradeDeps) {
    this.auth = new Authenticator(d.config.auth);
    this.inflater = new InflatePool(d.config.limits.maxPayloadBytes, d.metrics);
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: d.config.limits.maxPayloadBytes,
      // permessage-deflate is negotiated here, not by ws (deflate-offer.ts), with both
      // no_context_takeover parameters, so that no connection needs zlib state: broadcasts are
      // compressed once (framing.ts), client frames inflate inline or in a shared pool.
      perMessageDeflate: false,
      handleProtocols: (protocols) =>
        protocols.has(SUBPROTOCOLS.proto)
          ? SUBPROTOCOLS.proto
          : protocols.has(SUBPROTOCOLS.json)
            ? SUBPROTOCOLS.json
            : false,
    });
    this.wss.on('headers', (headers: string[], req: IncomingMessage) => {
      const answer = (req as Negotiated)[DEFLATE];
      if (answer !== undefined) headers.push(`Sec-WebSocket-Extensions: ${answer.header}`);
    });
  }

  /** The server's 'upgrade' handler. Contains its own failures: a bug answers 500, never throws. */
  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.upgrade(req, socket, head).catch((err: unknown) => {
      this.d.metrics.internalErrors.inc({ where: 'upgrade' });
      this.d.log.error({ err, url: req.url?.slice(0, 200) }, 'upgrade handler failed');
      this.refuse(socket, 'internal');
    });
  };

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { config } = this.d;
    socket.on('error', noop);
    if (!this.d.open()) return this.refuse(socket, 'draining');
    if (this.d.connections() + this.pending >= config.limits.maxConnections)
      return this.refuse(socket, 'max_connections');
    if (!originAllowed(req.headers.origin, config.allowedOrigins)) {
      return this.refuse(
        socket,
        'origin',
        `origin ${String(req.headers.origin).slice(0, 200)} is not allowed`,
      );
    }
    // Copy what we need out of the request before the await: the socket may go away meanwhile.
    // Any path is accepted; only the query is read, and reading it cannot throw.
    const token = tokenFrom(req.url, req.headers.authorization);
    this.pending++;
    let grant: Grant;
    try {
      grant = await this.auth.authenticate(token);
    } catch (err) {
      const e = err instanceof AuthError ? err : new AuthError('token_invalid', String(err));
      return this.refuse(socket, e.code, e.message);
    } finally {
      this.pending--;
    }
    if (socket.destroyed) return;
    if (grant.expiresAt !== undefined && grant.expiresAt <= Date.now())
      return this.refuse(socket, 'token_expired');
    if (!this.d.open()) return this.refuse(socket, 'draining');
    const answer = config.compression.enabled
      ? acceptDeflate(req.headers['sec-websocket-extensions'])
      : undefined;
    if (answer !== undefined) (req as Negotiated)[DEFLATE] = answer;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // Before any frame is read (ws reads the socket from the next tick on).
      if (answer !== undefined) this.inflater.attach(ws, answer.params);
      this.d.accept(ws, grant);
    });
  }

  private refuse(socket: Duplex, reason: HttpErrorCode, message: string = ERRORS[reason].message): void {
    this.d.metrics.refused.inc({ reason });
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
}

function noop(): void {}

/** The negotiated answer travels on the request from the upgrade to ws's 'headers' event. */
const DEFLATE = Symbol('wsgw.deflate');
type Negotiated = IncomingMessage & { [DEFLATE]?: DeflateAnswer };
