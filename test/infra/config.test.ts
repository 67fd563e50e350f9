import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readPulumiConfig } from '../../infra/config.js';
import { CLIENT_DEFAULTS } from '../../services/client/src/client.js';
import { TIMING_DEFAULTS } from '../../services/shared/src/constants.js';
import { maxConnectionsPerTask } from '../../infra/capacity.js';
import {
  StackConfigError,
  cidrRange,
  cidrsOverlap,
  COMPARISON_MSK,
  configKey,
  parseStackConfig,
  readStackFile,
  redisAuthTokenIssues,
} from '../../infra/stack-config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A valid minimal stack; each error test breaks one thing. */
function base(): Record<string, unknown> {
  return {
    'wsgw:domain': 'ws.example.com',
    'wsgw:cloudflareZoneId': '0123456789abcdef0123456789abcdef',
    'wsgw:regions': [{ name: 'us-east-1', cidr: '10.16.0.0/16', minTasks: 1, maxTasks: 4 }],
    'wsgw:msk': { instanceType: 'kafka.m7g.large' },
  };
}

/** Two created regions with their own ranges; the first is home. */
function twoRegions(r: Record<string, unknown>): void {
  r['wsgw:regions'] = [
    { name: 'us-east-1', cidr: '10.16.0.0/16', minTasks: 1, maxTasks: 2 },
    { name: 'eu-west-1', cidr: '10.17.0.0/16', minTasks: 1, maxTasks: 2 },
  ];
  r['wsgw:homeRegion'] = 'us-east-1';
}

function issuesOf(raw: Record<string, unknown>): string[] {
  try {
    parseStackConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    return [...(err as StackConfigError).issues];
  }
  throw new Error('expected a StackConfigError');
}

describe('parseStackConfig', () => {
  describe('example stacks', () => {
    it('parses Pulumi.dev.yaml: one region at the cheapest sizes, on the Redis bus', () => {
      const c = parseStackConfig(readStackFile(join(ROOT, 'Pulumi.dev.yaml')));
      expect(c.regions.map((r) => r.name)).toEqual(['us-east-1']);
      expect(c.bus).toBe('redis');
      expect(c.redis).toMatchObject({ mode: 'nodes', nodeType: 'cache.t4g.micro', replicas: 1 });
      expect(c.task).toEqual({ cpu: 256, memory: 512, architecture: 'ARM64' });
      expect(c.network.nat).toBe('none');
      expect(c.msk.instanceType).toBe('kafka.t3.small');
      expect(c.homeRegion).toBe('us-east-1');
      expect(c.auth).toEqual({ mode: 'jwt-secret' });
    });

    it('parses Pulumi.prod.yaml: three regions with the replicator', () => {
      const c = parseStackConfig(readStackFile(join(ROOT, 'Pulumi.prod.yaml')));
      expect(c.regions.map((r) => r.name)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-1']);
      expect(c.regions.map((r) => r.cidr)).toEqual(['10.16.0.0/16', '10.17.0.0/16', '10.18.0.0/16']);
      expect(c.msk.crossRegion).toBe('replicator');
      expect(c.bus).toBe('kafka');
      expect(c.network).toEqual({ nat: 'perAz', azCount: 3 });
      expect(c.alarmEmail).toBe('oncall@example.com');
    });

    it('parses Pulumi.prod-lean.yaml: TLS in the tasks behind NLBs, lean keep-alives, direct reads', () => {
      const c = parseStackConfig(readStackFile(join(ROOT, 'Pulumi.prod-lean.yaml')));
      expect(c.regions.map((r) => r.name)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-1']);
      expect(c.edge).toBe('nlb');
      expect(c.keepalive.clientPingSeconds).toBeGreaterThan(CLIENT_DEFAULTS.pingIntervalMs / 1000);
      expect(c.msk.crossRegion).toBe('direct');
      expect(c.network.azCount).toBeGreaterThanOrEqual(2);
      expect(c.connectionsPerTask).toBeLessThanOrEqual(maxConnectionsPerTask(c.task.memory, 'nlb'));
      expect(c.alarmEmail).toBeDefined();
    });
  });

  it('returns a deeply frozen object', () => {
    const c = parseStackConfig(base());
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.regions)).toBe(true);
    expect(Object.isFrozen(c.regions[0])).toBe(true);
    expect(Object.isFrozen(c.msk)).toBe(true);
  });

  it('applies documented defaults', () => {
    const c = parseStackConfig(base());
    expect(c.connectionsPerTask).toBe(10_000);
    expect(c.task).toEqual({ cpu: 1024, memory: 2048, architecture: 'ARM64' });
    expect(c.network).toEqual({ nat: 'perAz', azCount: 2 });
    expect(c.msk).toMatchObject({
      brokersPerAz: 1,
      volumeGiB: 100,
      kafkaVersion: '3.6.0',
      partitions: 12,
      retentionHours: 24,
      crossRegion: 'replicator',
      zoneLocalReads: false,
    });
    expect(c.logRetentionDays).toBe(14);
    expect(c.bus).toBe('kafka');
    expect(c.redis).toEqual({
      mode: 'nodes',
      nodeType: 'cache.t4g.small',
      replicas: 1,
      engineVersion: '8.0',
      maxDataGB: 1,
      maxEcpuPerSecond: 5000,
    });
    expect(c.allowedOrigins).toEqual([]);
    expect(c.image).toBeUndefined();
    expect(c.edge).toBe('alb');
    expect(c.keepalive).toEqual({
      pingSeconds: 120,
      clientPingSeconds: CLIENT_DEFAULTS.pingIntervalMs / 1000,
      skipPingAfterClientFrame: false,
    });
  });

  describe("connectionsPerTask against the task's memory", () => {
    it('accepts the most a task holds and refuses one thousand more, naming both keys and the figures', () => {
      for (const [edge, cpu, memory] of [
        ['alb', 256, 512],
        ['nlb', 512, 4096],
        ['nlb', 1024, 2048],
      ] as const) {
        const most = maxConnectionsPerTask(memory, edge);
        const raw = {
          ...base(),
          'wsgw:edge': edge,
          'wsgw:task': { cpu, memory },
          'wsgw:connectionsPerTask': most,
        };
        expect(parseStackConfig(raw).connectionsPerTask).toBe(most);
        const issues = issuesOf({ ...raw, 'wsgw:connectionsPerTask': most + 1000 });
        expect(issues).toEqual([
          expect.stringMatching(
            new RegExp(
              `^wsgw:connectionsPerTask: ${most + 1000} connections do not fit a task of ${memory} MiB \\(wsgw:task\\.memory\\) with wsgw:edge ${edge}: .* kB each .*; at most ${most}$`,
            ),
          ),
        ]);
      }
    });

    it('holds several times the connections when the load balancer keeps TLS out of the task', () => {
      expect(maxConnectionsPerTask(2048, 'alb')).toBeGreaterThan(3 * maxConnectionsPerTask(2048, 'nlb'));
      const raw = {
        ...base(),
        'wsgw:task': { cpu: 1024, memory: 2048 },
        'wsgw:connectionsPerTask': maxConnectionsPerTask(2048, 'alb'),
      };
      expect(parseStackConfig(raw).edge).toBe('alb');
      expect(issuesOf({ ...raw, 'wsgw:edge': 'nlb' })).toEqual([
        expect.stringMatching(/^wsgw:connectionsPerTask: .* with wsgw:edge nlb: /),
      ]);
    });
  });

  it('accepts values as the Pulumi runtime passes them (JSON strings, unprefixed keys)', () => {
    const c = parseStackConfig({
      domain: 'ws.example.com',
      cloudflareZoneId: '0123456789abcdef0123456789abcdef',
      regions: JSON.stringify([{ name: 'eu-west-1', cidr: '10.20.0.0/16', minTasks: 2, maxTasks: 8 }]),
      connectionsPerTask: '25000',
      msk: JSON.stringify({ instanceType: 'kafka.m5.large', crossRegion: 'direct' }),
      'aws:region': 'eu-west-1',
      'pulumi:disable-default-providers': '["aws"]',
    });
    expect(c.connectionsPerTask).toBe(25_000);
    expect(c.regions[0]).toMatchObject({ name: 'eu-west-1', minTasks: 2, maxTasks: 8 });
    expect(c.msk.crossRegion).toBe('direct');
  });

  it('keeps secrets out of the parsed object', () => {
    const c = parseStackConfig({
      ...base(),
      'wsgw:jwtSecret': 's3cret',
      'wsgw:publishKey': { secure: 'v1:abc' },
    });
    expect(JSON.stringify(c)).not.toContain('s3cret');
    expect(JSON.stringify(c)).not.toContain('publishKey');
  });

  it('switches to JWKS auth when jwksUrl is set', () => {
    expect(
      parseStackConfig({ ...base(), 'wsgw:jwksUrl': 'https://id.example.com/.well-known/jwks.json' }).auth,
    ).toEqual({
      mode: 'jwks',
      jwksUrl: 'https://id.example.com/.well-known/jwks.json',
    });
  });

  it('takes an existing VPC instead of a CIDR', () => {
    const c = parseStackConfig({
      ...base(),
      'wsgw:regions': [
        {
          name: 'us-east-1',
          minTasks: 1,
          maxTasks: 2,
          vpc: {
            id: 'vpc-0abc',
            publicSubnetIds: ['subnet-1', 'subnet-2'],
            privateSubnetIds: ['subnet-3', 'subnet-4'],
          },
        },
      ],
    });
    expect(c.regions[0]!.vpc?.id).toBe('vpc-0abc');
    expect(c.regions[0]!.cidr).toBeUndefined();
  });

  it("counts each region's brokers over the AZs it really spans", () => {
    const c = parseStackConfig({
      ...base(),
      'wsgw:homeRegion': 'us-east-1',
      'wsgw:network': { azCount: 2 },
      'wsgw:msk': { instanceType: 'kafka.m5.large', brokersPerAz: 2 },
      'wsgw:regions': [
        { name: 'us-east-1', cidr: '10.16.0.0/16', minTasks: 1, maxTasks: 2 },
        {
          name: 'eu-west-1',
          minTasks: 1,
          maxTasks: 2,
          vpc: {
            id: 'vpc-1',
            cidr: '10.40.0.0/16',
            publicSubnetIds: ['subnet-1', 'subnet-2'],
            privateSubnetIds: ['subnet-3', 'subnet-4', 'subnet-5'],
          },
        },
      ],
    });
    expect(c.regions.map((r) => [r.name, r.azCount, r.brokerCount])).toEqual([
      ['us-east-1', 2, 4],
      ['eu-west-1', 3, 6],
    ]);
  });

  describe('errors name the key', () => {
    const cases: [string, (raw: Record<string, unknown>) => void, RegExp][] = [
      ['missing domain', (r) => delete r['wsgw:domain'], /^wsgw:domain: is required/],
      ['bad domain', (r) => (r['wsgw:domain'] = 'not a host'), /^wsgw:domain: must be a lower-case hostname/],
      ['missing zone', (r) => delete r['wsgw:cloudflareZoneId'], /^wsgw:cloudflareZoneId: is required/],
      [
        'bad zone',
        (r) => (r['wsgw:cloudflareZoneId'] = 'zone-1'),
        /^wsgw:cloudflareZoneId: must be a 32-character hex/,
      ],
      ['missing msk', (r) => delete r['wsgw:msk'], /^wsgw:msk: is required/],
      ['no regions', (r) => (r['wsgw:regions'] = []), /^wsgw:regions: needs at least one region/],
      [
        'unknown region',
        (r) => (r['wsgw:regions'] = [{ name: 'us-east-9', cidr: '10.16.0.0/16', minTasks: 1, maxTasks: 2 }]),
        /^wsgw:regions\[0\]\.name: unknown AWS region "us-east-9"/,
      ],
      [
        'duplicate region',
        (r) =>
          (r['wsgw:regions'] = [
            { name: 'us-east-1', cidr: '10.16.0.0/16', minTasks: 1, maxTasks: 2 },
            { name: 'us-east-1', cidr: '10.17.0.0/16', minTasks: 1, maxTasks: 2 },
          ]),
        /^wsgw:regions\[1\]\.name: duplicate region "us-east-1" \(also wsgw:regions\[0\]\)/,
      ],
      [
        'minTasks > maxTasks',
        (r) => (r['wsgw:regions'] = [{ name: 'us-east-1', minTasks: 5, maxTasks: 2 }]),
        /^wsgw:regions\[0\]\.minTasks: minTasks \(5\) is greater than maxTasks \(2\)/,
      ],
      [
        'minTasks 0',
        (r) => (r['wsgw:regions'] = [{ name: 'us-east-1', minTasks: 0, maxTasks: 2 }]),
        /^wsgw:regions\[0\]\.minTasks: must be at least 1/,
      ],
      [
        'missing maxTasks',
        (r) => (r['wsgw:regions'] = [{ name: 'us-east-1', minTasks: 1 }]),
        /^wsgw:regions\[0\]\.maxTasks: /,
      ],
      [
        'unknown region key',
        (r) => (r['wsgw:regions'] = [{ name: 'us-east-1', minTasks: 1, maxTasks: 2, size: 3 }]),
        /^wsgw:regions\[0\]\.size: unknown setting/,
      ],
      ['unknown top-level key', (r) => (r['wsgw:regoins'] = []), /^wsgw:regoins: unknown setting/],
      [
        'bad Fargate cpu',
        (r) => (r['wsgw:task'] = { cpu: 300, memory: 512 }),
        /^wsgw:task\.cpu: 300 is not a Fargate CPU size/,
      ],
      [
        'bad Fargate memory',
        (r) => (r['wsgw:task'] = { cpu: 256, memory: 4096 }),
        /^wsgw:task\.memory: 4096 MiB is not valid with 256 CPU units/,
      ],
      [
        'bad NAT mode',
        (r) => (r['wsgw:network'] = { nat: 'cheap' }),
        /^wsgw:network\.nat: must be one of perAz, single, none/,
      ],
      ['one AZ', (r) => (r['wsgw:network'] = { azCount: 1 }), /^wsgw:network\.azCount: must be at least 2/],
      [
        'bad broker type',
        (r) => (r['wsgw:msk'] = { instanceType: 'm5.large' }),
        /^wsgw:msk\.instanceType: must be an MSK broker type/,
      ],
      [
        'bad cross-region mode',
        (r) => (r['wsgw:msk'] = { instanceType: 'kafka.m5.large', crossRegion: 'mirror' }),
        /^wsgw:msk\.crossRegion: must be one of replicator, direct/,
      ],
      [
        'zone-local reads not a boolean',
        (r) => (r['wsgw:msk'] = { instanceType: 'kafka.m5.large', zoneLocalReads: 'yes' }),
        /^wsgw:msk\.zoneLocalReads: must be true or false/,
      ],
      [
        'bad volume',
        (r) => (r['wsgw:msk'] = { instanceType: 'kafka.m5.large', volumeGiB: 0 }),
        /^wsgw:msk\.volumeGiB: /,
      ],
      [
        'connectionsPerTask too small',
        (r) => (r['wsgw:connectionsPerTask'] = 10),
        /^wsgw:connectionsPerTask: must be at least 100/,
      ],
      ['unknown edge', (r) => (r['wsgw:edge'] = 'cloudfront'), /^wsgw:edge: must be one of alb, nlb/],
      // The gateway closes a connection silent for WSGW_IDLE_TIMEOUT_MS: its pings are useless past that.
      [
        'gateway ping beyond the idle timeout',
        (r) => (r['wsgw:keepalive'] = { pingSeconds: TIMING_DEFAULTS.idleTimeoutMs / 1000 + 1 }),
        /^wsgw:keepalive\.pingSeconds: must be at most 300 \(the gateway's idle timeout/,
      ],
      [
        'client pings one late ping from the idle timeout',
        (r) => (r['wsgw:keepalive'] = { clientPingSeconds: 151 }),
        /^wsgw:keepalive\.clientPingSeconds: must be at most 150: the gateway closes a client silent for 300 s/,
      ],
      [
        'skip not a boolean',
        (r) => (r['wsgw:keepalive'] = { skipPingAfterClientFrame: 'yes' }),
        /^wsgw:keepalive\.skipPingAfterClientFrame: must be true or false/,
      ],
      [
        'unknown keep-alive key',
        (r) => (r['wsgw:keepalive'] = { tcpKeepalive: true }),
        /^wsgw:keepalive\.tcpKeepalive: unknown setting/,
      ],
      [
        'connectionsPerTask not a number',
        (r) => (r['wsgw:connectionsPerTask'] = 'many'),
        /^wsgw:connectionsPerTask: /,
      ],
      [
        'bad log retention',
        (r) => (r['wsgw:logRetentionDays'] = 10),
        /^wsgw:logRetentionDays: must be one of 1, 3, 5, 7, 14/,
      ],
      [
        'bad alarm e-mail',
        (r) => (r['wsgw:alarmEmail'] = 'oncall'),
        /^wsgw:alarmEmail: must be an e-mail address/,
      ],
      [
        'http JWKS',
        (r) => (r['wsgw:jwksUrl'] = 'http://id.example.com/jwks'),
        /^wsgw:jwksUrl: must be an https URL/,
      ],
      [
        'bad CIDR',
        (r) => (r['wsgw:regions'] = [{ name: 'us-east-1', minTasks: 1, maxTasks: 2, cidr: '8.8.0.0/16' }]),
        /^wsgw:regions\[0\]\.cidr: must be a private \/16/,
      ],
      [
        'burstable brokers with the replicator',
        (r) => {
          twoRegions(r);
          r['wsgw:msk'] = { instanceType: 'kafka.t3.small', brokersPerAz: 2 };
        },
        /^wsgw:msk\.instanceType: kafka\.t3\.small cannot be a Replicator source/,
      ],
      [
        'too few brokers for the replicator',
        (r) => twoRegions(r),
        /^wsgw:msk\.brokersPerAz: MSK Replicator needs at least 4 brokers; us-east-1 gets 1 per AZ × 2 AZs = 2/,
      ],
      // AWS rule: "MSK Replicator is supported only on clusters running Apache Kafka 2.7.0 or
      // higher" and "Identical topic name replication (Keep same topic name in console) requires an
      // MSK cluster running Kafka version 2.8.1 or higher" (Amazon MSK Developer Guide, Supported
      // cluster types and versions for MSK Replicator,
      // https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-supported-clusters-versions.html).
      [
        'a Kafka version the replicator cannot copy identical topic names on',
        (r) => {
          twoRegions(r);
          r['wsgw:msk'] = { instanceType: 'kafka.m5.large', brokersPerAz: 2, kafkaVersion: '2.8.0' };
        },
        /^wsgw:msk\.kafkaVersion: MSK Replicator copying topics under identical names needs Kafka 2\.8\.1 or later; 2\.8\.0 is older/,
      ],
      // AWS rule: the Replicator needs "a minimum of three brokers in both source and target
      // clusters ... in two Availability Zones ... a minimum of four brokers" (same page), and MSK
      // spreads brokers evenly over the client subnets: an existing VPC's broker count comes from
      // its private subnets, not from wsgw:network.azCount.
      [
        'an existing VPC whose two subnets hold too few brokers for the replicator',
        (r) => {
          twoRegions(r);
          (r['wsgw:regions'] as Record<string, unknown>[])[1] = {
            name: 'eu-west-1',
            minTasks: 1,
            maxTasks: 2,
            vpc: {
              id: 'vpc-1',
              cidr: '10.40.0.0/16',
              publicSubnetIds: ['subnet-1', 'subnet-2'],
              privateSubnetIds: ['subnet-3', 'subnet-4'],
            },
          };
          r['wsgw:network'] = { azCount: 3 };
        },
        /^wsgw:msk\.brokersPerAz: MSK Replicator needs at least 4 brokers; eu-west-1 gets 1 per AZ × 2 private subnets of its VPC = 2/,
      ],
      // AWS rule: ClientSubnets: "If you use the US West (N. California) Region, specify exactly two
      // subnets. For other Regions where Amazon MSK is available, you can specify either two or three
      // subnets." (AWS CloudFormation Template Reference, AWS::MSK::Cluster BrokerNodeGroupInfo,
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-msk-cluster-brokernodegroupinfo.html).
      [
        'four AZs for a created VPC',
        (r) => (r['wsgw:network'] = { azCount: 4 }),
        /^wsgw:network\.azCount: must be at most 3 \(MSK spreads brokers over two or three AZs\)/,
      ],
      [
        'an existing VPC with four private subnets',
        (r) =>
          (r['wsgw:regions'] = [
            {
              name: 'us-east-1',
              minTasks: 1,
              maxTasks: 2,
              vpc: {
                id: 'vpc-1',
                publicSubnetIds: ['subnet-1', 'subnet-2'],
                privateSubnetIds: ['subnet-3', 'subnet-4', 'subnet-5', 'subnet-6'],
              },
            },
          ]),
        /^wsgw:regions\[0\]\.vpc\.privateSubnetIds: MSK takes two or three subnets in distinct AZs; 4 given/,
      ],
      [
        'three AZs in us-west-1',
        (r) => {
          r['wsgw:regions'] = [{ name: 'us-west-1', cidr: '10.16.0.0/16', minTasks: 1, maxTasks: 2 }];
          r['wsgw:network'] = { azCount: 3 };
        },
        /^wsgw:regions\[0\]\.name: MSK in us-west-1 takes exactly two subnets \(two AZs\); wsgw:network\.azCount gives 3/,
      ],
      [
        'a created VPC without a range',
        (r) => (r['wsgw:regions'] = [{ name: 'us-east-1', minTasks: 1, maxTasks: 2 }]),
        /^wsgw:regions\[0\]\.cidr: is required for a created VPC/,
      ],
      [
        'the same range twice',
        (r) => {
          twoRegions(r);
          (r['wsgw:regions'] as { cidr: string }[])[1]!.cidr = '10.16.0.0/16';
        },
        /^wsgw:regions\[1\]\.cidr: 10\.16\.0\.0\/16 overlaps wsgw:regions\[0\]\.cidr \(10\.16\.0\.0\/16\)/,
      ],
      [
        'an existing VPC whose range covers a created one',
        (r) => {
          twoRegions(r);
          (r['wsgw:regions'] as Record<string, unknown>[])[0] = {
            name: 'us-east-1',
            minTasks: 1,
            maxTasks: 2,
            vpc: {
              id: 'vpc-1',
              cidr: '10.0.0.0/8',
              publicSubnetIds: ['subnet-1', 'subnet-2'],
              privateSubnetIds: ['subnet-3', 'subnet-4'],
            },
          };
        },
        /^wsgw:regions\[1\]\.cidr: 10\.17\.0\.0\/16 overlaps wsgw:regions\[0\]\.vpc\.cidr \(10\.0\.0\.0\/8\)/,
      ],
      [
        'a malformed existing VPC range',
        (r) =>
          (r['wsgw:regions'] = [
            {
              name: 'us-east-1',
              minTasks: 1,
              maxTasks: 2,
              vpc: {
                id: 'vpc-1',
                cidr: '10.0.0/8',
                publicSubnetIds: ['subnet-1', 'subnet-2'],
                privateSubnetIds: ['subnet-3', 'subnet-4'],
              },
            },
          ]),
        /^wsgw:regions\[0\]\.vpc\.cidr: must be an IPv4 CIDR/,
      ],
      [
        'no home region with two regions',
        (r) => {
          twoRegions(r);
          delete r['wsgw:homeRegion'];
        },
        /^wsgw:homeRegion: is required with more than one region \(one of us-east-1, eu-west-1\)/,
      ],
      [
        'a home region that is not deployed',
        (r) => {
          twoRegions(r);
          r['wsgw:homeRegion'] = 'ap-southeast-1';
        },
        /^wsgw:homeRegion: "ap-southeast-1" is not one of wsgw:regions \(us-east-1, eu-west-1\)/,
      ],
      [
        'existing VPC without routes in direct mode',
        (r) => {
          r['wsgw:regions'] = [
            {
              name: 'us-east-1',
              minTasks: 1,
              maxTasks: 2,
              vpc: {
                id: 'vpc-1',
                publicSubnetIds: ['subnet-1', 'subnet-2'],
                privateSubnetIds: ['subnet-3', 'subnet-4'],
              },
            },
            { name: 'eu-west-1', cidr: '10.17.0.0/16', minTasks: 1, maxTasks: 2 },
          ];
          r['wsgw:homeRegion'] = 'us-east-1';
          r['wsgw:msk'] = { instanceType: 'kafka.m5.large', crossRegion: 'direct' };
        },
        /^wsgw:regions\[0\]\.vpc\.cidr: is required with wsgw:msk\.crossRegion "direct"/,
      ],
      [
        'existing VPC with one subnet',
        (r) =>
          (r['wsgw:regions'] = [
            {
              name: 'us-east-1',
              minTasks: 1,
              maxTasks: 2,
              vpc: { id: 'vpc-1', publicSubnetIds: ['subnet-1'], privateSubnetIds: ['subnet-3', 'subnet-4'] },
            },
          ]),
        /^wsgw:regions\[0\]\.vpc\.publicSubnetIds: needs at least two subnets/,
      ],
    ];
    for (const [what, mutate, expected] of cases) {
      it(what, () => {
        const raw = base();
        mutate(raw);
        const issues = issuesOf(raw);
        expect(
          issues.some((i) => expected.test(i)),
          `issues were:\n${issues.join('\n')}`,
        ).toBe(true);
      });
    }

    it('reports every problem at once', () => {
      const raw = base();
      delete raw['wsgw:domain'];
      raw['wsgw:regions'] = [{ name: 'mars-1', minTasks: 3, maxTasks: 1 }];
      raw['wsgw:task'] = { cpu: 256, memory: 8192 };
      const issues = issuesOf(raw);
      expect(issues.length).toBeGreaterThanOrEqual(1);
      // Field-level problems are reported first; fix those, then the cross-field ones appear.
      expect(issues[0]).toMatch(/^wsgw:domain: is required/);
      delete raw['wsgw:regions'];
      raw['wsgw:domain'] = 'ws.example.com';
      raw['wsgw:regions'] = [{ name: 'mars-1', cidr: '10.16.0.0/16', minTasks: 3, maxTasks: 1 }];
      const second = issuesOf(raw);
      expect(second).toEqual([
        'wsgw:regions[0].name: unknown AWS region "mars-1"',
        'wsgw:regions[0].minTasks: minTasks (3) is greater than maxTasks (1)',
        'wsgw:task.memory: 8192 MiB is not valid with 256 CPU units (512..2048 MiB)',
      ]);
    });
  });

  it('formats keys like the Pulumi CLI path syntax', () => {
    expect(configKey(['regions', 1, 'maxTasks'])).toBe('wsgw:regions[1].maxTasks');
    expect(configKey(['msk'])).toBe('wsgw:msk');
  });

  describe('CIDR ranges', () => {
    const ipv4 = fc.tuple(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
    );
    const block = fc
      .tuple(ipv4, fc.integer({ min: 0, max: 32 }))
      .map(([o, bits]) => `${o.join('.')}/${bits}`);
    /** An address as a number, computed independently of cidrRange. */
    const addressOf = (o: readonly number[]) => ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
    const contains = (cidr: string, address: number) => {
      const [ip, bits] = cidr.split('/') as [string, string];
      const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
      return (addressOf(ip.split('.').map(Number)) & mask) >>> 0 === (address & mask) >>> 0;
    };

    it('covers exactly the addresses whose network bits match', () => {
      fc.assert(
        fc.property(block, ipv4, (cidr, o) => {
          const range = cidrRange(cidr)!;
          const address = addressOf(o);
          expect(address >= range.first && address <= range.last).toBe(contains(cidr, address));
        }),
      );
    });

    it("overlap is symmetric and true exactly when one block holds the other's first address", () => {
      fc.assert(
        fc.property(block, block, (a, b) => {
          expect(cidrsOverlap(a, b)).toBe(cidrsOverlap(b, a));
          expect(cidrsOverlap(a, b)).toBe(
            contains(a, cidrRange(b)!.first) || contains(b, cidrRange(a)!.first),
          );
        }),
      );
    });

    it('refuses malformed blocks', () => {
      for (const bad of ['10.0.0/8', '10.0.0.256/24', '10.0.0.0/33', 'ten/8'])
        expect(cidrRange(bad)).toBeUndefined();
    });
  });
});

describe('the stack-config parser', () => {
  /** Every package a module loads, following its relative imports. */
  function packagesLoadedBy(file: string, seen = new Set<string>()): Set<string> {
    const packages = new Set<string>();
    if (seen.has(file)) return packages;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    // `import … from '…'`, `export … from '…'` and `import '…'`, at the start of a line.
    for (const m of source.matchAll(/^(?:import|export)\s(?:[^;'"]*\sfrom\s*)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) {
        for (const p of packagesLoadedBy(join(dirname(file), spec.replace(/\.js$/, '.ts')), seen))
          packages.add(p);
      } else packages.add(spec);
    }
    return packages;
  }

  it('loads nothing from Pulumi, so the cost model and synth parse stacks without the Pulumi runtime', () => {
    const packages = [...packagesLoadedBy(join(ROOT, 'infra', 'stack-config.ts'))];
    expect(packages.length).toBeGreaterThan(0);
    expect(packages.filter((p) => p.startsWith('@pulumi/'))).toEqual([]);
  });
});

describe('wsgw:bus', () => {
  const redis = (extra: Record<string, unknown> = {}) => {
    const r: Record<string, unknown> = { ...base(), 'wsgw:bus': 'redis', ...extra };
    delete r['wsgw:msk'];
    return r;
  };

  it('takes redis without wsgw:msk, and compares it with the smallest Kafka', () => {
    const c = parseStackConfig(redis());
    expect(c.bus).toBe('redis');
    expect(c.msk).toEqual(COMPARISON_MSK);
  });

  it('still requires wsgw:msk with kafka, naming the bus', () => {
    const r = base();
    delete r['wsgw:msk'];
    expect(issuesOf(r)).toEqual([
      'wsgw:msk: is required with wsgw:bus kafka (broker sizing and crossRegion)',
    ]);
  });

  it('refuses an unknown bus and unknown redis settings', () => {
    expect(issuesOf({ ...base(), 'wsgw:bus': 'nats' })).toEqual(['wsgw:bus: must be one of kafka, redis']);
    expect(issuesOf(redis({ 'wsgw:redis': { mode: 'cluster' } }))).toEqual([
      'wsgw:redis.mode: must be one of nodes, serverless',
    ]);
    expect(issuesOf(redis({ 'wsgw:redis': { nodeTyp: 'cache.t4g.small' } }))).toEqual([
      'wsgw:redis.nodeTyp: unknown setting',
    ]);
    expect(issuesOf(redis({ 'wsgw:redis': { nodeType: 't4g.small' } }))).toEqual([
      'wsgw:redis.nodeType: must be an ElastiCache node type such as cache.t4g.small',
    ]);
  });

  // AWS rule: a Valkey or Redis OSS (cluster mode disabled) replication group "can have a maximum
  // of five read replicas" (Amazon ElastiCache User Guide, Adding a read replica,
  // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Replication.AddReadReplica.html).
  it('holds replicas to the five a replication group takes', () => {
    expect(parseStackConfig(redis({ 'wsgw:redis': { replicas: 5 } })).redis.replicas).toBe(5);
    expect(issuesOf(redis({ 'wsgw:redis': { replicas: 6 } }))).toEqual([
      'wsgw:redis.replicas: must be at most 5 (replicas per shard)',
    ]);
  });

  it('refuses a Valkey version ElastiCache does not run, per mode', () => {
    expect(issuesOf(redis({ 'wsgw:redis': { engineVersion: '7.0' } }))).toEqual([
      'wsgw:redis.engineVersion: ElastiCache runs Valkey 7.2, 8.0, 8.1 on nodes; 7.0 is not one of them',
    ]);
    expect(issuesOf(redis({ 'wsgw:redis': { mode: 'serverless', engineVersion: '9.0' } }))).toEqual([
      'wsgw:redis.engineVersion: ElastiCache Serverless runs Valkey major versions 7, 8; 9.0 is not one of them',
    ]);
    expect(
      parseStackConfig(redis({ 'wsgw:redis': { mode: 'serverless', engineVersion: '7.2' } })).redis.mode,
    ).toBe('serverless');
    // Only checked for the bus that is deployed: a Kafka stack's comparison sizing is free.
    expect(parseStackConfig({ ...base(), 'wsgw:redis': { engineVersion: '7.0' } }).bus).toBe('kafka');
  });

  it('skips the MSK rules with redis: burstable brokers, two regions, no replicator', () => {
    const r = redis({
      'wsgw:msk': { instanceType: 'kafka.t3.small', brokersPerAz: 1, crossRegion: 'replicator' },
    });
    twoRegions(r);
    expect(parseStackConfig(r).regions).toHaveLength(2);
  });

  it('needs the peering routes of existing VPCs in several regions, as direct reads do', () => {
    const r = redis();
    r['wsgw:homeRegion'] = 'us-east-1';
    r['wsgw:regions'] = [
      {
        name: 'us-east-1',
        minTasks: 1,
        maxTasks: 2,
        vpc: {
          id: 'vpc-0abc',
          publicSubnetIds: ['subnet-01', 'subnet-02'],
          privateSubnetIds: ['subnet-03', 'subnet-04'],
        },
      },
      { name: 'eu-west-1', cidr: '10.17.0.0/16', minTasks: 1, maxTasks: 2 },
    ];
    expect(issuesOf(r)).toEqual([
      'wsgw:regions[0].vpc.cidr: is required with wsgw:bus redis (peering routes)',
      'wsgw:regions[0].vpc.privateRouteTableIds: is required with wsgw:bus redis (peering routes)',
    ]);
  });

  // AWS rule: AUTH tokens and RBAC passwords "must be 16–128 printable characters", and
  // "Nonalphanumeric characters are restricted to (!, &, #, $, ^, <, >, -)" (Amazon ElastiCache User
  // Guide, Authenticating with the Valkey and Redis OSS AUTH command,
  // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html).
  it('checks the Redis AUTH token as ElastiCache does, never printing it', () => {
    expect(redisAuthTokenIssues('a'.repeat(16))).toEqual([]);
    expect(redisAuthTokenIssues('A-b!c&d#e$f^g<h>0123')).toEqual([]);
    expect(redisAuthTokenIssues('x'.repeat(128))).toEqual([]);
    expect(redisAuthTokenIssues('short-token')).toEqual([
      'wsgw:redisAuthToken: must be 16 to 128 characters (it has 11)',
    ]);
    expect(redisAuthTokenIssues('x'.repeat(129))).toEqual([
      'wsgw:redisAuthToken: must be 16 to 128 characters (it has 129)',
    ]);
    for (const bad of ['@', '"', '/', ' ', '%', 'é']) {
      const token = `secret${bad}secret-0123456789`;
      const issues = redisAuthTokenIssues(token);
      expect(issues, bad).toHaveLength(1);
      expect(issues[0]).toMatch(/^wsgw:redisAuthToken: may hold only letters, digits and ! & # \$ \^ < > -/);
      expect(issues[0]).not.toContain('secret');
    }
  });
});

describe('readPulumiConfig', () => {
  it('requires a valid wsgw:redisAuthToken with bus redis, and keeps it secret', () => {
    const raw: Record<string, unknown> = {
      ...base(),
      'wsgw:bus': 'redis',
      'wsgw:jwtSecret': 'a-secret-value',
    };
    const plain = Object.fromEntries(
      Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
    pulumi.runtime.setAllConfig(plain, ['wsgw:jwtSecret']);
    expect(() => readPulumiConfig()).toThrow(/wsgw:redisAuthToken: is required with wsgw:bus redis/);
    pulumi.runtime.setAllConfig({ ...plain, 'wsgw:redisAuthToken': 'has/a/slash-0123456789' }, [
      'wsgw:jwtSecret',
      'wsgw:redisAuthToken',
    ]);
    expect(() => readPulumiConfig()).toThrow(/wsgw:redisAuthToken: may hold only/);
    pulumi.runtime.setAllConfig({ ...plain, 'wsgw:redisAuthToken': 'Good-token-0123456789' }, [
      'wsgw:jwtSecret',
      'wsgw:redisAuthToken',
    ]);
    const read = readPulumiConfig();
    expect(read.redisAuthToken).toBeDefined();
    expect(JSON.stringify(read.config)).not.toContain('Good-token');
  });

  it('requires wsgw:jwtSecret unless wsgw:jwksUrl is set', () => {
    const plain = Object.fromEntries(
      Object.entries(base()).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
    pulumi.runtime.setAllConfig(plain);
    expect(() => readPulumiConfig()).toThrow(/wsgw:jwtSecret: is required unless wsgw:jwksUrl is set/);

    pulumi.runtime.setAllConfig({ ...plain, 'wsgw:jwksUrl': 'https://id.example.com/jwks.json' });
    expect(readPulumiConfig().jwtSecret).toBeUndefined();

    pulumi.runtime.setAllConfig({ ...plain, 'wsgw:jwtSecret': 'a-secret-value' }, ['wsgw:jwtSecret']);
    const read = readPulumiConfig();
    expect(read.jwtSecret).toBeDefined();
    expect(read.config.domain).toBe('ws.example.com');
  });
});
