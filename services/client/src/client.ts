/**
 * The wsgw client for browsers and Node: one connection, many channels, and reconnects that lose
 * nothing.
 *
 *     const client = new WsgwClient({ url: 'wss://ws.example.com/', token: () => fetchToken() });
 *     client.on('message', ({ ch, data }) => render(ch, data));
 *     await client.subscribe('room:1');
 *     await client.publish('room:1', { text: 'hi' });
 *
 * - Requests (`subscribe`, `unsubscribe`, `publish`) return promises settled by the server's
 *   `ack` or `error` (rejected with a {@link WsgwError} carrying the code).
 * - Reconnects use exponential backoff with full jitter and honour the close code: 1012 and 1001
 *   reconnect soon, 1013/4029 back off longer, 4001 asks for a new token, 1008 stops.
 * - Every subscription is renewed after a reconnect with its position (origin -> last id, plus the
 *   sync point: how far, per origin region, the gateway had written the stream to this client), so
 *   the gateway sends exactly what was missed; repeats are dropped here by message id. When the
 *   gateway cannot vouch for what was missed, a `gap` event tells the application to reload its
 *   state (docs/protocol.md, Recovery).
 * - App-level pings detect links that died silently behind proxies (browsers cannot see WebSocket
 *   ping frames).
 * - Publishes made while disconnected wait in a bounded queue and are sent on reconnect.
 */
import {
  MESSAGE_ID,
  decodeServerJson,
  decodeServerProto,
  encodeClientJson,
  encodeClientProto,
  type ClientOp,
  type Position,
  type ServerOp,
} from '../../shared/src/frames.js';
import { CLOSE_CODES, SUBPROTOCOLS } from '../../shared/src/constants.js';
import { closeAction, fullJitter } from './backoff.js';
import {
  CLIENT_DEFAULTS,
  type ClientEvents,
  type ClientOptions,
  type ClientState,
  type PublishOptions,
} from './options.js';
import { FINAL_SUB_ERRORS, WsgwError, serverError } from './errors.js';
import { ChannelState } from './channel-state.js';
import { Requests } from './requests.js';
import { OPEN, defaultWebSocket, type WebSocketLike } from './socket.js';
import { expiresWithin, randomMessageId } from './ids.js';

// The public API, in one import.
export { CLIENT_DEFAULTS, WsgwError };
export type { ClientEvents, ClientOptions, ClientState, MessageEvent, PublishOptions } from './options.js';
export type { WebSocketCtor, WebSocketLike } from './socket.js';

/** A publish waiting for the connection. */
interface Outgoing {
  readonly op: Extract<ClientOp, { op: 'pub' }>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

type Listener<K extends keyof ClientEvents> = (ev: ClientEvents[K]) => void;

export class WsgwClient {
  private readonly opts: Required<Omit<ClientOptions, 'token' | 'WebSocket'>> &
    Pick<ClientOptions, 'token' | 'WebSocket'>;
  private ws: WebSocketLike | undefined;
  private stateValue: ClientState = 'idle';
  private readonly channels = new Map<string, ChannelState>();
  private readonly requests = new Requests();
  private readonly outbox: Outgoing[] = [];
  private readonly listeners = new Map<keyof ClientEvents, Set<(ev: never) => void>>();
  private attempt = 0;
  private minAttempt = 0;
  /** When the current connection opened (performance.now()); undefined while not open. */
  private openedAt: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private awaitingPong = false;
  private token: string | undefined;
  private refreshToken = true;
  /** Whether the last connection attempt was refused or lost before it opened. */
  private neverOpened = false;
  private stopped = false;

  constructor(options: ClientOptions) {
    this.opts = { ...CLIENT_DEFAULTS, random: Math.random, ...options };
    if (!/^wss?:\/\//.test(options.url))
      throw new TypeError(`url must start with ws:// or wss:// (got ${options.url})`);
  }

  get state(): ClientState {
    return this.stateValue;
  }

  on<K extends keyof ClientEvents>(event: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    const s = set as Set<Listener<K>>;
    s.add(fn);
    return () => s.delete(fn);
  }

  private emit<K extends keyof ClientEvents>(event: K, ev: ClientEvents[K]): void {
    for (const fn of [...((this.listeners.get(event) as Set<Listener<K>> | undefined) ?? [])]) {
      try {
        fn(ev);
      } catch (err) {
        if (event !== 'error')
          this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
  }

  private setState(state: ClientState): void {
    if (state === this.stateValue) return;
    const previous = this.stateValue;
    this.stateValue = state;
    this.emit('state', { state, previous });
  }

  /** Opens the connection (and keeps it open until {@link close}). Resolves on the first open. */
  connect(): Promise<void> {
    this.stopped = false;
    if (this.stateValue === 'idle' || this.stateValue === 'closed') this.startOpen();
    return new Promise((resolve, reject) => {
      if (this.stateValue === 'open') return resolve();
      const offState = this.on('state', ({ state }) => {
        if (state === 'open') {
          offState();
          resolve();
        } else if (state === 'closed') {
          offState();
          reject(new WsgwError('closed', 'client stopped before connecting'));
        }
      });
    });
  }

  /** Subscribes; resolves on the server's ack. Kept across reconnects until unsubscribed. */
  async subscribe(ch: string): Promise<void> {
    let c = this.channels.get(ch);
    if (c === undefined) {
      c = new ChannelState(this.opts.dedupWindow);
      this.channels.set(ch, c);
    }
    if (this.stateValue === 'open') return this.sendSub(ch);
    const waiters = c.waiters;
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }

  async unsubscribe(ch: string): Promise<void> {
    const c = this.channels.get(ch);
    if (c === undefined) return;
    this.channels.delete(ch);
    c.rejectWaiters(new WsgwError('unsubscribed', `unsubscribed from ${ch} before the ack`));
    if (this.stateValue === 'open') await this.request({ op: 'unsub', ch });
  }

  /**
   * Publishes JSON data (or bytes, over the `proto` protocol). Resolves when the gateway's bus
   * holds it durably. While disconnected the publish waits in the offline queue, and a publish the
   * link dropped before its ack is sent again after the reconnect: every publish carries a message
   * id that the bus delivers once, so none of this can duplicate it. Rejects with a
   * {@link WsgwError} carrying `messageId`; for `bus_uncertain` (no answer in time: it may still be
   * delivered), publishing again with that id is the safe retry.
   */
  publish(ch: string, data: unknown, options: PublishOptions = {}): Promise<void> {
    const binary = data instanceof Uint8Array;
    if (binary && this.opts.protocol !== 'proto')
      return Promise.reject(new TypeError('binary payloads need protocol "proto"'));
    const mid = options.messageId ?? randomMessageId();
    if (!MESSAGE_ID.test(mid))
      return Promise.reject(new TypeError('messageId must be 8-64 characters of A-Z a-z 0-9 _ -'));
    const payload = binary ? data : textEncoder.encode(JSON.stringify(data));
    const op = {
      op: 'pub',
      ch,
      contentType: binary ? 'application/octet-stream' : 'application/json',
      payload,
      mid,
    } as const;
    return new Promise((resolve, reject) => {
      const out: Outgoing = { op, resolve, reject };
      if (this.stateValue === 'open' && this.ws?.readyState === OPEN) return this.sendPublish(out);
      if (this.outbox.length >= this.opts.offlineQueueLimit) {
        return reject(
          new WsgwError(
            'offline_queue_full',
            `${this.opts.offlineQueueLimit} publishes already wait for the connection`,
            mid,
          ),
        );
      }
      this.outbox.push(out);
    });
  }

  /** Sends a publish; if the link drops before its ack it goes back to the head of the queue. */
  private sendPublish(out: Outgoing): void {
    const mid = out.op.mid!;
    this.request(out.op, this.opts.publishTimeoutMs, () => this.outbox.unshift(out)).then(
      () => out.resolve(),
      (err: unknown) => {
        const e = err instanceof WsgwError ? err : new WsgwError('internal', String(err));
        // No reply in time: the gateway may still have handed it to the bus.
        const code = e.code === 'timeout' ? 'bus_uncertain' : e.code;
        out.reject(new WsgwError(code, e.message, mid));
      },
    );
  }

  /** Closes for good: no reconnect; pending requests and queued publishes are rejected. */
  close(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopPing();
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onclose = null;
      ws.close(CLOSE_CODES.normal, 'client closed');
    }
    this.failAll(new WsgwError('closed', 'client closed'));
    this.setState('closed');
  }

  /** The recovery position of a channel (for persisting across page loads). */
  position(ch: string): Position | undefined {
    return this.channels.get(ch)?.position();
  }

  // ------------------------------------------------------------------ connection

  /** open() reports its own failures; this keeps an unexpected one from going unhandled. */
  private startOpen(): void {
    this.open().catch((err: unknown) =>
      this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) }),
    );
  }

  private async open(): Promise<void> {
    this.setState(this.attempt === 0 && this.stateValue !== 'reconnecting' ? 'connecting' : 'reconnecting');
    let url = this.opts.url;
    try {
      if (typeof this.opts.token === 'function') {
        if (
          this.refreshToken ||
          this.neverOpened ||
          this.token === undefined ||
          expiresWithin(this.token, 30_000)
        )
          this.token = await this.opts.token();
      } else if (typeof this.opts.token === 'string') this.token = this.opts.token;
      this.refreshToken = false;
      this.neverOpened = true;
      if (this.token) url += (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(this.token);
      const Ctor = this.opts.WebSocket ?? (await defaultWebSocket());
      if (this.stopped) return;
      const ws = new Ctor(url, this.opts.protocol === 'proto' ? SUBPROTOCOLS.proto : SUBPROTOCOLS.json);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      ws.onopen = () => this.onOpen();
      ws.onmessage = (ev) => this.onFrame(ev.data);
      ws.onclose = (ev) => this.onClose(ev.code, ev.reason);
      ws.onerror = () => {};
    } catch (err) {
      this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
      this.scheduleReconnect(1006, 'connect failed');
    }
  }

  private onOpen(): void {
    this.neverOpened = false;
    this.openedAt = performance.now();
    this.setState('open');
    this.startPing();
    // Renew every subscription with its position, then flush the offline queue.
    for (const [ch, c] of this.channels) {
      const waiters = c.waiters.splice(0);
      this.sendSub(ch).then(
        () => waiters.forEach((w) => w.resolve()),
        (err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          // A refused renewal is reported once: the channel is dropped (sendSub), not retried.
          if (waiters.length === 0) this.emit('error', { error: e });
          waiters.forEach((w) => w.reject(e));
        },
      );
    }
    for (const out of this.outbox.splice(0)) this.sendPublish(out);
  }

  private onClose(code: number, reason: string): void {
    this.ws = undefined;
    this.stopPing();
    for (const c of this.channels.values()) c.live = false;
    this.requests.failAll(
      new WsgwError('disconnected', `connection closed (${code}) before the reply`),
      false,
    );
    if (this.stopped) return this.setState('closed');
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code: number, reason: string): void {
    // The backoff starts over only after a connection that lasted.
    if (this.openedAt !== undefined && performance.now() - this.openedAt >= this.opts.stableAfterMs) {
      this.attempt = 0;
      this.minAttempt = 0;
    }
    this.openedAt = undefined;
    const action = closeAction(code);
    if (action.kind === 'stop') {
      this.emit('disconnected', { code, reason });
      this.stopped = true;
      this.failAll(new WsgwError('closed', `server closed the connection for good (${code} ${reason})`));
      return this.setState('closed');
    }
    if (action.kind === 'refresh-token') this.refreshToken = true;
    else this.minAttempt = Math.max(this.minAttempt, action.minAttempt);
    const delayMs = fullJitter(Math.max(this.attempt, this.minAttempt), this.opts.backoff, this.opts.random);
    this.attempt++;
    // State first: a listener that publishes on either event must find the offline queue.
    this.setState('reconnecting');
    this.emit('disconnected', { code, reason, delayMs });
    this.reconnectTimer = setTimeout(() => this.startOpen(), delayMs);
  }

  private startPing(): void {
    if (this.opts.pingIntervalMs <= 0) return;
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        // No pong for a whole interval: the link is dead even if the socket does not know yet.
        const ws = this.ws;
        if (ws) {
          ws.onclose = null;
          // A client may close only with 1000 or 3000-4999: the standard WebSocket throws
          // InvalidAccessError on anything else (1001 included), which left the client "open".
          try {
            ws.close(CLOSE_CODES.normal, 'ping timeout');
          } catch {
            // Closing a dead link cannot fail in a way that matters: it is abandoned either way.
          }
          this.onClose(1006, 'ping timeout');
        }
        return;
      }
      this.awaitingPong = true;
      this.request({ op: 'ping' }).catch(() => {});
    }, this.opts.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  // ------------------------------------------------------------------ frames

  private sendSub(ch: string): Promise<void> {
    const c = this.channels.get(ch);
    const since = c?.position();
    const recovering = since !== undefined;
    if (c) c.missed = 0;
    return this.request({ op: 'sub', ch, since })
      .catch((err: unknown) => {
        // A refusal that a retry cannot change (a token without the permission, a bad name) ends
        // the subscription: it is not sent again on every reconnect.
        if (err instanceof WsgwError && FINAL_SUB_ERRORS.has(err.code) && this.channels.get(ch) === c) {
          this.channels.delete(ch);
          throw new WsgwError(err.code, err.message, undefined, ch);
        }
        throw err;
      })
      .then((ack) => {
        const cur = this.channels.get(ch);
        if (cur === undefined || ack.op !== 'ack') return;
        cur.acked(ack.pos);
        if (recovering) {
          this.emit('resubscribed', { ch, recovered: ack.recovered === true, missed: cur.missed });
          if (ack.recovered !== true) this.emit('gap', { ch });
        }
      });
  }

  /** Sends a request; `requeue` (publishes) runs instead of a rejection if the link drops first. */
  private request(
    op: ClientOp,
    timeoutMs = this.opts.requestTimeoutMs,
    requeue?: () => void,
  ): Promise<ServerOp> {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== OPEN)
      return Promise.reject(new WsgwError('disconnected', 'not connected'));
    return this.requests.start(
      op.op,
      timeoutMs,
      (id) => {
        const full = { ...op, id } as ClientOp;
        ws.send(this.opts.protocol === 'proto' ? encodeClientProto(full) : encodeClientJson(full));
      },
      requeue,
    );
  }

  private onFrame(data: unknown): void {
    let op: ServerOp;
    try {
      op =
        typeof data === 'string'
          ? decodeServerJson(data)
          : decodeServerProto(new Uint8Array(data as ArrayBuffer));
    } catch (err) {
      this.emit('error', { error: err as Error });
      return;
    }
    switch (op.op) {
      case 'msg':
        return this.onMsg(op);
      case 'pong':
        this.awaitingPong = false;
        // Everything the pong's sync point covers was written before it: every live channel holds it.
        if (op.sync !== undefined) for (const c of this.channels.values()) c.heldUpTo(op.sync);
        return this.requests.settle(op.id, op);
      case 'ack':
        return this.requests.settle(op.id, op);
      case 'error':
        if (op.id === undefined) return this.emit('error', { error: serverError(op.code, op.message) });
        return this.requests.settle(op.id, op);
    }
  }

  private onMsg(op: Extract<ServerOp, { op: 'msg' }>): void {
    const c = this.channels.get(op.ch);
    if (c === undefined) return; // unsubscribed meanwhile
    if (!c.accept(op.pos)) return; // recovered twice (skew window) or redelivered
    if (!c.live) c.missed++;
    const data =
      op.contentType === 'application/json' ? JSON.parse(textDecoder.decode(op.payload)) : op.payload;
    this.emit('message', { ch: op.ch, data, contentType: op.contentType, pos: op.pos });
  }

  private failAll(err: Error): void {
    this.requests.failAll(err, true);
    for (const c of this.channels.values()) c.rejectWaiters(err);
    for (const out of this.outbox.splice(0))
      out.reject(new WsgwError((err as WsgwError).code ?? 'closed', err.message, out.op.mid));
  }
}
