/**
 * Plain HTTP routes. The public listener: health, readiness, backend publish, the browser SDK
 * bundle and (embedded mode, or `WSGW_DEMO_PAGE=true`) the demo page. The metrics listener, on its
 * own port: `/metrics` only, which names brokers, topics and the runtime and so never faces the
 * internet.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { HTTP_PATHS } from '../../shared/src/constants.js';
import { MESSAGE_ID } from '../../shared/src/frames.js';
import { ERRORS, statusOf, type HttpErrorCode } from '../../shared/src/errors.js';
import { busFailureCode } from './errors.js';
import { channelProblem } from '../../shared/src/channel.js';
import { DEMO_PAGE } from './demo-page.js';
import type { Registry } from 'prom-client';
import type { ContentType } from '../../shared/src/envelope.js';

/** What `/readyz` says: `ready`, or why not. */
export type Readiness = 'ready' | 'new' | 'draining' | 'stopped' | 'bus_not_ready' | 'warming_history';

/** What the HTTP routes may see and do (the gateway hands over no more). */
export interface HttpSurface {
  readiness(): Readiness;
  /** Why the bus is not ready (its `health().reason`, or a failed probe), when it is not. */
  busReason?(): string | undefined;
  publish(ch: string, contentType: ContentType, payload: Uint8Array, mid?: string): Promise<string>;
  publishKey(): string | undefined;
  maxPayloadBytes(): number;
  demoPage(): boolean;
}

/** The browser build of the client SDK (scripts/build-client.mjs). */
export const CLIENT_BUNDLE_PATH = '/wsgw-client.js';

let bundle: Promise<Buffer | undefined> | undefined;

/**
 * Reads the bundle once: next to the compiled gateway, or under dist/ when running from source.
 * A bundle not found is not remembered, so one built later is served without a restart.
 */
function clientBundle(): Promise<Buffer | undefined> {
  bundle ??= (async () => {
    for (const rel of ['../../../client/wsgw-client.js', '../../../dist/client/wsgw-client.js']) {
      try {
        return await readFile(new URL(rel, import.meta.url));
      } catch {}
    }
    bundle = undefined;
    return undefined;
  })();
  return bundle;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    })
    .end(text);
};

/** An error answer: the code's status and `{"error": code, "message": ...}` (services/shared/src/errors.ts). */
const fail = (res: ServerResponse, code: HttpErrorCode, message: string = ERRORS[code].message): void =>
  json(res, statusOf(code), { error: code, message });

export async function handleHttp(gw: HttpSurface, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  switch (path) {
    case HTTP_PATHS.health:
      return json(res, 200, { status: 'ok' });
    case HTTP_PATHS.ready: {
      const status = gw.readiness();
      if (status === 'bus_not_ready') return json(res, 503, { status, reason: gw.busReason?.() });
      return json(res, status === 'ready' ? 200 : 503, { status });
    }
    case HTTP_PATHS.publish:
      return publish(gw, req, res);
    case CLIENT_BUNDLE_PATH: {
      const bundle = await clientBundle();
      if (bundle === undefined) return fail(res, 'not_found', 'client bundle not built (npm run build)');
      res
        .writeHead(200, {
          'content-type': 'text/javascript; charset=utf-8',
          'cache-control': 'public, max-age=300',
        })
        .end(bundle);
      return;
    }
    case HTTP_PATHS.demo:
      if (!gw.demoPage()) return fail(res, 'not_found');
      if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 'method_not_allowed');
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(DEMO_PAGE);
      return;
    default:
      return fail(res, 'not_found');
  }
}

/**
 * The redirect listener (TLS in the task, where the load balancer passes port 80 through): every
 * request goes to the same host and path over https, with the port dropped.
 */
export async function redirectToHttps(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const host = /^[A-Za-z0-9.-]+/.exec(req.headers.host ?? '')?.[0];
  if (host === undefined) return fail(res, 'bad_request', 'a Host header is required');
  const target = req.url?.startsWith('/') ? req.url : '/';
  res.writeHead(301, { location: `https://${host}${target}`, 'content-length': 0 }).end();
}

/** The metrics listener's only route. */
export async function handleMetrics(
  registry: Registry,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if ((req.url ?? '/').split('?', 1)[0] !== HTTP_PATHS.metrics) return fail(res, 'not_found');
  const text = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType }).end(text);
}

/** `POST /publish {"ch": "...", "data": <json>}` with `Authorization: Bearer <WSGW_PUBLISH_KEY>`. */
async function publish(gw: HttpSurface, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') return fail(res, 'method_not_allowed', 'use POST');
  const key = gw.publishKey();
  if (key === undefined) return fail(res, 'publish_disabled', 'set WSGW_PUBLISH_KEY to enable POST /publish');
  const given = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '';
  if (!safeEqual(given, key))
    return fail(res, 'unauthorized', 'Authorization: Bearer <publish key> required');
  let body: Buffer;
  try {
    body = await readBody(req, gw.maxPayloadBytes());
  } catch {
    return fail(res, 'payload_too_large', `body exceeds ${gw.maxPayloadBytes()} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return fail(res, 'bad_request', 'body must be JSON');
  }
  const { ch, data, mid } = (parsed ?? {}) as { ch?: unknown; data?: unknown; mid?: unknown };
  if (typeof ch !== 'string') return fail(res, 'bad_channel', '"ch" must be a string');
  const bad = channelProblem(ch);
  if (bad !== undefined) return fail(res, 'bad_channel', bad);
  if (data === undefined) return fail(res, 'bad_request', '"data" is required');
  if (mid !== undefined && (typeof mid !== 'string' || !MESSAGE_ID.test(mid))) {
    return fail(res, 'bad_request', '"mid" must be 8-64 characters of A-Z a-z 0-9 _ -');
  }
  try {
    const id = await gw.publish(ch, 'application/json', Buffer.from(JSON.stringify(data)), mid);
    return json(res, 202, { id });
  } catch (err) {
    return fail(
      res,
      busFailureCode(err) ?? 'bus_unavailable',
      err instanceof Error ? err.message : String(err),
    );
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Past the limit the rest is read and thrown away, so the 413 can still be answered.
      if (size > limit) reject(new Error('too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
