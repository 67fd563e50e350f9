/**
 * TLS for the servers under test: a self-signed certificate made at run time with `openssl` (no
 * key is ever committed), in the key types ACM issues for exportable public certificates
 * (ECDSA P-256 and RSA 2048), and the environment that makes a gateway process serve TLS through
 * `tls-preload.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyType = 'ecdsa-p256' | 'rsa-2048';

/** Environment variables the preload reads: paths of the PEM certificate and key. */
export const TLS_ENV = Object.freeze({ cert: 'WSGW_BENCH_TLS_CERT', key: 'WSGW_BENCH_TLS_KEY' });

export interface Certificate {
  readonly keyType: KeyType;
  readonly certPath: string;
  readonly keyPath: string;
  /** DER size of the certificate: what the server sends in every full handshake. */
  readonly certDerBytes: number;
  /** Environment for a gateway process that should serve TLS with this certificate. */
  readonly env: Readonly<Record<string, string>>;
  remove(): void;
}

/** A one-day self-signed certificate for `localhost`, in a fresh temporary directory. */
export function makeCertificate(keyType: KeyType): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'wsgw-bench-tls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const key =
    keyType === 'ecdsa-p256'
      ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']
      : ['-newkey', 'rsa:2048'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...key,
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const pem = readFileSync(certPath, 'utf8');
  const certDerBytes = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64').length;
  return {
    keyType,
    certPath,
    keyPath,
    certDerBytes,
    env: { [TLS_ENV.cert]: certPath, [TLS_ENV.key]: keyPath },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
