/**
 * What Redis tests use to reach the servers started by ./redis.global.ts, and to start servers of
 * their own for the tests that stop or freeze one.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { startRedis, type RedisServer, type RedisServerOptions } from '../../scripts/redis/server.mjs';

/** What the global setup provides to tests. */
export interface TestRedis {
  /** URL (with its password) of region a's Redis. */
  readonly a: string;
  /** URL (with its password) of region b's Redis. */
  readonly b: string;
  /** Temporary directory of the run; servers of single tests put their data under it. */
  readonly dir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    wsgwRedis: TestRedis;
  }
}

export function redis(): TestRedis {
  return inject('wsgwRedis');
}

/** A server of the calling test's own (persistent unless told otherwise); stop it when done. */
export function ownRedis(o: Partial<RedisServerOptions> = {}): Promise<RedisServer> {
  return startRedis({ dir: join(redis().dir, `own-${randomBytes(4).toString('hex')}`), ...o });
}

/** A stream prefix no other test uses, so that tests sharing a server never see each other. */
export const uniqueStreamPrefix = (): string => `t${randomBytes(4).toString('hex')}.fanout.`;
