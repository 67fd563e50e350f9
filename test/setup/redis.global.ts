/**
 * vitest global setup of the `redis` project: two real redis-servers, `a` and `b` (two regions'
 * Redis), on free loopback ports with a password and an append-only file (`appendfsync always`)
 * in a temporary directory, started once per run and stopped at teardown. Tests that stop or
 * freeze a server start their own (scripts/redis/server.mjs), never these.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedis } from '../../scripts/redis/server.mjs';
import type { TestRedis } from './redis.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'wsgw-redis-'));
  const password = 'test-password';
  const [a, b] = await Promise.all([
    startRedis({ dir: join(dir, 'a'), password }),
    startRedis({ dir: join(dir, 'b'), password }),
  ]);
  const provided: TestRedis = { a: a.url, b: b.url, dir };
  project.provide('wsgwRedis', provided);
  return async () => {
    await Promise.all([a.stop(), b.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
}
