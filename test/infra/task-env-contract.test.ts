/**
 * The contract between the Pulumi program and the gateway: the environment the program gives a
 * task, with the secrets ECS injects beside it, must be a configuration the gateway accepts and
 * reads as the program meant. Each half has its own tests; this one keeps their names and shapes
 * from drifting apart.
 */
import { describe, expect, it } from 'vitest';
import { gatewayEnvironment, redisUrl } from '../../infra/plan.js';
import { loadConfig } from '../../services/gateway/src/config.js';
import { ENV } from '../../services/shared/src/constants.js';

const SECRET = 'x'.repeat(40);

describe('the task environment the program writes', () => {
  it('on Kafka: the gateway reads the brokers, IAM auth and TLS', () => {
    const env = gatewayEnvironment({ region: 'eu-west-1', serviceName: 's', brokers: 'b-1:9098,b-2:9098' });
    const c = loadConfig({ ...env, [ENV.jwtSecret]: SECRET });
    expect(c.kafka?.brokers).toEqual(['b-1:9098', 'b-2:9098']);
    expect(c.kafka?.auth).toBe('msk-iam');
    expect(c.redis).toBeUndefined();
  });

  it('on Redis: the password secret opens the local cache and every remote one', () => {
    const env = gatewayEnvironment({
      region: 'us-east-1',
      serviceName: 's',
      redis: {
        url: redisUrl('master.wsgw-use1.abc.use1.cache.amazonaws.com', 6379),
        remotes: { 'eu-west-1': redisUrl('wsgw-euw1.serverless.euw1.cache.amazonaws.com', 6379, 'wsgw') },
        waitReplicas: 1,
      },
    });
    // The token may hold characters a URL must escape (ElastiCache allows ! & # $ ^ < > -).
    const token = 'Tok3n!&#$^<>-padding';
    const c = loadConfig({ ...env, [ENV.jwtSecret]: SECRET, [ENV.redisPassword]: token });
    expect(c.kafka).toBeUndefined();
    expect(c.redis?.waitReplicas).toBe(1);
    const local = new URL(c.redis!.url);
    expect(local.protocol).toBe('rediss:');
    expect(decodeURIComponent(local.password)).toBe(token);
    const [remote] = c.redis!.remotes;
    expect(remote?.region).toBe('eu-west-1');
    const r = new URL(remote!.url);
    expect(r.username).toBe('wsgw');
    expect(decodeURIComponent(r.password)).toBe(token);
  });
});
