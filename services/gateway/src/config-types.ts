/**
 * The gateway's configuration as the rest of the gateway sees it: read once, validated and frozen
 * by `loadConfig` (config.ts).
 */
import type { RemoteCluster } from './bus/kafka-remote.js';
import type { RackSetting } from './bus/kafka-rack.js';
import type { RedisRemote } from './bus/redis-options.js';

export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  /** Port of the metrics listener (never the public port); 0 picks a free one. */
  readonly metricsPort: number;
  /** Serve the demo page at `/` (default: embedded mode only). */
  readonly demoPage: boolean;
  /** TLS in the task: the ACM certificate to export and serve, and how often to export it again. */
  readonly tls: TlsSettings | undefined;
  /** With TLS in the task: a plain listener that redirects to https. */
  readonly httpRedirectPort: number | undefined;
  readonly region: string;
  /** Names this task in envelopes and logs; unique per process unless set by `WSGW_NODE_ID`. */
  readonly nodeId: string;
  /**
   * What this process's message ids start with: unique per process whatever the configuration
   * (a fixed `WSGW_NODE_ID` gets a random incarnation), so that ids never repeat across restarts:
   * a receiver would drop a repeated id as a duplicate.
   */
  readonly messageIdPrefix: string;
  /** Value of the EMF `ServiceName` dimension. */
  readonly serviceName: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly production: boolean;
  readonly kafka: KafkaSettings | undefined;
  /** The Redis bus (docs/redis.md); undefined with Kafka or in embedded mode. */
  readonly redis: RedisSettings | undefined;
  readonly auth: AuthSettings;
  readonly publishKey: string | undefined;
  /** Exact origins (`https://app.example.com`) or wildcard subdomains (`https://*.example.com`); undefined allows any. */
  readonly allowedOrigins: readonly string[] | undefined;
  readonly limits: Limits;
  readonly compression: CompressionSettings;
  readonly timing: Timing;
  readonly history: HistorySettings;
  readonly rebalance: RebalanceSettings;
}

export interface TlsSettings {
  readonly acmCertificateArn: string;
  /** The AWS region that issued the certificate (from its ARN). */
  readonly region: string;
  readonly refreshMs: number;
}

export interface HistorySettings {
  /** Messages kept per channel for recovery. */
  readonly perChannel: number;
  /** Bytes kept for all channels together. */
  readonly maxBytes: number;
  /** Age of the oldest message kept (ms). */
  readonly maxAgeMs: number;
  /**
   * How far the append times of one origin log may run backwards (brokers' clocks disagreeing
   * across a leader change): sync points are reported this much earlier (ms).
   */
  readonly skewMs: number;
  /**
   * A starting gateway reports ready only once its history reaches back this far (ms), so that
   * clients moving to it from a draining task can recover. 0 turns the wait off.
   */
  readonly warmMs: number;
}

export interface RebalanceSettings {
  /** How often each gateway reports its connection count on the bus (ms); 0 turns rebalancing off. */
  readonly intervalMs: number;
  /** Shed only above average x (1 + threshold). */
  readonly threshold: number;
  /** Most connections shed per second, as a fraction of this gateway's connections. */
  readonly rate: number;
}

export interface KafkaSettings {
  readonly brokers: readonly string[];
  readonly auth: 'none' | 'msk-iam';
  readonly tls: boolean;
  readonly topicPrefix: string;
  /** AWS region used to sign MSK IAM tokens. */
  readonly awsRegion: string | undefined;
  /** Other regions' clusters read directly (cross-region `direct` mode); empty with replication. */
  readonly remotes: readonly RemoteCluster[];
  /** Where the rack of the fan-out consumer comes from (./bus/kafka-rack.ts); none: read from leaders. */
  readonly rack: RackSetting | undefined;
}

export interface RedisSettings {
  /** This region's Redis (`redis://` or `rediss://`, credentials included). */
  readonly url: string;
  /** Other regions' Redis servers, each read directly for its origin stream. */
  readonly remotes: readonly RedisRemote[];
  readonly streamPrefix: string;
  /** Replicas that must confirm a publish (`WAIT`); 0 acknowledges on the primary's word. */
  readonly waitReplicas: number;
}

export interface AuthSettings {
  readonly jwtSecret: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** Tokens must expire within this many seconds of the upgrade; 0 lifts the bound (exp stays required). */
  readonly maxLifetimeS: number;
  /** Connections without a token get every permission. Embedded mode only, never production. */
  readonly allowAnonymous: boolean;
}

export interface Limits {
  readonly maxPayloadBytes: number;
  readonly rateLimitPerSec: number;
  readonly rateLimitBurst: number;
  /** Consecutive rate-limited frames tolerated before the connection is closed with 4029. */
  readonly rateLimitStrikes: number;
  readonly maxSubscriptions: number;
  readonly maxConnections: number;
  /** Outbound bytes queued for one connection (socket buffer + coalescing queue) before it is closed with 4008. */
  readonly maxBufferedBytes: number;
}

/** permessage-deflate (docs/protocol.md, Compression). */
export interface CompressionSettings {
  /** Negotiate the extension when a client offers it. */
  readonly enabled: boolean;
  /** Payloads below this many bytes are sent uncompressed (RSV1 clear) to every client. */
  readonly minBytes: number;
}

export interface Timing {
  readonly pingIntervalMs: number;
  /** Skip the ping to a connection that sent a frame within the ping interval. */
  readonly pingSkipActive: boolean;
  /** 0 disables the idle disconnect. */
  readonly idleTimeoutMs: number;
  readonly drainDelayMs: number;
  readonly drainWindowMs: number;
  readonly drainDeadlineMs: number;
  readonly emfIntervalMs: number;
  readonly readyProbeIntervalMs: number;
  /** Longest a publish waits for the bus before it is answered `bus_uncertain`. */
  readonly publishTimeoutMs: number;
}
