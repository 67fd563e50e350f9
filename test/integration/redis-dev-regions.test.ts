/**
 * `npm run dev:regions -- --bus redis`: two regions, each a redis-server and two gateways behind
 * nginx (on 18081 and 18082 here, so that it can run beside the Kafka version's test), reading each
 * other's streams directly; a client in each region exchanges messages; Ctrl-C stops everything.
 */
import { describe, it } from 'vitest';
import { checkDevRegions } from '../helpers/dev-regions.js';

describe('npm run dev:regions -- --bus redis', () => {
  it('serves two regions on Redis whose clients exchange messages, and stops on Ctrl-C', async () => {
    await checkDevRegions(['--bus', 'redis', '--ports', '18081,18082'], [18081, 18082]);
  }, 300_000);
});
