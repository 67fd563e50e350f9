import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PORT,
  DEFAULT_TOPIC_PREFIX,
  ENV,
  TIMING_DEFAULTS,
} from '../../services/shared/src/constants.js';
import { AWS_REGIONS } from '../../infra/stack-config.js';
import { CLIENT_DEFAULTS } from '../../services/client/src/client.js';
import {
  FARGATE_MAX_STOP_TIMEOUT_S,
  REDIRECT_PORT,
  GLOBAL_ACCELERATOR_TCP_IDLE_TIMEOUT_S,
  REDIS_ENV,
  planRedis,
  redisIds,
  redisNodeIds,
  redisUrl,
  gatewayTiming,
  SCALING,
  deriveTiming,
  describeNat,
  ecrRepositoryArnFromImage,
  gatewayEnvironment,
  kafkaArns,
  natGatewayCount,
  originTopic,
  originTopicPattern,
  peeringPairs,
  planMsk,
  planSubnets,
  replicationPairs,
  replicatorName,
  serviceName,
  shortRegion,
} from '../../infra/plan.js';

describe('deriveTiming', () => {
  const t = deriveTiming();

  it('keeps the load balancer idle timeout at three of the longest silences of a live connection', () => {
    expect(t.maxSilenceS).toBe(
      Math.max(TIMING_DEFAULTS.pingIntervalMs, CLIENT_DEFAULTS.pingIntervalMs) / 1000,
    );
    expect(t.lbIdleTimeoutS).toBe(Math.max(60, 3 * t.maxSilenceS));
    // Clients that ping less often than the gateway set the silence.
    expect(deriveTiming(TIMING_DEFAULTS, 120_000)).toMatchObject({ maxSilenceS: 120, lbIdleTimeoutS: 360 });
  });

  // AWS rule: "idle timeout for TCP connections is 340 seconds", fixed (AWS Global Accelerator
  // Developer Guide, How AWS Global Accelerator works,
  // https://docs.aws.amazon.com/global-accelerator/latest/dg/introduction-how-it-works.html).
  it('refuses a silence Global Accelerator would cut', () => {
    expect(() => deriveTiming(TIMING_DEFAULTS, GLOBAL_ACCELERATOR_TCP_IDLE_TIMEOUT_S * 1000)).toThrow(
      /340 s/,
    );
    expect(() =>
      deriveTiming({ ...TIMING_DEFAULTS, pingIntervalMs: 400_000, idleTimeoutMs: 400_000 }),
    ).toThrow(RangeError);
    expect(deriveTiming(TIMING_DEFAULTS, 339_000).lbIdleTimeoutS).toBe(1017);
  });

  it("runs the gateway with the stack's ping interval and otherwise its defaults", () => {
    expect(gatewayTiming({ pingSeconds: 120 })).toEqual({ ...TIMING_DEFAULTS, pingIntervalMs: 120_000 });
    expect(deriveTiming(gatewayTiming({ pingSeconds: 300 }), 120_000)).toMatchObject({
      maxSilenceS: 300,
      lbIdleTimeoutS: 900,
      gateway: { pingIntervalMs: 300_000 },
    });
  });

  it('covers the drain delay and close window with the deregistration delay', () => {
    expect(t.deregistrationDelayS * 1000).toBeGreaterThanOrEqual(
      TIMING_DEFAULTS.drainDelayMs + TIMING_DEFAULTS.drainWindowMs,
    );
  });

  it('lets the drain deadline finish before ECS kills the task, within Fargate limits', () => {
    expect(t.stopTimeoutS * 1000).toBeGreaterThan(TIMING_DEFAULTS.drainDeadlineMs);
    expect(t.stopTimeoutS).toBeLessThanOrEqual(FARGATE_MAX_STOP_TIMEOUT_S);
  });

  it('notices /readyz turning 503 within the drain delay', () => {
    expect(t.healthCheck.intervalS * t.healthCheck.unhealthyThreshold * 1000).toBeLessThanOrEqual(
      TIMING_DEFAULTS.drainDelayMs,
    );
    expect(t.healthCheck.timeoutS).toBeLessThan(t.healthCheck.intervalS);
  });

  it('follows the gateway when its timings change', () => {
    const slow = deriveTiming({
      ...TIMING_DEFAULTS,
      pingIntervalMs: 50_000,
      drainDelayMs: 20_000,
      drainWindowMs: 60_000,
      drainDeadlineMs: 100_000,
    });
    expect(slow).toMatchObject({ lbIdleTimeoutS: 150, deregistrationDelayS: 80, stopTimeoutS: 110 });
    expect(slow.healthCheck.unhealthyThreshold).toBe(4);
  });

  it('refuses a drain deadline Fargate cannot honour', () => {
    expect(() => deriveTiming({ ...TIMING_DEFAULTS, drainDeadlineMs: 115_000 })).toThrow(RangeError);
  });

  it('scales in more slowly than out', () => {
    expect(SCALING.scaleInCooldownS).toBeGreaterThan(SCALING.scaleOutCooldownS);
  });
});

describe('planSubnets', () => {
  it('gives each AZ one public /22 and one private /19 inside the /16, without overlap', () => {
    for (let az = 2; az <= 6; az++) {
      const p = planSubnets('10.20.0.0/16', az);
      expect(p.public).toHaveLength(az);
      expect(p.private).toHaveLength(az);
      const ranges = [...p.public, ...p.private].map((c) => {
        const [ip, bits] = c.split('/');
        const [a, b, third] = ip!.split('.').map(Number);
        expect([a, b]).toEqual([10, 20]);
        const start = third! * 256;
        return [start, start + 2 ** (32 - Number(bits))] as const;
      });
      ranges.sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
      expect(ranges.at(-1)![1]).toBeLessThanOrEqual(65536);
    }
  });

  it('rejects anything but a /16', () => {
    expect(() => planSubnets('10.0.0.0/20', 2)).toThrow(/needs a \/16/);
  });
});

describe('NAT', () => {
  it('counts gateways per mode and says what they cost', () => {
    expect([natGatewayCount('perAz', 3), natGatewayCount('single', 3), natGatewayCount('none', 3)]).toEqual([
      3, 1, 0,
    ]);
    expect(describeNat('perAz', 3)).toMatch(/3 NAT gateways .*\$99\/month/);
    expect(describeNat('single', 2)).toMatch(/1 NAT gateway: ~\$33\/month/);
    expect(describeNat('none', 2)).toMatch(/\$0/);
  });
});

describe('planMsk', () => {
  it('uses RF 3 / min ISR 2 once there are three brokers', () => {
    expect(planMsk(1, 3)).toEqual({ brokerCount: 3, replicationFactor: 3, minInsyncReplicas: 2 });
    expect(planMsk(2, 3)).toEqual({ brokerCount: 6, replicationFactor: 3, minInsyncReplicas: 2 });
  });
  it('shrinks for a two-broker dev cluster without refusing writes on one loss', () => {
    expect(planMsk(1, 2)).toEqual({ brokerCount: 2, replicationFactor: 2, minInsyncReplicas: 1 });
  });
});

describe('replication planning', () => {
  it('creates n(n-1) ordered pairs, none to itself', () => {
    for (let n = 1; n <= 6; n++) {
      const regions = AWS_REGIONS.slice(0, n);
      const pairs = replicationPairs(regions);
      expect(pairs).toHaveLength(n * (n - 1));
      expect(pairs.every((p) => p.source !== p.target)).toBe(true);
      expect(new Set(pairs.map((p) => `${p.source}>${p.target}`)).size).toBe(pairs.length);
    }
  });

  it('peers each unordered pair once', () => {
    expect(peeringPairs(['a', 'b', 'c'])).toEqual([
      { source: 'a', target: 'b' },
      { source: 'a', target: 'c' },
      { source: 'b', target: 'c' },
    ]);
  });

  it('matches exactly one origin topic with the replicator pattern', () => {
    const pattern = new RegExp(`^(?:${originTopicPattern('eu-west-1')})$`);
    expect(originTopic('eu-west-1')).toBe(`${DEFAULT_TOPIC_PREFIX}eu-west-1`);
    expect(pattern.test('wsgw.fanout.eu-west-1')).toBe(true);
    expect(pattern.test('wsgwXfanout.eu-west-1')).toBe(false);
    expect(pattern.test('wsgw.fanout.eu-west-12')).toBe(false);
    expect(pattern.test('wsgw.fanout.us-east-1')).toBe(false);
  });

  it('gives every region a distinct short name and replicators names within limits', () => {
    const shorts = AWS_REGIONS.map(shortRegion);
    expect(new Set(shorts).size).toBe(AWS_REGIONS.length);
    expect(shortRegion('ap-southeast-1')).toBe('apse1');
    expect(replicatorName('wsgw-prod', { source: 'eu-west-1', target: 'us-east-1' })).toBe(
      'wsgw-prod-euw1-to-use1',
    );
  });
});

describe('kafkaArns', () => {
  const arns = kafkaArns(
    'arn:aws:kafka:eu-west-1:123456789012:cluster/wsgw-prod-euw1/0a1b2c3d-1111-2222-3333-444455556666-2',
  );
  it('derives topic and group ARNs of the same cluster', () => {
    expect(arns.topic('wsgw.fanout.eu-west-1')).toBe(
      'arn:aws:kafka:eu-west-1:123456789012:topic/wsgw-prod-euw1/0a1b2c3d-1111-2222-3333-444455556666-2/wsgw.fanout.eu-west-1',
    );
    expect(arns.groups).toBe(
      'arn:aws:kafka:eu-west-1:123456789012:group/wsgw-prod-euw1/0a1b2c3d-1111-2222-3333-444455556666-2/*',
    );
  });
  it('rejects other ARNs', () => {
    expect(() => kafkaArns('arn:aws:s3:::bucket')).toThrow(/not an MSK cluster ARN/);
  });
});

// AWS rule: AWS charges for every public IPv4 address, in use or not, $0.005 per IP per hour
// (Amazon VPC pricing, Public IPv4 address, https://aws.amazon.com/vpc/pricing/): `nat: none` saves
// the NAT gateways but gives every task a public address.
describe('describeNat', () => {
  it('prices the public IPv4 address every task gets without NAT', () => {
    expect(describeNat('none', 2)).toMatch(/public IPv4 address per task/);
    expect(describeNat('none', 2)).not.toMatch(/\(\$0\)/);
    expect(describeNat('perAz', 3)).toMatch(/^3 NAT gateways/);
  });
});

describe('images', () => {
  it('scopes pulls to the ECR repository of a prebuilt image, and to nothing outside ECR', () => {
    expect(ecrRepositoryArnFromImage('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/gw:1.2.3')).toBe(
      'arn:aws:ecr:eu-west-1:123456789012:repository/team/gw',
    );
    expect(ecrRepositoryArnFromImage('123456789012.dkr.ecr.eu-west-1.amazonaws.com/gw@sha256:abc')).toBe(
      'arn:aws:ecr:eu-west-1:123456789012:repository/gw',
    );
    expect(ecrRepositoryArnFromImage('ghcr.io/acme/wsgw:1.0')).toBeUndefined();
  });
});

describe('gatewayEnvironment', () => {
  it('wires the gateway to MSK with IAM and passes the timings the infra was derived from', () => {
    const env = gatewayEnvironment({
      region: 'eu-west-1',
      serviceName: serviceName('prod', 'eu-west-1'),
      brokers: 'b-1:9098,b-2:9098',
    });
    expect(env).toMatchObject({
      [ENV.port]: String(DEFAULT_PORT),
      [ENV.region]: 'eu-west-1',
      [ENV.awsRegion]: 'eu-west-1',
      [ENV.serviceName]: 'wsgw-prod-eu-west-1',
      [ENV.kafkaBrokers]: 'b-1:9098,b-2:9098',
      [ENV.kafkaAuth]: 'msk-iam',
      [ENV.drainDelayMs]: String(TIMING_DEFAULTS.drainDelayMs),
      [ENV.drainWindowMs]: String(TIMING_DEFAULTS.drainWindowMs),
      [ENV.drainDeadlineMs]: String(TIMING_DEFAULTS.drainDeadlineMs),
      [ENV.pingIntervalMs]: String(TIMING_DEFAULTS.pingIntervalMs),
      NODE_ENV: 'production',
    });
    expect(env[ENV.kafkaRemoteBrokers]).toBeUndefined();
    expect(env[ENV.jwtSecret]).toBeUndefined();
  });

  it("lists the other regions' brokers in direct mode", () => {
    const env = gatewayEnvironment({
      region: 'a',
      serviceName: 's',
      brokers: 'x:9098',
      remoteBrokers: { b: 'y:9098,z:9098', c: 'w:9098' },
      allowedOrigins: ['https://app.example.com'],
    });
    expect(env[ENV.kafkaRemoteBrokers]).toBe('b=y:9098,z:9098;c=w:9098');
    expect(env[ENV.allowedOrigins]).toBe('https://app.example.com');
  });

  it('passes the keep-alive skip, the history bound and the certificate the tasks terminate TLS with', () => {
    const env = gatewayEnvironment({
      region: 'a',
      serviceName: 's',
      brokers: 'x:9098',
      skipPingAfterClientFrame: true,
      historyMaxBytes: 2 ** 28,
      tlsCertificateArn: 'arn:aws:acm:a:123456789012:certificate/abc',
    });
    expect(env[ENV.pingSkipActive]).toBe('true');
    expect(env[ENV.historyMaxBytes]).toBe(String(2 ** 28));
    expect(env[ENV.tlsAcmCertificateArn]).toBe('arn:aws:acm:a:123456789012:certificate/abc');
    expect(env[ENV.httpRedirectPort]).toBe(String(REDIRECT_PORT));
    const plain = gatewayEnvironment({ region: 'a', serviceName: 's', brokers: 'x:9098' });
    for (const k of [ENV.pingSkipActive, ENV.tlsAcmCertificateArn, ENV.httpRedirectPort])
      expect(plain[k]).toBeUndefined();
  });

  it("maps the region's zone names to zone ids for the Kafka rack", () => {
    const env = gatewayEnvironment({
      region: 'us-east-1',
      serviceName: 's',
      brokers: 'x:9098',
      zoneIds: { 'us-east-1a': 'use1-az6', 'us-east-1b': 'use1-az1' },
    });
    expect(env[ENV.kafkaRackMap]).toBe('us-east-1a=use1-az6,us-east-1b=use1-az1');
    expect(
      gatewayEnvironment({ region: 'a', serviceName: 's', brokers: 'x:9098' })[ENV.kafkaRackMap],
    ).toBeUndefined();
  });
});

describe('planRedis', () => {
  const nodes = {
    mode: 'nodes',
    nodeType: 'cache.t4g.small',
    replicas: 1,
    engineVersion: '8.0',
    maxDataGB: 1,
    maxEcpuPerSecond: 5000,
  } as const;

  // AWS rule: Multi-AZ fails the primary over to a read replica, so it needs automatic failover,
  // and automatic failover needs a replica to promote (Amazon ElastiCache User Guide, Minimizing
  // downtime in ElastiCache by using Multi-AZ,
  // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html).
  it('turns on failover and Multi-AZ exactly when there is a replica, and waits for one replica', () => {
    for (let replicas = 0; replicas <= 5; replicas++) {
      const p = planRedis({ ...nodes, replicas });
      expect(p.nodes).toBe(1 + replicas);
      expect(p.automaticFailover).toBe(replicas >= 1);
      expect(p.multiAz).toBe(replicas >= 1);
      if (p.multiAz) expect(p.automaticFailover).toBe(true);
      expect(p.waitReplicas).toBe(replicas >= 1 ? 1 : undefined);
      expect(p.ports).toEqual({ from: 6379, to: 6379 });
    }
  });

  it('opens the reader port for serverless, which has no WAIT to offer', () => {
    const p = planRedis({ ...nodes, mode: 'serverless' });
    expect(p).toMatchObject({ nodes: 0, ports: { from: 6379, to: 6380 } });
    expect(p.waitReplicas).toBeUndefined();
  });

  it('names caches and users within the API limits, per stack and region', () => {
    const ids = redisIds('dev', 'us-east-1');
    expect(ids).toEqual({
      cache: 'wsgw-dev-use1',
      userGroup: 'wsgw-dev-use1',
      user: 'wsgw-dev-use1-gw',
      defaultUser: 'wsgw-dev-use1-default',
    });
    const long = redisIds('A_Very_Long_Stack_Name_For_Testing-purposes', 'ap-southeast-1');
    expect(long.cache.length).toBeLessThanOrEqual(40);
    expect(long.cache).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
    expect(long.cache).not.toContain('--');
    expect(redisIds('prod', 'eu-west-1').cache).not.toBe(redisIds('prod', 'us-east-1').cache);
  });

  it('names the nodes of a replication group as ElastiCache does', () => {
    expect(redisNodeIds('wsgw-dev-use1', 2)).toEqual(['wsgw-dev-use1-001', 'wsgw-dev-use1-002']);
  });

  it('builds TLS URLs without the password', () => {
    expect(redisUrl('master.x.cache.amazonaws.com', 6379)).toBe('rediss://master.x.cache.amazonaws.com:6379');
    expect(redisUrl('x.serverless.cache.amazonaws.com', 6379, 'wsgw')).toBe(
      'rediss://wsgw@x.serverless.cache.amazonaws.com:6379',
    );
  });

  it('gives the task the Redis settings and no Kafka ones on the Redis bus', () => {
    const env = gatewayEnvironment({
      region: 'us-east-1',
      serviceName: 'wsgw-dev-us-east-1',
      redis: {
        url: 'rediss://a:6379',
        remotes: { 'eu-west-1': 'rediss://b:6379', 'ap-southeast-1': 'rediss://c:6379' },
        waitReplicas: 1,
      },
    });
    expect(env[REDIS_ENV.url]).toBe('rediss://a:6379');
    expect(env[REDIS_ENV.remotes]).toBe('eu-west-1=rediss://b:6379;ap-southeast-1=rediss://c:6379');
    expect(env[REDIS_ENV.waitReplicas]).toBe('1');
    expect(env[REDIS_ENV.password]).toBeUndefined();
    expect(Object.keys(env).filter((k) => k.startsWith('WSGW_KAFKA_'))).toEqual([]);
    const kafka = gatewayEnvironment({ region: 'us-east-1', serviceName: 's', brokers: 'b-1:9098' });
    expect(Object.keys(kafka).filter((k) => k.startsWith('WSGW_REDIS_'))).toEqual([]);
  });
});
