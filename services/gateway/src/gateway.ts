/**
 * The gateway: wiring and life cycle. An HTTP server whose upgrades become sessions
 * (upgrade.ts, session.ts), a {@link Hub} for local fan-out, a {@link Bus} for everything that
 * crosses processes and regions, a metrics listener of its own, and the timers that keep it all
 * going (heartbeats, EMF, the bus probe, history trimming, rebalancing: shedding.ts).
 *
 * Life cycle:  new ──start()──► running ──drain()──► draining ──► stopped
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Registry } from 'prom-client';
import type { Bus } from './bus/bus.js';
import type { GatewayConfig } from './config.js';
import type { Conn } from './conn.js';
import { Hub } from './hub.js';
import { History } from './history.js';
import { Progress } from './progress.js';
import { Publisher } from './publisher.js';
import { Sessions } from './session.js';
import { Upgrader } from './upgrade.js';
import { Shedder, closeSpread } from './shedding.js';
import { GatewayMetrics } from './metrics.js';
import { emfLine } from './emf.js';
import { handleHttp, handleMetrics, redirectToHttps, type HttpSurface, type Readiness } from './http.js';
import { CertificateKeeper, acmCertificate } from './tls.js';
import type { Logger } from './logger.js';
import { CLOSE_CODES } from '../../shared/src/constants.js';
import type { ContentType } from '../../shared/src/envelope.js';

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
  /** @internal */
  readonly log: Logger;
  private readonly config: GatewayConfig;
  private readonly bus: Bus;
  private readonly publisher: Publisher;
  private readonly sessions: Sessions;
  private readonly shedder: Shedder;
  private readonly server: Server;
  private readonly metricsServer: Server;
  /** With TLS in the task: the listener that redirects to https. */
  private readonly redirectServer: Server | undefined;
  /** With TLS in the task: the certificate the public listener serves. */
  private readonly certificate: CertificateKeeper | undefined;
  private readonly emfSink: (line: string) => void;
  private stateValue: GatewayState = 'new';
  private busReady = false;
  private lastProbeOk = false;
  private timers: NodeJS.Timeout[] = [];
  private busStartAttempt: NodeJS.Timeout | undefined;
  private warmed = false;
  /** Where the bus's read-back began, once it is done. */
  private warmSince: number | undefined;
  private drainPromise: Promise<void> | undefined;

  constructor(deps: GatewayDeps) {
    const config = (this.config = deps.config);
    this.bus = deps.bus;
    this.log = deps.logger;
    this.emfSink = deps.emfSink ?? ((line) => process.stdout.write(line + '\n'));
    this.metrics = new GatewayMetrics(
      {
        connections: () => this.sessions.size,
        subscriptions: () => this.hub.subscriptions,
        channels: () => this.hub.channelCount,
      },
      deps.registry,
    );
    this.history = new History(config.history);
    this.progress = new Progress();
    this.publisher = new Publisher(this.bus, config, this.metrics);
    this.hub = new Hub({
      maxSubscriptions: config.limits.maxSubscriptions,
      compressionMinBytes: config.compression.minBytes,
      metrics: this.metrics,
      onSlowConsumer: (c) => this.sessions.closeSlow(c),
      history: this.history,
      progress: this.progress,
      onControl: (msg) => this.shedder.observe(msg),
    });
    const { metrics, log, hub, history, progress, publisher } = this;
    this.sessions = new Sessions({ config, hub, history, progress, publisher, metrics, log });
    this.shedder = new Shedder({ config, sessions: this.sessions, publisher, metrics, log });
    const upgrader = new Upgrader({
      config,
      metrics,
      log,
      open: () => this.stateValue === 'running',
      connections: () => this.sessions.size,
      accept: (ws, grant) => this.sessions.accept(ws, grant),
    });
    // Every entry point contains its own failures: a request that trips a bug is answered (or its
    // socket destroyed) and logged, and the process goes on serving everyone else.
    const handler = this.contained((req, res) => handleHttp(this.http, req, res));
    if (config.tls) {
      // Without a certificate until the first export: start() loads it before listening.
      const server = createTlsServer({ minVersion: 'TLSv1.2' }, handler);
      this.server = server;
      this.certificate = new CertificateKeeper(
        acmCertificate(config.tls.acmCertificateArn, config.tls.region),
        (ctx) => server.setSecureContext(ctx),
        config.tls.refreshMs,
        this.log,
        this.metrics.registry,
      );
      if (config.httpRedirectPort !== undefined)
        this.redirectServer = createServer(this.contained(redirectToHttps));
    } else {
      this.server = createServer(handler);
    }
    this.server.on('upgrade', upgrader.onUpgrade);
    this.metricsServer = createServer(
      this.contained((req, res) => handleMetrics(this.metrics.registry, req, res)),
    );
    // Long-lived sockets: no request timeout on upgraded connections; HTTP keep-alive as usual.
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
  }

  /** What the HTTP routes may see and do: no more than that (http.ts). */
  private readonly http: HttpSurface = {
    readiness: () => this.readiness(),
    busReason: () => this.bus.health().reason ?? (this.lastProbeOk ? undefined : 'probe_failed'),
    publish: (ch, contentType, payload, mid) => this.publish(ch, contentType, payload, mid),
    publishKey: () => this.config.publishKey,
    maxPayloadBytes: () => this.config.limits.maxPayloadBytes,
    demoPage: () => this.config.demoPage,
  };

  private contained(
    handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  ): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      handler(req, res).catch((err: unknown) => {
        this.metrics.internalErrors.inc({ where: 'http' });
        this.log.error({ err, method: req.method, url: req.url?.slice(0, 200) }, 'http handler failed');
        if (!res.headersSent)
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
        else res.destroy();
      });
    };
  }

  get state(): GatewayState {
    return this.stateValue;
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Node id of this gateway, as stamped on envelopes. */
  get nodeId(): string {
    return this.config.nodeId;
  }

  /**
   * True while this task should receive new connections: running, the bus path works end to end,
   * and the history reaches back far enough for clients arriving from other tasks to recover.
   */
  get ready(): boolean {
    return (
      this.stateValue === 'running' && this.busReady && this.lastProbeOk && this.bus.health().ok && this.warm
    );
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

  private readiness(): Readiness {
    if (this.ready) return 'ready';
    if (this.stateValue !== 'running') return this.stateValue;
    // A bus that is down says why first: no history can warm without it.
    return this.warm || !this.bus.health().ok ? 'bus_not_ready' : 'warming_history';
  }

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

  /** Publishes to every subscriber in every region (publisher.ts). */
  publish(ch: string, contentType: ContentType, payload: Uint8Array, mid?: string): Promise<string> {
    return this.publisher.publish(ch, contentType, payload, mid);
  }

  /** Closes one connection (session.ts). */
  close(conn: Conn, code: number, reason: string): void {
    this.sessions.close(conn, code, reason);
  }

  async start(): Promise<void> {
    if (this.stateValue !== 'new') throw new Error(`cannot start a gateway that is ${this.stateValue}`);
    await listen(this.metricsServer, this.config.metricsPort, this.config.host);
    // TLS in the task: the public port opens once there is a certificate to serve on it.
    await this.certificate?.start(() => this.stateValue === 'stopped');
    try {
      await listen(this.server, this.config.port, this.config.host);
      if (this.redirectServer)
        await listen(this.redirectServer, this.config.httpRedirectPort!, this.config.host);
    } catch (err) {
      await Promise.all([this.server, this.metricsServer].map((s) => new Promise((r) => s.close(r))));
      throw err;
    }
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
    this.every(t.pingIntervalMs, () => this.sessions.sweep());
    this.every(t.emfIntervalMs, () =>
      this.emfSink(
        emfLine(this.config.serviceName, this.sessions.size, {
          region: this.config.region,
          node: this.config.nodeId,
        }),
      ),
    );
    this.every(t.readyProbeIntervalMs, () => this.probeLater());
    // Age eviction must happen even when no traffic arrives to trigger it.
    this.every(10_000, () => {
      this.history.trim();
      this.sessions.gaps.flush();
    });
    if (this.config.rebalance.intervalMs > 0) {
      this.every(this.config.rebalance.intervalMs, () => this.shedder.report());
      let last = performance.now();
      this.every(1_000, () => {
        const now = performance.now();
        if (this.stateValue === 'running') this.shedder.shed(now - last);
        last = now;
      });
    }
    this.log.info(
      {
        port: this.port,
        metricsPort: this.metricsPort,
        // region and node are on every line already (the logger's bindings)
        bus: this.config.kafka ? 'kafka' : this.config.redis ? 'redis' : 'memory',
      },
      'gateway listening',
    );
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
        if (this.stateValue === 'running')
          this.busStartAttempt = setTimeout(() => this.startBus(attempt + 1), delay);
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

  /**
   * Graceful drain (see drain.ts). Resolves when every connection is closed and the bus is shut;
   * the caller exits the process. Safe to call more than once. `delayMs` overrides the wait for
   * the load balancer, for callers that know it has already stopped sending (ecs-stop.ts).
   */
  drain(opts: { delayMs?: number } = {}): Promise<void> {
    this.drainPromise ??= this.runDrain(opts.delayMs ?? this.config.timing.drainDelayMs);
    return this.drainPromise;
  }

  private async runDrain(drainDelayMs: number): Promise<void> {
    const { drainWindowMs, drainDeadlineMs } = this.config.timing;
    const started = Date.now();
    this.stateValue = 'draining';
    this.log.info(
      { connections: this.sessions.size, drainDelayMs, drainWindowMs },
      'draining: readiness off, upgrades refused',
    );
    const deadline = new Promise<'deadline'>((resolve) =>
      setTimeout(() => resolve('deadline'), drainDeadlineMs - 1_000).unref(),
    );
    const gentle = (async () => {
      await sleep(drainDelayMs);
      this.log.info({ connections: this.sessions.size }, 'draining: closing connections');
      await closeSpread(this.sessions.list(), drainWindowMs, (c) =>
        this.sessions.close(c, CLOSE_CODES.goingAway, 'server draining'),
      );
      while (this.sessions.size > 0) await sleep(50);
      return 'done' as const;
    })();
    const outcome = await Promise.race([gentle, deadline]);
    if (outcome === 'deadline') {
      this.log.warn({ left: this.sessions.size }, 'drain deadline reached: terminating the rest');
    }
    await this.stop();
    this.log.info({ ms: Date.now() - started, outcome }, 'drained');
  }

  /** Stops at once: terminates connections, closes the bus and the listeners. */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'stopped';
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.busStartAttempt) clearTimeout(this.busStartAttempt);
    this.sessions.terminateAll();
    this.certificate?.stop();
    await this.bus.close().catch((err: unknown) => this.log.error({ err }, 'bus close failed'));
    const servers = [this.server, this.metricsServer, ...(this.redirectServer ? [this.redirectServer] : [])];
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
