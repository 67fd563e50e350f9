import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/client.js';
import { encodeClientProto } from '../../services/shared/src/frames.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ WSGW_RATE_LIMIT_PER_SEC: '1000000', WSGW_RATE_LIMIT_BURST: '1000000' });
});
afterAll(() => gw.stop());

function* hostile(seed: number): Generator<string | Buffer> {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const valid = encodeClientProto({ op: 'sub', id: 1, ch: 'fz', since: { a: 'b' } });
  for (;;) {
    const k = Math.floor(rnd() * 8);
    if (k === 0) yield '{"op":"sub","ch":';
    else if (k === 1)
      yield JSON.stringify({ op: 'pub', ch: 'x'.repeat(Math.floor(rnd() * 300)), data: { n: rnd() } });
    else if (k === 2)
      yield JSON.stringify({
        op: 'sub',
        ch: 'fz',
        since: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`r${i}`, 'x'.repeat(200)])),
      });
    else if (k === 3) yield '{"__proto__":{"op":"sub"},"constructor":{"prototype":{"x":1}}}';
    else if (k === 4) yield Buffer.from(valid.subarray(0, Math.floor(rnd() * valid.length)));
    else if (k === 5)
      yield Buffer.from(Array.from({ length: Math.floor(rnd() * 100) }, () => Math.floor(rnd() * 256)));
    else if (k === 6) yield `{"op":"ping","id":${rnd() * 1e12}}`;
    else yield '[]'.repeat(Math.floor(rnd() * 500));
  }
}

async function barrage(rounds: number, perRound: number): Promise<void> {
  const json = await TestClient.connect(gw.url);
  const proto = await TestClient.connect(gw.url, { proto: true });
  const gen = hostile(7);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < perRound; i++) {
      const f = gen.next().value!;
      (i % 2 ? json : proto).ws.send(f);
    }
    for (const c of [json, proto])
      expect(await c.request({ op: 'ping', id: 1_000_000 + r })).toMatchObject({ op: 'pong' });
    json.frames.length = 0;
    proto.frames.length = 0;
  }
  json.close();
  proto.close();
  await waitFor(() => gw.gateway.connectionCount === 0, 5_000, 'connections released');
}

describe('hostile input', () => {
  it('answers 40k malformed JSON, protobuf and random frames without crashing or growing the heap', async () => {
    await barrage(2, 2_000); // warm-up: JIT, lazily built metric children
    const before = heapAfterGc();
    await barrage(10, 4_000);
    const grown = heapAfterGc() - before;
    expect(grown).toBeLessThan(3 * 1024 * 1024);
    expect((await fetch(`${gw.http}/healthz`)).status).toBe(200);
  }, 60_000);

  it('frees every connection and channel across 600 connect-subscribe-drop cycles', async () => {
    const cycle = async (n: number) => {
      for (let i = 0; i < n; i += 20) {
        const batch = await Promise.all(Array.from({ length: 20 }, () => TestClient.connect(gw.url)));
        await Promise.all(batch.map((c, j) => c.sub(`cyc:${i + j}`)));
        for (const c of batch) c.close();
      }
      await waitFor(
        () => gw.gateway.connectionCount === 0 && gw.gateway.hub.channelCount === 0,
        5_000,
        'all released',
      );
    };
    await cycle(100);
    const before = heapAfterGc();
    await cycle(600);
    expect(gw.gateway.hub.subscriptions).toBe(0);
    expect(heapAfterGc() - before).toBeLessThan(3 * 1024 * 1024);
  }, 60_000);
});
