/**
 * What the same load would cost with other choices: AWS API Gateway WebSocket APIs instead of the
 * fleet, the other cross-region mode (with the break-even publish rate), and the other load balancers.
 * Every figure here comes from the same engine and price book as the main estimate.
 */
import { BYTES_PER_GB, flat, tieredLine, type Ctx } from './lines.js';
import { estimate } from './model.js';
import type { PriceBook } from './prices.js';
import type { LoadBalancerKind } from './lcu.js';
import type { Assumptions, CrossRegionMode, Deployment, Estimate, LineItem, Load } from './types.js';

/** API Gateway meters messages in 32 KB increments (https://aws.amazon.com/api-gateway/pricing/). */
export const APIGW_MESSAGE_UNIT_BYTES = 32 * 1024;
/*
 * WebSocket quotas, from https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
 * and, for the account throttle, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
 */
/** API Gateway closes every WebSocket connection after 2 hours. */
export const APIGW_MAX_CONNECTION_MINUTES = 120;
/** API Gateway closes a connection on which nothing flowed for 10 minutes. */
export const APIGW_IDLE_TIMEOUT_SECONDS = 600;
/** Default quota: new connections per second per account per region (adjustable). */
export const APIGW_NEW_CONNECTIONS_QUOTA = 500;
/**
 * Default throttle quota per account and region, shared by every HTTP, REST and WebSocket API and
 * the WebSocket callback (@connections) API (adjustable). Some newer regions default to 2,500;
 * none of them is priced here.
 */
export const APIGW_REQUESTS_QUOTA = 10_000;
/** API Gateway's message payload limit. */
export const APIGW_MAX_MESSAGE_BYTES = 128 * 1024;

export interface ApiGatewayRegion {
  readonly region: string;
  readonly lines: readonly LineItem[];
  readonly usd: number;
  /** Share of connections that receive nothing for longer than the idle timeout and send keep-alives. */
  readonly idleShare: number;
  readonly keepalivesPerSecond: number;
  /** Requests counted by the account throttle: @connections callbacks, client messages, new connections. */
  readonly requestsPerSecond: number;
}

export interface ApiGatewayComparison {
  readonly regions: readonly ApiGatewayRegion[];
  readonly usd: number;
  readonly usdPerMillionConnections: number | null;
  /** `usd` divided by the fleet's monthly cost. */
  readonly ratioToFleet: number | null;
  /** How keep-alives and requests were counted, in words, for the report. */
  readonly assumptions: readonly string[];
  readonly warnings: readonly string[];
  /** What the comparison leaves out (it is a lower bound for API Gateway). */
  readonly excludes: readonly string[];
}

export interface LoadBalancerOption {
  readonly kind: LoadBalancerKind;
  readonly name: string;
  /** Load-balancer lines summed over regions, USD per month. */
  readonly usd: number;
  /** Capacity units per region and the dimension that decided them. */
  readonly regions: readonly { region: string; units: number; dominant: string }[];
  readonly note: string;
}

export interface CrossRegionComparison {
  readonly configured: CrossRegionMode;
  /** Monthly totals of the whole deployment in each mode (everything else equal). */
  readonly usd: Readonly<Record<CrossRegionMode, number>>;
  readonly cheaper: CrossRegionMode | 'equal';
  /**
   * Publish rate (messages/s, whole deployment) at which both modes cost the same, holding
   * connections and tasks fixed; null when one mode is cheaper at every rate.
   */
  readonly breakEvenPublishRate: number | null;
  /** The mode that is cheaper below the break-even rate (or at every rate when there is none). */
  readonly cheaperAtLowRates: CrossRegionMode;
}

export interface Report {
  readonly estimate: Estimate;
  readonly apiGateway: ApiGatewayComparison;
  readonly loadBalancers: readonly LoadBalancerOption[];
  /** Null for single-region stacks. */
  readonly crossRegion: CrossRegionComparison | null;
  readonly compression: CompressionSavings;
}

/** What permessage-deflate saves against the same load sent uncompressed. */
export interface CompressionSavings {
  readonly ratio: number;
  /** False when the payload is below the gateway's threshold (nothing is compressed). */
  readonly applies: boolean;
  /** Internet data out, GB per month, uncompressed and as estimated. */
  readonly internetOutGbUncompressed: number;
  readonly internetOutGb: number;
  /** The whole bill's difference, USD per month (egress, load balancer, Global Accelerator). */
  readonly usdSaved: number;
}

function internetOutGb(e: Estimate): number {
  return e.regions
    .flatMap((r) => r.lines)
    .filter((l) => l.service === 'Data transfer' && l.item === 'internet out')
    .reduce((s, l) => s + l.quantity, 0);
}

export function compareCompression(d: Deployment, load: Load, book: PriceBook, a: Assumptions, e: Estimate) {
  const plain = estimate(d, { ...load, compressionRatio: 1 }, book, a);
  return {
    ratio: e.load.compressionRatio,
    applies: e.load.msgBytes >= a.compressionMinBytes && e.load.compressionRatio < 1,
    internetOutGbUncompressed: internetOutGb(plain),
    internetOutGb: internetOutGb(e),
    usdSaved: plain.usd - e.usd,
  } satisfies CompressionSavings;
}

const LB_NAMES: Record<LoadBalancerKind, string> = {
  alb: 'ALB (TLS at the load balancer)',
  'nlb-tls': 'NLB with a TLS listener',
  'nlb-tcp': 'NLB passing TCP, TLS in the task',
};

const LB_NOTES: Record<LoadBalancerKind, string> = {
  alb: 'HTTP routing, health checks and idle timeout at the load balancer',
  'nlb-tls': 'same active-connection dimension as the ALB, cheaper unit price',
  'nlb-tcp':
    'tasks terminate TLS with an ACM exportable certificate (priced): their measured memory and CPU per connection are in the Fargate line',
};

const whole = (n: number): string => Math.round(n).toLocaleString('en-US');

/** API Gateway WebSocket APIs for the same load. */
export function compareApiGateway(e: Estimate, book: PriceBook): ApiGatewayComparison {
  const a = e.assumptions;
  const H = a.hoursPerMonth;
  const seconds = H * 3600;
  const units = Math.max(1, Math.ceil(e.load.msgBytes / APIGW_MESSAGE_UNIT_BYTES));
  const warnings: string[] = [];
  if (e.load.msgBytes > APIGW_MAX_MESSAGE_BYTES) {
    warnings.push(`API Gateway cannot carry ${e.load.msgBytes}-byte messages (limit 128 KB)`);
  }
  // A connection needs keep-alives only while nothing flows for longer than the idle timeout. With
  // deliveries arriving at random (a Poisson stream of msgRate per connection), the share of
  // connections that receive nothing for that long is e^(−msgRate × timeout).
  const idleShare = Math.exp(-e.load.msgRate * APIGW_IDLE_TIMEOUT_SECONDS);
  const regions = e.regions.map((r) => {
    const t = r.traffic;
    const c: Ctx = { book, region: r.region, lines: [] };
    const minutes = (t.connections * H * 60) / 1e6;
    flat(
      c,
      'API Gateway',
      'connection minutes',
      'apiGatewayWebSocket.connectionMinutes',
      minutes,
      `${whole(t.connections)} connections × ${H * 60} min`,
    );
    const keepalivesPerSecond = (t.connections * idleShare) / a.apiGatewayKeepaliveSeconds;
    const perSecond = (t.deliveriesPerSecond + t.publishesPerSecond) * units + keepalivesPerSecond;
    tieredLine(
      c,
      'API Gateway',
      'messages',
      'apiGatewayWebSocket.messages',
      (perSecond * seconds) / 1e6,
      `(deliveries + publishes) × ${units} unit(s) of 32 KB + a keep-alive every ${a.apiGatewayKeepaliveSeconds} s from the idle share`,
    );
    // API Gateway sends the deliveries, handshakes and acks the fleet sends, but none of the
    // gateway's keep-alive frames: it sends no pings of its own, and the SDK's pings are wsgw's.
    // It acknowledges each client keep-alive with a bare ACK.
    const outBytes =
      t.bytesOutPerSecond - t.keepaliveBytesOutPerSecond + keepalivesPerSecond * a.tcpIpHeaderBytes;
    tieredLine(
      c,
      'Data transfer',
      'internet out',
      'dataTransfer.internetOut',
      (outBytes * seconds) / BYTES_PER_GB,
      "the fleet's bytes less its keep-alives",
    );
    const lines = c.lines;
    const reconnectMinutes = Math.min(e.load.sessionMinutes, APIGW_MAX_CONNECTION_MINUTES);
    const newPerSecond = t.connections / (reconnectMinutes * 60);
    if (newPerSecond > APIGW_NEW_CONNECTIONS_QUOTA) {
      warnings.push(
        `${r.region}: ${Math.round(newPerSecond)} new connections/s (sessions capped at 2 h) exceed API Gateway's default quota of ${APIGW_NEW_CONNECTIONS_QUOTA}/s`,
      );
    }
    // Every delivery is an @connections callback; publishes and keep-alives are client messages.
    const requestsPerSecond =
      t.deliveriesPerSecond + t.publishesPerSecond + keepalivesPerSecond + newPerSecond;
    if (requestsPerSecond > APIGW_REQUESTS_QUOTA) {
      warnings.push(
        `${r.region}: ${whole(requestsPerSecond)} API Gateway requests/s (@connections callbacks, client messages, new connections) exceed the default account quota of ${whole(APIGW_REQUESTS_QUOTA)}/s per region`,
      );
    }
    return {
      region: r.region,
      lines,
      usd: lines.reduce((s, l) => s + l.usd, 0),
      idleShare,
      keepalivesPerSecond,
      requestsPerSecond,
    };
  });
  const usd = regions.reduce((s, r) => s + r.usd, 0);
  const percent = idleShare * 100;
  return {
    regions,
    usd,
    usdPerMillionConnections: e.load.connections > 0 ? usd / (e.load.connections / 1e6) : null,
    ratioToFleet: e.usd > 0 ? usd / e.usd : null,
    assumptions: [
      `keep-alives only from connections that receive nothing for ${APIGW_IDLE_TIMEOUT_SECONDS / 60} minutes (API Gateway's idle timeout): ` +
        `with deliveries at random, ${+e.load.msgRate.toPrecision(3)}/s per connection, e^(−${+(e.load.msgRate * APIGW_IDLE_TIMEOUT_SECONDS).toPrecision(3)}) = ` +
        `${percent >= 1 ? percent.toFixed(1) : percent >= 1e-4 ? +percent.toPrecision(2) : 'under 0.0001'} % of them, each sending one every ${a.apiGatewayKeepaliveSeconds} s`,
      `requests per second against the default account quota of ${whole(APIGW_REQUESTS_QUOTA)}/s per region (all API Gateway APIs of the account share it): ` +
        regions.map((x) => `${x.region} ${whole(x.requestsPerSecond)}`).join(', '),
    ],
    warnings,
    excludes: [
      'the compute that fans messages out (each delivery is an @connections POST from your code)',
      'the connection registry (e.g. DynamoDB) and cross-region replication',
      'reconnects forced by the 2-hour connection limit',
    ],
  };
}

/** The load-balancer lines for ALB, NLB with TLS, and NLB passing TCP. */
export function compareLoadBalancers(
  d: Deployment,
  load: Load,
  book: PriceBook,
  a: Assumptions,
): LoadBalancerOption[] {
  return (['alb', 'nlb-tls', 'nlb-tcp'] as const).map((kind) => {
    const e = estimate({ ...d, loadBalancer: kind }, load, book, a);
    const lbService = kind === 'alb' ? 'ALB' : kind === 'nlb-tls' ? 'NLB (TLS)' : 'NLB (TCP)';
    const usd = e.regions.reduce(
      (s, r) =>
        s +
        r.lines.filter((l) => l.service === lbService || l.service === 'ACM').reduce((x, l) => x + l.usd, 0),
      0,
    );
    return {
      kind,
      name: LB_NAMES[kind],
      usd,
      regions: e.regions.map((r) => ({
        region: r.region,
        units: r.loadBalancer.units,
        dominant: r.loadBalancer.dominant,
      })),
      note: LB_NOTES[kind],
    };
  });
}

/** Both cross-region modes for the same load, and the publish rate where they cost the same. */
export function compareCrossRegion(
  d: Deployment,
  load: Load,
  book: PriceBook,
  a: Assumptions,
  resolvedPublishRate: number,
): CrossRegionComparison | null {
  if (d.regions.length < 2) return null;
  const total = (mode: CrossRegionMode, publishRate: number): number =>
    estimate({ ...d, crossRegion: mode }, { ...load, publishRate }, book, a).usd;
  const usd = {
    replicator: total('replicator', resolvedPublishRate),
    direct: total('direct', resolvedPublishRate),
  };
  // replicator − direct is linear in the publish rate (everything else is identical in both
  // modes), so two evaluations give its intercept and slope.
  const p1 = Math.max(resolvedPublishRate, 1);
  const diff0 = total('replicator', 0) - total('direct', 0);
  const diff1 = total('replicator', p1) - total('direct', p1);
  const slope = (diff1 - diff0) / p1;
  let breakEvenPublishRate: number | null = null;
  if (slope !== 0) {
    const p = -diff0 / slope;
    if (p > 0 && Number.isFinite(p)) breakEvenPublishRate = p;
  }
  const cheaperAtLowRates: CrossRegionMode =
    diff0 > 0 || (diff0 === 0 && slope > 0) ? 'direct' : 'replicator';
  const delta = usd.replicator - usd.direct;
  return {
    configured: d.crossRegion,
    usd,
    cheaper: Math.abs(delta) < 0.005 ? 'equal' : delta < 0 ? 'replicator' : 'direct',
    breakEvenPublishRate,
    cheaperAtLowRates,
  };
}

/** The estimate plus every comparison. */
export function buildReport(d: Deployment, load: Load, book: PriceBook, a: Assumptions): Report {
  const e = estimate(d, load, book, a);
  return {
    estimate: e,
    apiGateway: compareApiGateway(e, book),
    loadBalancers: compareLoadBalancers(d, load, book, a),
    crossRegion: compareCrossRegion(d, load, book, a, e.load.publishRate),
    compression: compareCompression(d, load, book, a, e),
  };
}
