/**
 * One connection to one Redis server for the Redis bus (docs/redis.md), on node-redis.
 *
 * node-redis reconnects on its own and, by default, queues commands while it is away; the bus
 * needs to know instead whether a command was sent (to tell `bus_unavailable` from
 * `bus_uncertain`), and blocking reads need a connection of their own. So each connection here is
 * one socket: no automatic reconnect (the bus opens a new one with backoff), no offline queue
 * (a command while it is down rejects at once, unsent), and connecting is bounded by a timeout that
 * covers TLS and auth too, since a frozen server accepts TCP connections it never answers.
 */
import { createClient, RESP_TYPES } from 'redis';

/** Why a connection is not usable: what `health()` and `/readyz` report. */
export type RedisDownReason =
  'redis_unreachable' | 'redis_auth_failed' | 'redis_tls_failed' | 'redis_unresponsive' | 'redis_error';

/** A Redis reply, with bulk strings as Buffers (entries carry binary envelopes). */
export type Reply = Buffer | number | null | Reply[] | Error;

export interface ConnectionOptions {
  readonly url: string;
  /** `CLIENT SETNAME`, so that `CLIENT LIST` on the server says who is connected. */
  readonly name: string;
  readonly connectTimeoutMs: number;
  /** Called once when the connection closes or fails after it was open. */
  readonly onDown: (reason: RedisDownReason, err: unknown) => void;
}

export class RedisConnection {
  private downCalled = false;

  private constructor(
    private readonly client: ReturnType<typeof newClient>,
    private readonly opts: ConnectionOptions,
  ) {}

  /** Opens a connection; rejects with a {@link RedisConnectError} naming why it failed. */
  static async open(opts: ConnectionOptions): Promise<RedisConnection> {
    const client = newClient(opts);
    let lastErr: unknown;
    let conn: RedisConnection | undefined;
    let connected = false;
    client.on('connect', () => (connected = true));
    client.on('error', (err: unknown) => {
      lastErr = err;
      conn?.down(classify(err), err);
    });
    client.on('end', () => conn?.down('redis_unreachable', lastErr));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new RedisConnectError('redis_unresponsive', `no answer within ${opts.connectTimeoutMs} ms`),
              ),
            opts.connectTimeoutMs,
          );
        }),
      ]);
      // The handshake sends no command when there are no credentials: ask one, so that a server
      // wanting a password says so now rather than at the first publish.
      await Promise.race([
        client.sendCommand(['PING']),
        new Promise((_, reject) => {
          clearTimeout(timer);
          timer = setTimeout(
            () =>
              reject(
                new RedisConnectError('redis_unresponsive', `no answer within ${opts.connectTimeoutMs} ms`),
              ),
            opts.connectTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      client.destroy();
      // A TLS client talking to a plain-text server waits for a handshake that never comes.
      if (err instanceof RedisConnectError && !connected && opts.url.startsWith('rediss:'))
        throw new RedisConnectError(
          'redis_tls_failed',
          `the TLS handshake did not complete within ${opts.connectTimeoutMs} ms (a plain-text server, or none answering)`,
        );
      if (err instanceof RedisConnectError) throw err;
      const cause = lastErr ?? err;
      throw new RedisConnectError(classify(cause), describe(cause), { cause });
    } finally {
      clearTimeout(timer);
    }
    conn = new RedisConnection(client, opts);
    return conn;
  }

  /** Whether commands can be sent now (a command sent otherwise rejects at once, unsent). */
  get ready(): boolean {
    return !this.downCalled && this.client.isReady;
  }

  /** Sends one command; bulk replies come as Buffers. */
  send(args: ReadonlyArray<string | Buffer>): Promise<Reply> {
    return this.client.sendCommand(args) as Promise<Reply>;
  }

  /** Closes the socket at once; commands waiting for a reply reject. */
  destroy(): void {
    this.downCalled = true;
    try {
      this.client.destroy();
    } catch {
      // already closed
    }
  }

  /** Closes the socket because it is no use (e.g. it stopped answering), telling `onDown`. */
  fail(reason: RedisDownReason, err: unknown): void {
    this.down(reason, err);
  }

  private down(reason: RedisDownReason, err: unknown): void {
    if (this.downCalled) return;
    this.downCalled = true;
    try {
      this.client.destroy();
    } catch {
      // already closed
    }
    this.opts.onDown(reason, err);
  }
}

function newClient(opts: ConnectionOptions) {
  return createClient({
    url: opts.url,
    RESP: 2,
    name: opts.name,
    disableOfflineQueue: true,
    socket: { connectTimeout: opts.connectTimeoutMs, reconnectStrategy: false },
    commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } },
  });
}

/** A failed connection attempt, with the reason `health()` reports. */
export class RedisConnectError extends Error {
  constructor(
    readonly reason: RedisDownReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RedisConnectError';
  }
}

/** Sorts a connection failure into what an operator must fix. */
export function classify(err: unknown): RedisDownReason {
  const e = err as { message?: unknown; code?: unknown } | undefined;
  const text = `${String(e?.code ?? '')} ${String(e?.message ?? '')}`;
  if (/WRONGPASS|NOAUTH|invalid username-password|AUTH.*(fail|without|called)|NOPERM/i.test(text))
    return 'redis_auth_failed';
  if (
    /SSL|TLS|EPROTO|certificate|wrong version number|CERT_|self[- ]signed|socket disconnected before secure/i.test(
      text,
    )
  )
    return 'redis_tls_failed';
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|closed|Socket/i.test(text))
    return 'redis_unreachable';
  if (/timeout/i.test(text)) return 'redis_unresponsive';
  return 'redis_error';
}

/** One line about a failure, without anything the URL's password could be in. */
export function describe(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown } | undefined;
  const msg = String(e?.message ?? e ?? 'unknown error');
  return msg.replace(/rediss?:\/\/[^@\s]*@/g, 'redis://***@');
}
