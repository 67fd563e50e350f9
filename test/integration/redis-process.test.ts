/**
 * The built gateway as a process with bad Redis settings: a malformed URL (or Kafka and Redis
 * together) is a one-line configuration error and exit 78, the password never echoed; a wrong
 * password, nobody listening, or TLS to a plain-text server leaves the gateway up with `/readyz`
 * 503 naming the reason and one log line about it, not a crash loop; a good URL makes it ready.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { build, listening, spawnGateway, type GatewayProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/gateway.js';
import { redis, uniqueStreamPrefix } from '../setup/redis.js';

const MAIN = ['node', 'dist/services/gateway/src/main.js'];
const SECRET = 'redis-process-test-secret-0123456789';

beforeAll(() => build(), 120_000);

const procs: GatewayProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
});

const start = (env: Record<string, string>): GatewayProcess => {
  const p = spawnGateway(MAIN, {
    WSGW_JWT_SECRET: SECRET,
    WSGW_LOG_LEVEL: 'info',
    WSGW_REDIS_STREAM_PREFIX: uniqueStreamPrefix(),
    WSGW_READY_PROBE_INTERVAL_MS: '200',
    ...env,
  });
  procs.push(p);
  return p;
};

const readyz = async (
  port: number,
): Promise<{ status: number; body: { status: string; reason?: string } }> => {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
};

describe('the gateway process with bad Redis settings', () => {
  it.each([
    [{ WSGW_REDIS_URL: 'http://:hunter2-secret@127.0.0.1:6379' }, 'WSGW_REDIS_URL'],
    [
      { WSGW_REDIS_URL: 'redis://:hunter2-secret@127.0.0.1:6379', WSGW_KAFKA_BROKERS: '127.0.0.1:9092' },
      'WSGW_REDIS_URL',
    ],
    [
      { WSGW_REDIS_URL: 'redis://127.0.0.1:6379', WSGW_REDIS_REMOTES: 'b=ftp://:hunter2-secret@x' },
      'WSGW_REDIS_REMOTES',
    ],
  ])('%j: one line naming %s, exit 78, no password', async (env, variable) => {
    const p = start(env);
    expect(await p.exited).toBe(78);
    expect(p.stderr).toHaveLength(1);
    expect(p.stderr[0]).toMatch(new RegExp(`^wsgw: invalid configuration: ${variable} `));
    expect(p.stderr[0]).not.toContain('hunter2');
  });

  it('stays up, unready with the reason and one log line, for a wrong password, no server, or TLS to plain text', async () => {
    const good = new URL(redis().a);
    const wrong = new URL(good);
    wrong.password = 'hunter2-wrong';
    const tls = new URL(good);
    tls.protocol = 'rediss:';
    const cases: [string, string][] = [
      [wrong.toString(), 'redis_auth_failed'],
      ['redis://127.0.0.1:1', 'redis_unreachable'],
      [tls.toString(), 'redis_tls_failed'],
    ];
    const ps = cases.map(([url]) => start({ WSGW_REDIS_URL: url }));
    const ports = await Promise.all(ps.map((p) => listening(p)));
    for (const [i, [, reason]] of cases.entries()) {
      await waitFor(async () => (await readyz(ports[i]!)).body.reason === reason, 15_000, `reason ${reason}`);
      expect(await readyz(ports[i]!)).toEqual({ status: 503, body: { status: 'bus_not_ready', reason } });
    }
    // Several retries later: still running, and the failure logged once, not once per retry.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const [i, p] of ps.entries()) {
      expect(p.child.exitCode).toBeNull();
      const lines = p.stdout.filter((l) => l.includes('cannot connect to Redis'));
      expect(lines, cases[i]![1]).toHaveLength(1);
      expect(lines[0]).not.toContain('hunter2');
    }
  }, 60_000);

  it('is ready with a good URL', async () => {
    const p = start({ WSGW_REDIS_URL: redis().a });
    const port = await listening(p);
    await waitFor(async () => (await readyz(port)).status === 200, 15_000, 'ready');
    expect(p.stdout.some((l) => l.includes('redis bus running'))).toBe(true);
    expect(p.stdout.join('\n')).not.toContain('test-password');
  });
});
