import { describe, expect, it } from 'vitest';
import { ConfigError, defaultHistoryBytes, loadConfig } from '../../services/gateway/src/config.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256!';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults to embedded mode on port 8080 with anonymous access', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.region).toBe('local');
    expect(c.kafka).toBeUndefined();
    expect(c.auth.allowAnonymous).toBe(true);
    expect(c.timing.pingIntervalMs).toBe(25_000);
    expect(c.metricsPort).toBe(9464);
    expect(c.demoPage).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('sizes the history to an eighth of the task memory, between 32 and 512 MiB', () => {
    const MiB = 1024 * 1024;
    expect(defaultHistoryBytes(2048 * MiB)).toBe(256 * MiB); // a 2 GiB Fargate task
    expect(defaultHistoryBytes(512 * MiB)).toBe(64 * MiB);
    expect(defaultHistoryBytes(128 * MiB)).toBe(32 * MiB);
    expect(defaultHistoryBytes(64 * 1024 * MiB)).toBe(512 * MiB);
    expect(loadConfig({}).history.maxBytes).toBeGreaterThanOrEqual(32 * MiB);
    expect(loadConfig({}).history.maxBytes).toBeLessThanOrEqual(512 * MiB);
  });

  it('serves the demo page only in embedded mode unless asked', () => {
    const kafka = { WSGW_KAFKA_BROKERS: 'b:9092', WSGW_JWT_SECRET: SECRET };
    expect(loadConfig(kafka).demoPage).toBe(false);
    expect(loadConfig({ ...kafka, WSGW_DEMO_PAGE: 'true' }).demoPage).toBe(true);
  });

  it('reads Kafka settings and turns anonymous access off with Kafka', () => {
    const c = loadConfig({
      WSGW_KAFKA_BROKERS: 'b1:9092, b2:9092',
      WSGW_REGION: 'eu-west-1',
      WSGW_JWT_SECRET: SECRET,
    });
    expect(c.kafka).toEqual({
      brokers: ['b1:9092', 'b2:9092'],
      auth: 'none',
      tls: false,
      topicPrefix: 'wsgw.fanout.',
      awsRegion: undefined,
      remotes: [],
      rack: undefined,
    });
    expect(c.auth.allowAnonymous).toBe(false);
  });

  it("reads the other regions' clusters for direct cross-region mode", () => {
    const c = loadConfig({
      WSGW_KAFKA_BROKERS: 'b:9092',
      WSGW_REGION: 'us-east-1',
      WSGW_JWT_SECRET: SECRET,
      WSGW_KAFKA_REMOTE_BROKERS: 'eu-west-1=e1:9098,e2:9098;ap-southeast-1=s1:9098',
    });
    expect(c.kafka?.remotes).toEqual([
      { region: 'eu-west-1', brokers: ['e1:9098', 'e2:9098'] },
      { region: 'ap-southeast-1', brokers: ['s1:9098'] },
    ]);
  });

  it('reads the Kafka rack, fixed or by zone', () => {
    const base = { WSGW_KAFKA_BROKERS: 'b:9092', WSGW_JWT_SECRET: SECRET };
    expect(loadConfig({ ...base, WSGW_KAFKA_RACK: 'use1-az1' }).kafka?.rack).toEqual({
      kind: 'fixed',
      rack: 'use1-az1',
    });
    expect(
      loadConfig({ ...base, WSGW_KAFKA_RACK_MAP: 'us-east-1a=use1-az6, us-east-1b=use1-az1' }).kafka?.rack,
    ).toEqual({
      kind: 'by-zone',
      racks: new Map([
        ['us-east-1a', 'use1-az6'],
        ['us-east-1b', 'use1-az1'],
      ]),
    });
  });

  it('implies TLS for msk-iam and needs AWS_REGION', () => {
    expect(
      loadConfig({
        WSGW_KAFKA_BROKERS: 'b:9098',
        WSGW_KAFKA_AUTH: 'msk-iam',
        AWS_REGION: 'us-east-1',
        WSGW_JWT_SECRET: SECRET,
      }).kafka,
    ).toMatchObject({ tls: true, auth: 'msk-iam' });
    expect(errorOf({ WSGW_KAFKA_BROKERS: 'b:9098', WSGW_KAFKA_AUTH: 'msk-iam' }).variable).toBe('AWS_REGION');
    expect(
      errorOf({
        WSGW_KAFKA_BROKERS: 'b:9098',
        WSGW_KAFKA_AUTH: 'msk-iam',
        AWS_REGION: 'x',
        WSGW_KAFKA_TLS: 'false',
      }).variable,
    ).toBe('WSGW_KAFKA_TLS');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ WSGW_PING_INTERVAL_MS: '10' }, 'WSGW_PING_INTERVAL_MS'],
    [{ WSGW_IDLE_TIMEOUT_MS: '-1' }, 'WSGW_IDLE_TIMEOUT_MS'],
    [{ WSGW_IDLE_TIMEOUT_MS: '2000' }, 'WSGW_IDLE_TIMEOUT_MS'],
    [{ WSGW_MAX_PAYLOAD_BYTES: '1.5' }, 'WSGW_MAX_PAYLOAD_BYTES'],
    [{ WSGW_MAX_CONNECTIONS: '0' }, 'WSGW_MAX_CONNECTIONS'],
    [{ WSGW_RATE_LIMIT_PER_SEC: 'lots' }, 'WSGW_RATE_LIMIT_PER_SEC'],
    [{ WSGW_KAFKA_BROKERS: 'not a broker' }, 'WSGW_KAFKA_BROKERS'],
    [{ WSGW_KAFKA_AUTH: 'sasl' }, 'WSGW_KAFKA_AUTH'],
    [{ WSGW_KAFKA_AUTH: 'msk-iam' }, 'WSGW_KAFKA_AUTH'],
    [{ WSGW_JWT_SECRET: 'short' }, 'WSGW_JWT_SECRET'],
    [{ WSGW_JWKS_URL: 'not a url' }, 'WSGW_JWKS_URL'],
    [{ WSGW_JWKS_URL: 'file:///etc/passwd' }, 'WSGW_JWKS_URL'],
    [{ WSGW_JWKS_URL: 'javascript:alert(1)' }, 'WSGW_JWKS_URL'],
    [{ WSGW_HOST: 'not a host' }, 'WSGW_HOST'],
    [{ WSGW_HOST: '0.0.0.0:8080' }, 'WSGW_HOST'],
    [{ WSGW_JWT_MAX_LIFETIME_S: '-5' }, 'WSGW_JWT_MAX_LIFETIME_S'],
    [{ WSGW_JWT_SECRET: SECRET, WSGW_JWKS_URL: 'https://x/jwks' }, 'WSGW_JWKS_URL'],
    [{ WSGW_PUBLISH_KEY: 'short' }, 'WSGW_PUBLISH_KEY'],
    [{ WSGW_ALLOWED_ORIGINS: 'example.com' }, 'WSGW_ALLOWED_ORIGINS'],
    [{ WSGW_REGION: 'EU West' }, 'WSGW_REGION'],
    [{ WSGW_LOG_LEVEL: 'loud' }, 'WSGW_LOG_LEVEL'],
    [{ WSGW_DRAIN_DELAY_MS: '30000', WSGW_DRAIN_WINDOW_MS: '30000' }, 'WSGW_DRAIN_DEADLINE_MS'],
    [{ WSGW_ALLOW_ANONYMOUS: 'maybe' }, 'WSGW_ALLOW_ANONYMOUS'],
    [{ WSGW_KAFKA_BROKERS: 'b:9092', WSGW_KAFKA_REMOTE_BROKERS: 'eu-west-1' }, 'WSGW_KAFKA_REMOTE_BROKERS'],
    [
      {
        WSGW_KAFKA_BROKERS: 'b:9092',
        WSGW_REGION: 'us-east-1',
        WSGW_KAFKA_REMOTE_BROKERS: 'us-east-1=x:9098',
      },
      'WSGW_KAFKA_REMOTE_BROKERS',
    ],
    [{ WSGW_ALLOW_ANONYMOUS: 'true', WSGW_KAFKA_BROKERS: 'b:9092' }, 'WSGW_ALLOW_ANONYMOUS'],
    [{ WSGW_KAFKA_RACK: 'use1-az1' }, 'WSGW_KAFKA_RACK'],
    [{ WSGW_KAFKA_BROKERS: 'b:9092', WSGW_KAFKA_RACK: 'a rack' }, 'WSGW_KAFKA_RACK'],
    [{ WSGW_KAFKA_BROKERS: 'b:9092', WSGW_KAFKA_RACK_MAP: 'us-east-1a' }, 'WSGW_KAFKA_RACK_MAP'],
    [
      { WSGW_KAFKA_BROKERS: 'b:9092', WSGW_KAFKA_RACK_MAP: 'us-east-1a=x,us-east-1a=y' },
      'WSGW_KAFKA_RACK_MAP',
    ],
    [
      { WSGW_KAFKA_BROKERS: 'b:9092', WSGW_KAFKA_RACK: 'x', WSGW_KAFKA_RACK_MAP: 'us-east-1a=x' },
      'WSGW_KAFKA_RACK_MAP',
    ],
    [{ NODE_ENV: 'production' }, 'WSGW_JWT_SECRET'],
    [{ WSGW_METRICS_PORT: '8080' }, 'WSGW_METRICS_PORT'],
    [{ WSGW_TLS_ACM_CERTIFICATE_ARN: 'arn:aws:s3:::bucket' }, 'WSGW_TLS_ACM_CERTIFICATE_ARN'],
    [{ WSGW_HTTP_REDIRECT_PORT: '8081' }, 'WSGW_HTTP_REDIRECT_PORT'],
    [
      {
        WSGW_TLS_ACM_CERTIFICATE_ARN: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
        WSGW_TLS_REFRESH_MS: '10',
      },
      'WSGW_TLS_REFRESH_MS',
    ],
    [{ WSGW_PING_SKIP_ACTIVE: 'sometimes' }, 'WSGW_PING_SKIP_ACTIVE'],
    [{ WSGW_COMPRESSION: 'gzip' }, 'WSGW_COMPRESSION'],
    [{ WSGW_COMPRESSION: 'true' }, 'WSGW_COMPRESSION'],
    [{ WSGW_COMPRESSION_MIN_BYTES: '-1' }, 'WSGW_COMPRESSION_MIN_BYTES'],
    [{ WSGW_COMPRESSION_MIN_BYTES: '1k' }, 'WSGW_COMPRESSION_MIN_BYTES'],
    [{ WSGW_METRICS_PORT: 'nine' }, 'WSGW_METRICS_PORT'],
    [{ WSGW_DEMO_PAGE: 'yes please' }, 'WSGW_DEMO_PAGE'],
    // One frame of the largest payload (base64 for JSON clients adds a third) must fit twice.
    [{ WSGW_MAX_PAYLOAD_BYTES: '2097152' }, 'WSGW_MAX_BUFFERED_BYTES'],
    [{ WSGW_MAX_PAYLOAD_BYTES: '400000' }, 'WSGW_MAX_BUFFERED_BYTES'],
    [{ WSGW_MAX_PAYLOAD_BYTES: '65536', WSGW_MAX_BUFFERED_BYTES: '100000' }, 'WSGW_MAX_BUFFERED_BYTES'],
    [
      { NODE_ENV: 'production', WSGW_JWT_SECRET: SECRET, WSGW_ALLOW_ANONYMOUS: 'true' },
      'WSGW_ALLOW_ANONYMOUS',
    ],
  ])('rejects %o naming %s', (env, variable) => {
    const err = errorOf(env as Record<string, string>);
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(variable)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  it('reads the compression settings', () => {
    expect(loadConfig({}).compression).toEqual({ enabled: true, minBytes: 512 });
    expect(loadConfig({ WSGW_COMPRESSION: 'off', WSGW_COMPRESSION_MIN_BYTES: '0' }).compression).toEqual({
      enabled: false,
      minBytes: 0,
    });
  });

  it('never echoes secrets in errors', () => {
    expect(errorOf({ WSGW_JWT_SECRET: 'short-secret' }).message).not.toContain('short-secret');
    expect(errorOf({ WSGW_PUBLISH_KEY: 'pk-123' }).message).not.toContain('pk-123');
  });

  it('refuses anonymous access in production even without Kafka', () => {
    const c = loadConfig({ NODE_ENV: 'production', WSGW_JWT_SECRET: SECRET });
    expect(c.auth.allowAnonymous).toBe(false);
    expect(c.production).toBe(true);
  });
});
