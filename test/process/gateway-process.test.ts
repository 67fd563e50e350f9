import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { ROOT, build, listening, spawnGateway } from '../helpers/process.js';
import { TestClient } from '../helpers/client.js';
import { waitFor } from '../helpers/gateway.js';

const MAIN = ['node', 'dist/services/gateway/src/main.js'];
const SECRET = 'process-test-secret-0123456789abcdef';

beforeAll(() => build(), 120_000);

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const lines = text.split('\n').map((l) => l.trim());

  it('copies only files that exist, runs as non-root and ships production dependencies only', () => {
    const sources = lines
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) expect(existsSync(join(ROOT, s)), `${s} exists`).toBe(true);
    expect(lines.filter((l) => l.startsWith('FROM ')).length).toBeGreaterThanOrEqual(2);
    expect(lines).toContain('USER node');
    expect(text).toMatch(/npm ci --omit=dev/);
  });

  it('runs a command that starts the gateway (with the image environment and a token secret)', async () => {
    const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
    const env = Object.fromEntries(
      lines.filter((l) => l.startsWith('ENV ')).map((l) => l.slice(4).split('=') as [string, string]),
    );
    expect(env.NODE_ENV).toBe('production');
    const p = spawnGateway(cmd, { ...env, WSGW_JWT_SECRET: SECRET, WSGW_LOG_LEVEL: 'info' });
    const port = await listening(p);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // Production refuses anonymous clients.
    await expect(TestClient.connect(`ws://127.0.0.1:${port}/`)).rejects.toMatchObject({ status: 401 });
    p.child.kill('SIGKILL');
    await p.exited;
  }, 30_000);
});

describe('configuration errors', () => {
  it.each([
    [{ WSGW_PING_INTERVAL_MS: 'soon' }, 'WSGW_PING_INTERVAL_MS'],
    [{ NODE_ENV: 'production' }, 'WSGW_JWT_SECRET'],
    [{ WSGW_KAFKA_BROKERS: 'b:9092', WSGW_ALLOW_ANONYMOUS: 'true' }, 'WSGW_ALLOW_ANONYMOUS'],
    [{ WSGW_HOST: 'no such host!' }, 'WSGW_HOST'],
    [{ WSGW_MAX_PAYLOAD_BYTES: '4194304' }, 'WSGW_MAX_BUFFERED_BYTES'],
  ])('%o exits 78 with one line naming %s', async (env, variable) => {
    const p = spawnGateway(MAIN, env as Record<string, string>);
    expect(await p.exited).toBe(78);
    expect(p.stderr).toHaveLength(1);
    expect(p.stderr[0]).toMatch(new RegExp(`^wsgw: invalid configuration: ${variable} `));
  });
});

describe('process life cycle', () => {
  it('warns about anonymous access, prints EMF lines, and on SIGTERM drains with 1001 and exits 0', async () => {
    const p = spawnGateway(MAIN, {
      WSGW_EMF_INTERVAL_MS: '1000',
      WSGW_DRAIN_DELAY_MS: '300',
      WSGW_DRAIN_WINDOW_MS: '700',
      WSGW_DRAIN_DEADLINE_MS: '5000',
    });
    const port = await listening(p);
    expect(p.stdout.some((l) => l.includes('anonymous access is allowed'))).toBe(true);
    // The demo page's client SDK bundle is served next to it.
    const bundle = await fetch(`http://127.0.0.1:${port}/wsgw-client.js`);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(await bundle.text()).toMatch(/export\s*\{[^}]*WsgwClient/);
    const clients = await Promise.all(
      Array.from({ length: 10 }, () => TestClient.connect(`ws://127.0.0.1:${port}/`)),
    );
    await waitFor(
      () => p.stdout.some((l) => l.includes('"ActiveConnections":10')),
      5_000,
      'EMF line with 10 connections',
    );

    p.child.kill('SIGTERM');
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 503,
      2_000,
      'readyz 503',
    );
    expect(await p.exited).toBe(0);
    for (const c of clients) expect(c.closed?.code).toBe(1001);
    expect(p.stdout.some((l) => l.includes('"msg":"drained"'))).toBe(true);
  }, 30_000);
});

describe('ECS stop', () => {
  it('drains as soon as the task metadata says the task is stopping, before any SIGTERM', async () => {
    // A stand-in for the ECS agent's task metadata endpoint (v4), which only exists on ECS.
    let desired = 'RUNNING';
    const agent = createServer((req, res) => {
      if (req.url !== '/v4/abc/task') return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ DesiredStatus: desired, KnownStatus: 'RUNNING' }));
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
    const agentPort = (agent.address() as { port: number }).port;
    const p = spawnGateway(MAIN, {
      ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${agentPort}/v4/abc`,
      WSGW_DRAIN_DELAY_MS: '20000',
      WSGW_DRAIN_WINDOW_MS: '500',
      WSGW_DRAIN_DEADLINE_MS: '30000',
    });
    const port = await listening(p);
    const clients = await Promise.all(
      Array.from({ length: 5 }, () => TestClient.connect(`ws://127.0.0.1:${port}/`)),
    );
    await new Promise((r) => setTimeout(r, 2_500));
    expect(p.child.exitCode).toBeNull();
    const t0 = Date.now();
    desired = 'STOPPED';
    expect(await p.exited).toBe(0);
    // Well before the 20 s drain delay: the balancer is already deregistering this task.
    expect(Date.now() - t0).toBeLessThan(6_000);
    for (const c of clients) expect(c.closed?.code).toBe(1001);
    expect(p.stdout.some((l) => l.includes('ECS is stopping this task'))).toBe(true);
    agent.close();
  }, 30_000);
});
