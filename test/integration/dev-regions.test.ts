/**
 * `npm run dev:regions` as a person uses it: the script starts two regions (Kafka a and b with
 * MirrorMaker 2, two gateways each, nginx least_conn on 127.0.0.1:8081 and :8082), prints a token
 * and the URLs; a client on 8081 and one on 8082 exchange messages; Ctrl-C stops everything.
 */
import { describe, it } from 'vitest';
import { checkDevRegions } from '../helpers/dev-regions.js';

describe('npm run dev:regions', () => {
  it('serves two regions on 8081 and 8082 whose clients exchange messages, and stops on Ctrl-C', async () => {
    await checkDevRegions([]);
  }, 300_000);
});
