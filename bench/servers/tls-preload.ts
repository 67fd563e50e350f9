/**
 * Loaded into a gateway process under test with `--import` (after tsx): when WSGW_BENCH_TLS_CERT
 * and WSGW_BENCH_TLS_KEY name a certificate and key, the gateway's public listener (the first
 * server it creates with `http.createServer`) is created by `https.createServer` with them instead,
 * so the unchanged gateway terminates TLS itself, as a task behind an NLB passing TCP would. The
 * metrics listener (the second server) stays plain. Without the variables nothing changes, so the
 * plain and the TLS gateway of a run are the same program started the same way.
 *
 * The gateway imports `createServer` by name from `node:http`; replacing the property and calling
 * `syncBuiltinESMExports()` before the gateway's modules load makes that binding the replacement.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { TLS_ENV } from './tls.js';

const certPath = process.env[TLS_ENV.cert];
const keyPath = process.env[TLS_ENV.key];
if (certPath && keyPath) {
  const original = http.createServer;
  const options = { cert: readFileSync(certPath), key: readFileSync(keyPath) };
  let replaced = false;
  const createServer = ((...args: unknown[]) => {
    if (replaced) return (original as (...a: unknown[]) => http.Server)(...args);
    replaced = true;
    const listener = args.find((a) => typeof a === 'function') as http.RequestListener | undefined;
    return https.createServer(options, listener);
  }) as typeof http.createServer;
  http.createServer = createServer;
  syncBuiltinESMExports();
}
