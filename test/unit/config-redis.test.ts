/** The Redis bus settings: what selects it, what it refuses, and that errors never echo a password. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../services/gateway/src/config.js';
import { parseRedisRemotes } from '../../services/gateway/src/bus/redis-options.js';

const fails = (env: Record<string, string>): ConfigError => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted the configuration');
};

describe('Redis configuration', () => {
  it('selects the Redis bus with its defaults', () => {
    const c = loadConfig({
      WSGW_REDIS_URL: 'rediss://user:pw@cache.example.com:6379',
      WSGW_REGION: 'eu-west-1',
    });
    expect(c.kafka).toBeUndefined();
    expect(c.redis).toEqual({
      url: 'rediss://user:pw@cache.example.com:6379',
      remotes: [],
      streamPrefix: 'wsgw.fanout.',
      waitReplicas: 0,
    });
    // Not embedded mode: no anonymous access, no demo page.
    expect(c.auth.allowAnonymous).toBe(false);
    expect(c.demoPage).toBe(false);
  });

  it('refuses Kafka and Redis together, naming both', () => {
    const e = fails({ WSGW_REDIS_URL: 'redis://h:6379', WSGW_KAFKA_BROKERS: 'k:9092' });
    expect(e.variable).toBe('WSGW_REDIS_URL');
    expect(e.message).toContain('WSGW_KAFKA_BROKERS');
  });

  it('names a bad URL without echoing its password', () => {
    for (const url of [
      'http://u:secret@h:1',
      'redis://:secret@h:1/x',
      'redis:///nohost',
      'not a url secret',
    ]) {
      const e = fails({ WSGW_REDIS_URL: url });
      expect(e.variable).toBe('WSGW_REDIS_URL');
      expect(e.message).not.toContain('secret');
    }
  });

  it('reads the remotes, and refuses malformed ones, the own region, or remotes without a URL', () => {
    const c = loadConfig({
      WSGW_REDIS_URL: 'redis://a:6379',
      WSGW_REGION: 'a',
      WSGW_REDIS_REMOTES: 'b=rediss://:pw@b.example:6379; c=redis://c:6379',
    });
    expect(c.redis?.remotes).toEqual([
      { region: 'b', url: 'rediss://:pw@b.example:6379' },
      { region: 'c', url: 'redis://c:6379' },
    ]);
    for (const remotes of ['b=http://x:1', '=redis://x:1', 'b=redis://x:1;b=redis://y:1', 'a=redis://x:1']) {
      const e = fails({ WSGW_REDIS_URL: 'redis://a:6379', WSGW_REGION: 'a', WSGW_REDIS_REMOTES: remotes });
      expect(e.variable).toBe('WSGW_REDIS_REMOTES');
    }
    expect(fails({ WSGW_REDIS_REMOTES: 'b=redis://x:1' }).variable).toBe('WSGW_REDIS_REMOTES');
    expect(fails({ WSGW_REDIS_WAIT_REPLICAS: '1' }).variable).toBe('WSGW_REDIS_WAIT_REPLICAS');
    expect(() => parseRedisRemotes('b=rediss://:topsecret@x:1;b=redis://y:1')).toThrow(/appears twice/);
    expect(() => parseRedisRemotes('rediss://:topsecret@x:1')).toThrow(/^(?!.*topsecret)/);
  });

  it('bounds the replicas to wait for and checks the stream prefix', () => {
    expect(
      loadConfig({ WSGW_REDIS_URL: 'redis://a:1', WSGW_REDIS_WAIT_REPLICAS: '2' }).redis?.waitReplicas,
    ).toBe(2);
    expect(fails({ WSGW_REDIS_URL: 'redis://a:1', WSGW_REDIS_WAIT_REPLICAS: '9' }).variable).toBe(
      'WSGW_REDIS_WAIT_REPLICAS',
    );
    expect(fails({ WSGW_REDIS_URL: 'redis://a:1', WSGW_REDIS_STREAM_PREFIX: 'a b' }).variable).toBe(
      'WSGW_REDIS_STREAM_PREFIX',
    );
    expect(fails({ WSGW_REDIS_URL: 'redis://a:1', WSGW_ALLOW_ANONYMOUS: 'true' }).variable).toBe(
      'WSGW_ALLOW_ANONYMOUS',
    );
  });

  it('takes the password from WSGW_REDIS_PASSWORD for every URL without one of its own', () => {
    const c = loadConfig({
      WSGW_REDIS_URL: 'rediss://cache.example:6379',
      WSGW_REGION: 'a',
      WSGW_REDIS_REMOTES: 'b=rediss://wsgw@b.example:6379;c=rediss://:own@c.example:6379',
      WSGW_REDIS_PASSWORD: 'p@ss/word',
    });
    expect(c.redis?.url).toBe('rediss://:p%40ss%2Fword@cache.example:6379');
    expect(c.redis?.remotes.map((r) => r.url)).toEqual([
      'rediss://wsgw:p%40ss%2Fword@b.example:6379',
      'rediss://:own@c.example:6379',
    ]);
    expect(fails({ WSGW_REDIS_URL: 'redis://a:1', WSGW_REDIS_PASSWORD: '' }).variable).toBe(
      'WSGW_REDIS_PASSWORD',
    );
    const lone = fails({ WSGW_REDIS_PASSWORD: 'secret-value' });
    expect(lone.variable).toBe('WSGW_REDIS_PASSWORD');
    expect(lone.message).not.toContain('secret-value');
  });
});
