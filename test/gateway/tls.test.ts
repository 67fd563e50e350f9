/**
 * TLS in the task: the gateway exports its certificate from ACM, serves its public port with it,
 * picks up a renewed one without a restart, keeps serving when a refresh fails, and redirects
 * plain HTTP. ACM is a local stand-in that speaks the ExportCertificate API (AWS JSON 1.1) and
 * encrypts the key with the passphrase each request carries, as ACM does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

const ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000001';

/** A self-signed P-256 certificate for localhost, made now. */
function selfSigned(cn: string): { cert: string; key: string } {
  const out = execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '2',
      '-keyout',
      '-',
      '-out',
      '-',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(out)![0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)![0];
  return { cert, key };
}

const a = selfSigned('cert-a');
const b = selfSigned('cert-b');
let serving: { cert: string; key: string } | 'fail' = a;
let acm: Server;
let gw: TestGateway;
const saved = { ...process.env };

beforeAll(async () => {
  acm = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const input = JSON.parse(body) as { CertificateArn: string; Passphrase: string };
      if (
        req.headers['x-amz-target'] !== 'CertificateManager.ExportCertificate' ||
        input.CertificateArn !== ARN ||
        serving === 'fail'
      ) {
        res
          .writeHead(500, { 'content-type': 'application/x-amz-json-1.1' })
          .end('{"__type":"InternalFailure","message":"nope"}');
        return;
      }
      const passphrase = Buffer.from(input.Passphrase, 'base64').toString();
      const encrypted = createPrivateKey(serving.key)
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
        .toString();
      res
        .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ Certificate: serving.cert, CertificateChain: '', PrivateKey: encrypted }));
    });
  });
  await new Promise<void>((r) => acm.listen(0, '127.0.0.1', r));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_ACM: `http://127.0.0.1:${(acm.address() as { port: number }).port}`,
    AWS_ACCESS_KEY_ID: 'AKIATESTTESTTESTTEST',
    AWS_SECRET_ACCESS_KEY: 'test-secret-access-key-test-secret-acce',
    AWS_REGION: 'us-east-1',
  });
  gw = await startGateway({
    WSGW_TLS_ACM_CERTIFICATE_ARN: ARN,
    WSGW_TLS_REFRESH_MS: '1000',
    WSGW_HTTP_REDIRECT_PORT: '0',
  });
});

afterAll(async () => {
  await gw?.stop();
  acm?.close();
  process.env = saved;
});

/** The certificate a fresh TLS connection to the public port is served. */
function servedCertificate(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: gw.gateway.port, rejectUnauthorized: false }, () => {
      resolve(new X509Certificate(s.getPeerX509Certificate()!.raw).subject);
      s.destroy();
    });
    s.on('error', reject);
  });
}

describe('TLS in the task', () => {
  it('serves WebSockets and HTTP over TLS with the certificate it exported', async () => {
    expect(await servedCertificate()).toBe('CN=cert-a');
    const ws = new WebSocket(`wss://127.0.0.1:${gw.gateway.port}/`, { ca: a.cert });
    const got: string[] = [];
    ws.on('message', (d: Buffer) => got.push(d.toString()));
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.send('{"op":"sub","ch":"tls","id":1}');
    ws.send('{"op":"pub","ch":"tls","data":"secret","id":2}');
    await waitFor(() => got.some((g) => g.includes('"data":"secret"')), 5_000, 'own message over TLS');
    ws.close();
    const status = await new Promise<number>((resolve, reject) =>
      httpsRequest({ host: '127.0.0.1', port: gw.gateway.port, path: '/healthz', ca: a.cert }, (res) =>
        resolve(res.statusCode ?? 0),
      )
        .on('error', reject)
        .end(),
    );
    expect(status).toBe(200);
  });

  it('serves a renewed certificate without a restart, and keeps serving when a refresh fails', async () => {
    serving = b;
    await waitFor(async () => (await servedCertificate()) === 'CN=cert-b', 5_000, 'the renewed certificate');
    serving = 'fail';
    const failures = async () =>
      Number(
        /^wsgw_tls_refresh_failures_total (\d+)/m.exec(
          await (await fetch(`${gw.metrics}/metrics`)).text(),
        )?.[1],
      );
    const before = await failures();
    await waitFor(async () => (await failures()) >= before + 2, 10_000, 'two failed refreshes');
    expect(await servedCertificate()).toBe('CN=cert-b');
    const metrics = await (await fetch(`${gw.metrics}/metrics`)).text();
    expect(Number(/^wsgw_tls_certificate_expiry_seconds (\S+)/m.exec(metrics)?.[1]) * 1000).toBeGreaterThan(
      Date.now(),
    );
    serving = a;
  });

  it('redirects plain HTTP on the redirect port to https, path and query kept, port dropped', async () => {
    const port = (gw.gateway as unknown as { redirectServer: Server }).redirectServer.address() as {
      port: number;
    };
    const res = await fetch(`http://127.0.0.1:${port.port}/room?x=1`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('https://127.0.0.1/room?x=1');
  });
});
