/**
 * The options of the Redis bus (docs/redis.md, Options): what each means, its default, and the
 * checks the constructor makes, which throw `TypeError`/`RangeError` naming the option. Also the
 * rules for the URLs that name a Redis server (`WSGW_REDIS_URL`, `WSGW_REDIS_REMOTES`).
 */
import type { Registry } from 'prom-client';
import { DEFAULT_STREAM_PREFIX } from '../../../shared/src/constants.js';
import {
  REGION_NAME,
  REGION_NAME_RULE,
  STREAM_PREFIX,
  STREAM_PREFIX_RULE,
  splitByRegion,
} from '../../../shared/src/names.js';
import type { BusLogger } from './kafka-bus-options.js';

/** Another region's Redis, whose origin stream this bus reads directly. */
export interface RedisRemote {
  readonly region: string;
  readonly url: string;
}

export interface RedisBusOptions {
  /** This region's Redis: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  readonly url: string;
  /** This gateway's region; it appends to the stream `<streamPrefix><region>`. */
  readonly region: string;
  /** This gateway's unique node id (envelope `node`, probe keys, client names). */
  readonly nodeId: string;
  /** Stream name prefix. Default `wsgw.fanout.`. */
  readonly streamPrefix?: string;
  /** Other regions' Redis servers, each read directly for its origin stream. Default none. */
  readonly remotes?: readonly RedisRemote[];
  /**
   * Replicas that must confirm each publish (`WAIT <n>`) before it resolves; when fewer confirm in
   * `ackTimeoutMs` the publish rejects `bus_uncertain`. 0 (the default): Redis's own acknowledgement.
   */
  readonly waitReplicas?: number;
  /** Longest a sent publish waits for Redis (and `WAIT`) before it rejects `bus_uncertain` (ms). Default 5 000. */
  readonly ackTimeoutMs?: number;
  /** Most publishes waiting to be sent or acknowledged; beyond it publish rejects. Default 10 000. */
  readonly bufferLimit?: number;
  /** Longest a publish waits unsent (Redis away) before it rejects `bus_unavailable` (ms). Default 30 000. */
  readonly bufferTimeoutMs?: number;
  /** Most entries appended in one round trip. Default 500. */
  readonly maxBatch?: number;
  /** Largest encoded envelope accepted (bytes); larger publishes reject with `bus_rejected`. Default 1 000 000. */
  readonly maxMessageBytes?: number;
  /** How many recent message ids are remembered to drop duplicates. Default 50 000. */
  readonly dedupWindow?: number;
  /** Longest one blocking read waits for new entries (ms); idle progress advances this often. Default 500. */
  readonly blockMs?: number;
  /** Most entries one read returns. Default 1 000. */
  readonly readCount?: number;
  /** Also deliver entries stamped up to this long before `start()` (ms). Default 1 000. */
  readonly startSlackMs?: number;
  /**
   * At start, read this much of each stream from before the start (ms) into the handler's history
   * (`skipped`), never delivering it; `historyWarm` tells when the local stream's is done. Default 0.
   */
  readonly readBackMs?: number;
  /**
   * How long entries stay in a stream (ms): each append trims (`MINID ~`) what is older. Default:
   * `readBackMs` + `startSlackMs` + one minute, so that a starting gateway finds its whole window.
   */
  readonly retainMs?: number;
  /**
   * How far one stream's clock may run backwards across a failover to a replica whose clock is
   * behind (ms); progress is reported this much behind what was read. Default 100.
   */
  readonly stampSkewMs?: number;
  /** Longest a connection attempt (TCP, TLS, auth) may take (ms). Default 5 000. */
  readonly connectTimeoutMs?: number;
  /** Metrics go here (prefix `wsgw_bus_`); default: a private registry. */
  readonly registry?: Registry;
  readonly logger?: BusLogger;
}

const DEFAULTS = Object.freeze({
  streamPrefix: DEFAULT_STREAM_PREFIX,
  waitReplicas: 0,
  ackTimeoutMs: 5_000,
  bufferLimit: 10_000,
  bufferTimeoutMs: 30_000,
  maxBatch: 500,
  maxMessageBytes: 1_000_000,
  dedupWindow: 50_000,
  blockMs: 500,
  readCount: 1_000,
  startSlackMs: 1_000,
  readBackMs: 0,
  stampSkewMs: 100,
  connectTimeoutMs: 5_000,
});

export type ResolvedRedisBusOptions = Required<Omit<RedisBusOptions, 'registry' | 'logger'>> &
  Pick<RedisBusOptions, 'registry' | 'logger'>;

/** Fills in the defaults and checks the options; throws naming the first one that is wrong. */
export function resolveRedisBusOptions(options: RedisBusOptions): ResolvedRedisBusOptions {
  const o = { ...DEFAULTS, remotes: [], ...options };
  if (typeof o.region !== 'string' || !REGION_NAME.test(o.region))
    throw new TypeError(`region: ${REGION_NAME_RULE}`);
  if (typeof o.nodeId !== 'string' || o.nodeId === '') throw new TypeError('nodeId: required');
  if (!STREAM_PREFIX.test(o.streamPrefix)) throw new TypeError(`streamPrefix: ${STREAM_PREFIX_RULE}`);
  const bad = redisUrlProblem(o.url);
  if (bad) throw new TypeError(`url: ${bad}`);
  for (const k of [
    'ackTimeoutMs',
    'bufferLimit',
    'bufferTimeoutMs',
    'maxBatch',
    'maxMessageBytes',
    'dedupWindow',
    'blockMs',
    'readCount',
    'connectTimeoutMs',
  ] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`${k}: must be a positive integer`);
  }
  for (const k of ['waitReplicas', 'startSlackMs', 'readBackMs', 'stampSkewMs'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new RangeError(`${k}: must be a non-negative integer`);
  }
  const seen = new Set([o.region]);
  for (const r of o.remotes) {
    if (typeof r.region !== 'string' || !REGION_NAME.test(r.region) || seen.has(r.region))
      throw new TypeError(`remotes: region "${String(r.region)}" is invalid, repeated or this bus's own`);
    const why = redisUrlProblem(r.url);
    if (why) throw new TypeError(`remotes: ${r.region}: ${why}`);
    seen.add(r.region);
  }
  const retainMs = options.retainMs ?? o.readBackMs + o.startSlackMs + 60_000;
  if (!Number.isInteger(retainMs) || retainMs < 1)
    throw new RangeError('retainMs: must be a positive integer');
  return { ...o, retainMs };
}

/** Why `url` is not a Redis URL the bus accepts, or undefined when it is. */
export function redisUrlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string') return 'must be a redis:// or rediss:// URL';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be a redis:// or rediss:// URL';
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return 'must start with redis:// or rediss://';
  if (u.hostname === '') return 'must name a host';
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname))
    return 'may only name a database number as its path (/0 to /99)';
  return undefined;
}

/**
 * `url` with `password` (WSGW_REDIS_PASSWORD) as its password, unless it carries one of its own:
 * the deployment passes the password as a secret, apart from the URLs in plain environment.
 */
export function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  try {
    const u = new URL(url);
    if (u.password !== '') return url; // the URL's own password wins
    u.password = encodeURIComponent(password);
    return u.toString();
  } catch {
    return url; // left for redisUrlProblem to name
  }
}

/** The URL with its password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<not a URL>';
  }
}

/**
 * Parses `WSGW_REDIS_REMOTES`: `<region>=<url>;<region>=<url>`. Throws `TypeError` describing the
 * first malformed part, with any password left out.
 */
export function parseRedisRemotes(value: string): RedisRemote[] {
  return splitByRegion(value, (_part, url) => `"${redactUrl(url)}"`).map(({ region, value: url }) => {
    const why = redisUrlProblem(url);
    if (why) throw new TypeError(`${region}: the URL ${why}`);
    return { region, url };
  });
}
