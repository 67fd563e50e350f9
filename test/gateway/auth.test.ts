import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/client.js';
import { rawRequest, upgradeRequest } from '../helpers/raw.js';

const SECRET = 'test-secret-that-is-at-least-32-bytes-long';
const key = new TextEncoder().encode(SECRET);

async function hs256(claims: Record<string, unknown>, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({
    WSGW_JWT_SECRET: SECRET,
    WSGW_ALLOWED_ORIGINS: 'https://app.example.com,https://*.example.org',
  });
});
afterAll(() => gw.stop());

describe('JWT at the upgrade', () => {
  it('refuses a connection without a token when a secret is configured', async () => {
    await expect(TestClient.connect(gw.url)).rejects.toMatchObject({ status: 401 });
  });

  it('refuses an invalid signature, garbage and an expired token', async () => {
    const forged = await new SignJWT({ subscribe: ['*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another'));
    await expect(TestClient.connect(`${gw.url}?token=${forged}`)).rejects.toMatchObject({ status: 401 });
    await expect(TestClient.connect(`${gw.url}?token=not.a.jwt`)).rejects.toMatchObject({ status: 401 });
    const expired = await hs256({ subscribe: ['*'] }, Math.floor(Date.now() / 1000) - 10);
    await expect(TestClient.connect(`${gw.url}?token=${expired}`)).rejects.toMatchObject({ status: 401 });
  });

  it('refuses alg=none tokens', async () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ subscribe: ['*'], exp: 9e9 })).toString('base64url')}.`;
    await expect(TestClient.connect(`${gw.url}?token=${none}`)).rejects.toMatchObject({ status: 401 });
  });

  it('accepts a token in the query string or the Authorization header', async () => {
    const t = await hs256({ subscribe: ['*'] });
    const a = await TestClient.connect(`${gw.url}?token=${t}`);
    const b = await TestClient.connect(gw.url, { headers: { Authorization: `Bearer ${t}` } });
    expect(await a.sub('x')).toMatchObject({ op: 'ack' });
    expect(await b.sub('x')).toMatchObject({ op: 'ack' });
    a.close();
    b.close();
  });
});

describe('per-channel permissions', () => {
  it('grants subscribe and publish by pattern and refuses the rest with forbidden', async () => {
    const t = await hs256({ subscribe: ['room:*', 'news'], publish: ['room:42'] });
    const c = await TestClient.connect(`${gw.url}?token=${t}`);
    expect(await c.sub('room:1')).toMatchObject({ op: 'ack' });
    expect(await c.sub('room:a:b')).toMatchObject({ op: 'ack' });
    expect(await c.sub('news')).toMatchObject({ op: 'ack' });
    expect(await c.sub('newsletter')).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.sub('admin')).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.pub('room:42', { ok: true })).toMatchObject({ op: 'ack' });
    expect(await c.pub('room:1', { ok: false })).toMatchObject({ op: 'error', code: 'forbidden' });
    c.close();
  });

  it('grants nothing when the token has no permission claims', async () => {
    const c = await TestClient.connect(`${gw.url}?token=${await hs256({})}`);
    expect(await c.sub('room:1')).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.pub('room:1', 1)).toMatchObject({ op: 'error', code: 'forbidden' });
    c.close();
  });

  it('refuses a token whose permission claims are malformed', async () => {
    await expect(
      TestClient.connect(`${gw.url}?token=${await hs256({ subscribe: 'room:*' })}`),
    ).rejects.toMatchObject({ status: 401 });
  });
});

describe('token expiry', () => {
  it('closes the connection with 4001 when its token expires', async () => {
    const t = await hs256({ subscribe: ['*'] }, Math.floor(Date.now() / 1000) + 2);
    const c = await TestClient.connect(`${gw.url}?token=${t}`);
    expect(await c.sub('x')).toMatchObject({ op: 'ack' });
    const closed = await c.waitClosed(5_000);
    expect(closed.code).toBe(4001);
  });
});

describe('origin allow-list', () => {
  const tokenP = hs256({ subscribe: ['*'] });
  it('accepts listed origins, wildcard subdomains and clients that send no Origin', async () => {
    const t = await tokenP;
    for (const origin of ['https://app.example.com', 'https://a.example.org', 'https://b.c.example.org']) {
      const c = await TestClient.connect(`${gw.url}?token=${t}`, { headers: { Origin: origin } });
      c.close();
    }
    (await TestClient.connect(`${gw.url}?token=${t}`)).close();
  });

  it('refuses other origins with 403 before checking the token', async () => {
    const t = await tokenP;
    for (const origin of [
      'https://evil.com',
      'http://app.example.com',
      'https://example.org',
      'https://app.example.com.evil.com',
    ]) {
      await expect(
        TestClient.connect(`${gw.url}?token=${t}`, { headers: { Origin: origin } }),
      ).rejects.toMatchObject({ status: 403 });
    }
  });
});

describe('JWKS', () => {
  let jwks: Server;
  let gw2: TestGateway;
  let sign: (claims: Record<string, unknown>) => Promise<string>;
  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const port = (jwks.address() as { port: number }).port;
    gw2 = await startGateway({
      WSGW_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      WSGW_JWT_ISSUER: 'https://issuer.test',
    });
    sign = (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://issuer.test')
        .setExpirationTime('1h')
        .sign(privateKey);
  });
  afterAll(async () => {
    await gw2.stop();
    jwks.close();
  });

  it('verifies tokens against the key set and checks the issuer', async () => {
    const c = await TestClient.connect(`${gw2.url}?token=${await sign({ subscribe: ['a:*'] })}`);
    expect(await c.sub('a:1')).toMatchObject({ op: 'ack' });
    expect(await c.sub('b:1')).toMatchObject({ op: 'error', code: 'forbidden' });
    c.close();
    const { privateKey: other } = await generateKeyPair('ES256');
    const bad = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://issuer.test')
      .setExpirationTime('1h')
      .sign(other);
    await expect(TestClient.connect(`${gw2.url}?token=${bad}`)).rejects.toMatchObject({ status: 401 });
    const wrongIssuer = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://other')
      .setExpirationTime('1h')
      .sign(other);
    await expect(TestClient.connect(`${gw2.url}?token=${wrongIssuer}`)).rejects.toMatchObject({
      status: 401,
    });
  });
});

describe('token lifetime', () => {
  it('refuses a token without exp, and one that expires further ahead than WSGW_JWT_MAX_LIFETIME_S', async () => {
    const forever = await new SignJWT({ subscribe: ['*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user-1')
      .sign(key);
    await expect(TestClient.connect(`${gw.url}?token=${forever}`)).rejects.toMatchObject({ status: 401 });
    const year = await hs256({ subscribe: ['*'] }, '365d');
    await expect(TestClient.connect(`${gw.url}?token=${year}`)).rejects.toMatchObject({ status: 401 });
    const day = await hs256({ subscribe: ['*'] }, '23h');
    (await TestClient.connect(`${gw.url}?token=${day}`)).close();
    // 0 lifts the bound; exp stays required.
    const open = await startGateway({ WSGW_JWT_SECRET: SECRET, WSGW_JWT_MAX_LIFETIME_S: '0' });
    (await TestClient.connect(`${open.url}?token=${year}`)).close();
    await expect(TestClient.connect(`${open.url}?token=${forever}`)).rejects.toMatchObject({ status: 401 });
    await open.stop();
  });
});

describe('a key set that cannot be fetched', () => {
  it('answers 503 auth_unavailable with Retry-After and no internal detail, never 401', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const tok = await new SignJWT({ subscribe: ['*'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setExpirationTime('1h')
      .sign(privateKey);
    const broken = createServer((_req, res) =>
      res.writeHead(500).end('internal jwks failure: db at 10.0.0.7 down'),
    );
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    const port = (broken.address() as { port: number }).port;
    const cases = [`http://127.0.0.1:${port}/jwks.json`, 'http://127.0.0.1:1/jwks.json'];
    for (const url of cases) {
      const g = await startGateway({ WSGW_JWKS_URL: url });
      const reply = await rawRequest(g.gateway.port, upgradeRequest(`/?token=${tok}`));
      expect(reply.status, url).toBe(503);
      expect(reply.text).toMatch(/Retry-After: \d+/);
      const body = JSON.parse(reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4)) as {
        error: string;
        message: string;
      };
      expect(body.error).toBe('auth_unavailable');
      expect(body.message).not.toMatch(/10\.0\.0\.7|ECONNREFUSED|127\.0\.0\.1|500/);
      await g.stop();
    }
    broken.close();
  });
});
