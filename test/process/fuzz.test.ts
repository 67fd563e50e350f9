/**
 * Hostile input against a live gateway process: thousands of random request targets, methods,
 * headers and WebSocket frames, generated with fast-check, in embedded mode and in production mode
 * with tokens. Whatever arrives, the process must keep serving everyone else: it stays up,
 * answers `/healthz`, and a well-behaved client still subscribes, publishes and receives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { build, listening, spawnGateway, type GatewayProcess } from '../helpers/process.js';
import { clientFrame, rawRequest, rawWebSocket, upgradeRequest } from '../helpers/raw.js';
import { TestClient } from '../helpers/client.js';
import { waitFor } from '../helpers/gateway.js';

const MAIN = ['node', 'dist/services/gateway/src/main.js'];
const SECRET = 'fuzz-test-secret-0123456789abcdef0123';
const PUBLISH_KEY = 'fuzz-publish-key-0123456789';
/** How many random inputs of each kind go to each gateway. */
const REQUESTS = 1_500;
const FRAMES = 1_500;

const token = (claims: Record<string, unknown> = { subscribe: ['*'], publish: ['*'] }) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('fuzz')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

/** Request targets: the ones that broke URL parsing before, and random ones of every shape. */
const target = fc.oneof(
  fc.constantFrom(
    '//a:b',
    '//',
    '///',
    '//a:b/?token=x',
    'http://h/',
    'http://[::1',
    '*',
    '%',
    '/%zz',
    '/?token=%E0%A4%A',
    '/?token=a&token=b',
    '/\\\\x',
    '//@',
    '//a:99999999/',
    '/?' + 'a'.repeat(8_000),
  ),
  fc.webPath(),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string({ unit: 'binary-ascii', maxLength: 200 }).map((s) => `/${s}`),
  fc.string({ unit: 'grapheme', maxLength: 60 }).map((s) => `/?token=${s}`),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 80 }),
);
const headerValue = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 120 }),
  fc.constantFrom(
    '',
    ' ',
    'null',
    'Bearer',
    'Bearer ',
    'Bearer x.y.z',
    'websocket',
    'Upgrade',
    '13',
    '8',
    'permessage-deflate; client_max_window_bits',
    'wsgw.v1.json, wsgw.v1.proto',
    'https://evil.example',
    'null',
  ),
);
const header = fc.tuple(
  fc.constantFrom(
    'Origin',
    'Authorization',
    'Sec-WebSocket-Protocol',
    'Sec-WebSocket-Extensions',
    'Sec-WebSocket-Version',
    'Sec-WebSocket-Key',
    'Host',
    'Content-Length',
    'Transfer-Encoding',
    'X-Forwarded-For',
    'Cookie',
  ),
  headerValue,
);
const request = fc.record({
  upgrade: fc.boolean(),
  method: fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'CONNECT', 'G\u00e9T'),
  target,
  headers: fc.array(header, { maxLength: 6 }),
  body: fc.option(fc.string({ unit: 'binary', maxLength: 300 }), { nil: undefined }),
});

function render(
  r: {
    upgrade: boolean;
    method: string;
    target: string;
    headers: [string, string][];
    body: string | undefined;
  },
  tok: string | undefined,
): string {
  const extra = r.headers.map(([k, v]) => `${k}: ${v}`);
  if (tok !== undefined) extra.push(`Authorization: Bearer ${tok}`);
  if (r.upgrade) return upgradeRequest(r.target, extra).replace(/^GET /, `${r.method} `) + (r.body ?? '');
  return [
    `${r.method} ${r.target} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...extra,
    `Content-Length: ${Buffer.byteLength(r.body ?? '')}`,
    '',
    r.body ?? '',
  ].join('\r\n');
}

/** Client frames: random payloads in valid frames, and frames that break RFC 6455 itself. */
const frame = fc.oneof(
  fc.string({ maxLength: 300 }).map((s) => clientFrame(0x1, Buffer.from(s))),
  fc.json({ maxDepth: 3 }).map((s) => clientFrame(0x1, Buffer.from(s))),
  fc
    .record(
      {
        op: fc.constantFrom('sub', 'unsub', 'pub', 'ping', 'nope'),
        ch: fc.string({ maxLength: 140 }),
        id: fc.oneof(fc.integer(), fc.double(), fc.string()),
        since: fc.dictionary(
          fc.string({ maxLength: 70 }),
          fc.oneof(fc.string({ maxLength: 140 }), fc.integer()),
        ),
        data: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: ['op'] },
    )
    .map((o) => clientFrame(0x1, Buffer.from(JSON.stringify(o)))),
  fc.uint8Array({ maxLength: 300 }).map((b) => clientFrame(0x2, Buffer.from(b))),
  fc.uint8Array({ maxLength: 300 }).map((b) => clientFrame(0x1, Buffer.from(b))), // invalid UTF-8 in text frames
  fc
    .record({
      opcode: fc.integer({ min: 0, max: 15 }),
      rsv: fc.integer({ min: 0, max: 7 }),
      fin: fc.boolean(),
      mask: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 200 }),
    })
    .map((f) => clientFrame(f.opcode, Buffer.from(f.payload), f)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)), // not even a frame
);

interface Target {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly production: boolean;
}

const targets: Target[] = [
  { name: 'embedded mode', env: {}, production: false },
  {
    name: 'production mode with tokens',
    env: {
      NODE_ENV: 'production',
      WSGW_JWT_SECRET: SECRET,
      WSGW_PUBLISH_KEY: PUBLISH_KEY,
      WSGW_ALLOWED_ORIGINS: 'https://app.example.com',
    },
    production: true,
  },
];

beforeAll(() => build(), 120_000);

describe.each(targets)('a live gateway under random input: $name', ({ env, production }) => {
  let p: GatewayProcess;
  let port: number;
  let tok: string | undefined;

  beforeAll(async () => {
    p = spawnGateway(MAIN, {
      ...env,
      WSGW_LOG_LEVEL: 'info',
      WSGW_RATE_LIMIT_PER_SEC: '100000',
      WSGW_RATE_LIMIT_BURST: '100000',
    });
    port = await listening(p);
    tok = production ? await token() : undefined;
  }, 30_000);

  afterAll(async () => {
    p.child.kill('SIGKILL');
    await p.exited;
  });

  /**
   * The process is up, logged no error (a contained failure is still a bug), and a real client
   * still gets its own message back.
   */
  async function stillServes(): Promise<void> {
    expect(p.child.exitCode, `gateway exited: ${p.stderr.join('\n')}`).toBeNull();
    expect(p.stdout.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/${tok ? `?token=${tok}` : ''}`);
    expect(await c.sub('alive')).toMatchObject({ op: 'ack' });
    expect(await c.pub('alive', { n: 1 })).toMatchObject({ op: 'ack' });
    await waitFor(() => c.data('alive').length === 1, 5_000, 'own message');
    c.close();
  }

  it('answers the request targets that once crashed it, with and without a token', async () => {
    // A token that does not verify is refused in both modes (embedded mode has no key to check it with).
    expect((await rawRequest(port, upgradeRequest('//a:b/?token=x'))).status).toBe(401);
    for (const t of ['//a:b', '//', 'http://[::1', '//a:b/?x=1']) {
      const bare = await rawRequest(port, upgradeRequest(t));
      expect(bare.status, `${t} without a token: ${bare.text.split('\r\n')[0]}`).toBe(production ? 401 : 101);
      if (tok !== undefined) {
        const withToken = await rawRequest(port, upgradeRequest(t, [`Authorization: Bearer ${tok}`]));
        expect(withToken.status, `${t} with a token`).toBe(101);
      }
      const plain = await rawRequest(port, `GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(plain.status, `${t} as plain HTTP`).toBeGreaterThanOrEqual(200);
      expect(plain.status).toBeLessThan(500);
    }
    await stillServes();
  });

  it(`survives ${REQUESTS} random requests, each answered or closed, never a 5xx`, async () => {
    const samples = fc.sample(fc.tuple(request, fc.boolean()), {
      numRuns: REQUESTS,
      seed: production ? 7 : 3,
    });
    const statuses = new Map<number, number>();
    // Many at a time, as a crowd of bad clients would. A request that promises a body it never
    // sends is left waiting: 300 ms is enough to see that the server has not fallen over.
    for (let i = 0; i < samples.length; i += 64) {
      const replies = await Promise.all(
        samples
          .slice(i, i + 64)
          .map(([r, withToken]) => rawRequest(port, render(r, withToken ? tok : undefined), 300)),
      );
      for (const { status } of replies) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect(
      [...statuses.keys()].filter((s) => s >= 500 && s !== 503),
      JSON.stringify([...statuses]),
    ).toEqual([]);
    // The generator reaches the interesting paths: upgrades accepted and refused, routes, parse errors.
    expect(statuses.get(101) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(0);
    await stillServes();
  }, 120_000);

  it(`survives ${FRAMES} random frames over many connections`, async () => {
    // Each connection gets a random run of frames; the server closes many of them early (a
    // protocol error ends the connection), so runs continue until enough frames were written.
    const runs = fc.sample(fc.array(frame, { minLength: 1, maxLength: 15 }), {
      numRuns: FRAMES,
      seed: production ? 11 : 5,
    });
    let sent = 0;
    for (let i = 0; i < runs.length && sent < FRAMES; i += 16) {
      await Promise.all(
        runs.slice(i, i + 16).map(async (frames) => {
          const s = await rawWebSocket(port, tok ? `/?token=${tok}` : '/');
          s.on('error', () => {});
          for (const f of frames) {
            if (s.destroyed) break;
            s.write(f);
            sent++;
          }
          await new Promise((r) => setTimeout(r, 20));
          s.destroy();
        }),
      );
    }
    expect(sent).toBeGreaterThanOrEqual(FRAMES);
    await stillServes();
  }, 120_000);
});
