import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../cost/cli.js';
import { buildReport } from '../../cost/compare.js';
import { DEFAULT_ASSUMPTIONS } from '../../cost/model.js';
import { loadPriceBook, pricedRegions } from '../../cost/prices.js';
import { assumptionsFromConfig, readDeployment } from '../../cost/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the example stacks', () => {
  const book = loadPriceBook();
  for (const stack of ['dev', 'prod', 'prod-lean', 'small']) {
    describe(stack, () => {
      const { deployment, config } = readDeployment(stack, ROOT);

      it('use only priced regions', () => {
        for (const r of deployment.regions) expect(pricedRegions(book)).toContain(r.name);
      });

      it('map the stack config onto the model input', () => {
        expect(deployment.regions.map((r) => r.name)).toEqual(config.regions.map((r) => r.name));
        expect(deployment.task.vcpu * 1024).toBe(config.task.cpu);
        expect(deployment.msk.kind === 'provisioned' && deployment.msk.brokers).toBe(
          config.msk.brokersPerAz * config.network.azCount,
        );
        // Priced on the bus the stack deploys; Redis reads other regions directly.
        expect(deployment.bus).toBe(config.bus);
        expect(deployment.crossRegion).toBe(config.bus === 'redis' ? 'direct' : config.msk.crossRegion);
        if (config.bus === 'redis')
          expect(deployment.redis).toEqual(
            config.redis.mode === 'nodes'
              ? { kind: 'nodes', nodeType: config.redis.nodeType, nodes: 1 + config.redis.replicas }
              : { kind: 'serverless' },
          );
        expect(assumptionsFromConfig(config).logRetentionDays).toBe(config.logRetentionDays);
        // TLS ends in the task exactly behind an NLB; the model prices the stack's keep-alives.
        expect(deployment.loadBalancer).toBe(config.edge === 'nlb' ? 'nlb-tcp' : 'alb');
        expect(assumptionsFromConfig(config)).toMatchObject({
          serverPingIntervalSeconds: config.keepalive.pingSeconds,
          sdkPingIntervalSeconds: config.keepalive.clientPingSeconds,
          skipGatewayPingAfterClientFrame: config.keepalive.skipPingAfterClientFrame,
        });
      });

      it('cost more with more connections and keep tasks within min/max', () => {
        const a = { ...DEFAULT_ASSUMPTIONS, ...assumptionsFromConfig(config) };
        const load = { msgRate: 0.1, msgBytes: 256, fanout: 100, crossRegionShare: 1, sessionMinutes: 60 };
        const small = buildReport(deployment, { ...load, connections: 1_000 }, book, a).estimate;
        const big = buildReport(deployment, { ...load, connections: 2_000_000 }, book, a).estimate;
        expect(big.usd).toBeGreaterThan(small.usd);
        for (const e of [small, big]) {
          e.regions.forEach((r, i) => {
            expect(r.tasks.running).toBeGreaterThanOrEqual(deployment.regions[i]!.minTasks);
            expect(r.tasks.running).toBeLessThanOrEqual(deployment.regions[i]!.maxTasks);
          });
        }
      });

      it('run through npm run cost', () => {
        let out = '';
        let err = '';
        const code = main([stack, '--connections', '100k'], {
          cwd: ROOT,
          out: (s) => (out += s),
          err: (s) => (err += s),
        });
        expect(err).toBe('');
        expect(code).toBe(0);
        expect(out).toContain(`wsgw monthly cost estimate: stack ${stack}`);
        expect(out).toMatch(/Prices: AWS list prices as of \d{4}-\d{2}-\d{2}/);
      });
    });
  }
});
