import { defineConfig } from 'vitest/config';

/**
 * Test projects, so that the fast loop needs neither Java nor Chromium:
 *
 *   unit     the gateway over real loopback sockets, the SDK, the memory bus, pure modules  (npm run test:unit)
 *   checks   slower checks without Java: the recovery property test, lint rules, the SDK package, memory
 *   infra    the Pulumi program under mocks                                                 (npm run test:infra)
 *   cost     the cost model                                                                 (npm run test:cost)
 *   process  the built gateway as a child process
 *   kafka    real Kafka: two KRaft clusters and MirrorMaker 2, started once by the global setup
 *   redis    real redis-server: two servers (two regions) started once by the global setup, and
 *            servers of their own for the tests that restart or freeze one
 *   browser  the demo page and the SDK in Chromium
 *
 * `npm test` runs them all.
 */
/** Tests that need no Java or Chromium but take tens of seconds each: kept out of the fast loop. */
const SLOW_CHECKS = [
  'test/gateway/recovery-property.test.ts',
  'test/unit/lint.test.ts',
  'test/client/package.test.ts',
  'test/unit/history-memory.test.ts',
];

/** Tests that need a real redis-server: the `redis` project. */
const REDIS = ['test/bus/bus-redis*.test.ts', 'test/integration/redis-*.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'test/unit/**/*.test.ts',
            'test/gateway/**/*.test.ts',
            'test/client/**/*.test.ts',
            'test/bus/**/*.test.ts',
            'test/bench/**/*.test.ts',
          ],
          exclude: ['test/bus/bus-kafka.test.ts', ...REDIS, ...SLOW_CHECKS],
        },
      },
      { extends: true, test: { name: 'checks', include: SLOW_CHECKS } },
      { extends: true, test: { name: 'infra', include: ['test/infra/**/*.test.ts'] } },
      { extends: true, test: { name: 'cost', include: ['test/cost/**/*.test.ts'] } },
      { extends: true, test: { name: 'process', include: ['test/process/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'kafka',
          include: ['test/integration/**/*.test.ts', 'test/bus/bus-kafka.test.ts'],
          exclude: REDIS,
          globalSetup: ['test/setup/kafka.global.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'redis', include: REDIS, globalSetup: ['test/setup/redis.global.ts'] },
      },
      { extends: true, test: { name: 'browser', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
