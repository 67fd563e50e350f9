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
 *   the gateway sends exactly what was missed;
 *   duplicates from the skew window are dropped here by message id. When the gateway's history no
 *   longer covers the gap, a `gap` event tells the application to reload its state.
 * - App-level pings detect links that died silently behind proxies (browsers cannot see WebSocket
 *   ping frames).
 * - Publishes made while disconnected wait in a bounded queue and are sent on reconnect.
 */
import {
  decodeServerJson,
  decodeServerProto,
  encodeClientJson,
  encodeClientProto,
  type ClientOp,
  type Position,
  type ServerOp,
} from '../../shared/src/frames.js';
import { CLOSE_CODES, SUBPROTOCOLS } from '../../shared/src/constants.js';
import { idsOf, mergeSync, syncOf, withSync, type Sync } from '../../shared/src/sync.js';
import { closeAction, fullJitter, type BackoffOptions } from './backoff.js';

/** The part of the WebSocket API the client uses (browsers' WebSocket and `ws` both fit). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface ClientOptions {
  /** `wss://host/`; the token is added as `?token=`. */
  readonly url: string;
  /** A token, or a function that returns a fresh one (called on connect and after 4001). */
  readonly token?: string | (() => string | Promise<string>);
  /** Wire shape: `json` (default) or `proto`. */
  readonly protocol?: 'json' | 'proto';
  /** WebSocket implementation; defaults to the platform's, or `ws` in Node. */
  readonly WebSocket?: WebSocketCtor;
  /** Reconnect backoff; default 500 ms doubling to 30 s, full jitter. */
  readonly backoff?: BackoffOptions;
  /** App-level ping interval (ms); a missing pong within the same time reconnects. Default 20 000; 0 disables. */
  readonly pingIntervalMs?: number;
  /** Most publishes held while disconnected. Default 1 000. */
  readonly offlineQueueLimit?: number;
  /**
   * A connection must stay open this long (ms) before the reconnect backoff starts over. A server
   * that accepts and then closes at once (a message the client cannot take, an overloaded task)
   * must not be hammered at the first backoff step forever. Default 10 000.
   */
  readonly stableAfterMs?: number;
  /** How long a request waits for its reply (ms). Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Message ids remembered per channel to drop duplicates after a recovery. Default 1 000. */
  readonly dedupWindow?: number;
  /** Source of randomness for jitter (tests). */
  readonly random?: () => number;
}

/** The defaults of {@link ClientOptions}; the cost model reads the keepalive interval from here. */
export const CLIENT_DEFAULTS = Object.freeze({
  protocol: 'json' as const,
  backoff: Object.freeze({ baseMs: 500, maxMs: 30_000 }),
  pingIntervalMs: 20_000,
  offlineQueueLimit: 1_000,
  requestTimeoutMs: 10_000,
  stableAfterMs: 10_000,
  dedupWindow: 1_000,
});

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface MessageEvent {
  readonly ch: string;
  /** The JSON value, or the bytes of a binary payload. */
  readonly data: unknown;
  readonly contentType: 'application/json' | 'application/octet-stream';
  readonly pos: Position;
}

export interface ClientEvents {
  state: { state: ClientState; previous: ClientState };
  message: MessageEvent;
  /** A subscription was renewed after a reconnect; `recovered` is true when nothing was lost. */
  resubscribed: { ch: string; recovered: boolean; missed: number };
  /** The gateway could not recover a channel: messages may have been lost; reload state. */
  gap: { ch: string };
  /** The connection closed; `delayMs` is when the next attempt happens (absent when stopping). */
  disconnected: { code: number; reason: string; delayMs?: number };
  error: { error: Error };
}

/** An `error` reply, or a client-side failure with a stable code. */
export class WsgwError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'WsgwError';
  }
}

interface Pending {
  resolve(op: ServerOp): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Channel {
  /** origin -> id of the last message seen from there. */
  pos: Record<string, string>;
  /**
   * How far this channel's stream is held, per origin (services/shared/src/sync.ts): the highest
   * sync point of the acks and pongs received while the channel was live. Undefined before the
   * first ack.
   */
  sync: Sync | undefined;
  /** Recently seen ids, oldest first, for dropping duplicates. */
  recent: string[];
  recentSet: Set<string>;
  /** True once the server acknowledged the subscription on the current connection. */
  live: boolean;
  /** Messages received during a recovery, counted for the `resubscribed` event. */
  missed: number;
  /** `subscribe()` calls made while disconnected, settled by the next ack. */
  waiters: Array<{ resolve(): void; reject(err: Error): void }>;
}

const OPEN = 1;
const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

type Listener<K extends keyof ClientEvents> = (ev: ClientEvents[K]) => void;

export class WsgwClient {
  private readonly opts: Required<Omit<ClientOptions, 'token' | 'WebSocket'>> & Pick<ClientOptions, 'token' | 'WebSocket'>;
  private ws: WebSocketLike | undefined;
  private stateValue: ClientState = 'idle';
  private readonly channels = new Map<string, Channel>();
  private readonly pending = new Map<number, Pending>();
  private readonly outbox: Array<{ op: ClientOp; settle: Pending }> = [];
  private readonly listeners = new Map<keyof ClientEvents, Set<(ev: never) => void>>();
  private nextId = 1;
  private attempt = 0;
  private minAttempt = 0;
  /** When the current connection opened (performance.now()); undefined while not open. */
  private openedAt: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private awaitingPong = false;
  private token: string | undefined;
  private refreshToken = true;
  private stopped = false;

  constructor(options: ClientOptions) {
    this.opts = { ...CLIENT_DEFAULTS, random: Math.random, ...options };
    if (!/^wss?:\/\//.test(options.url)) throw new TypeError(`url must start with ws:// or wss:// (got ${options.url})`);
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
        if (event !== 'error') this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) });
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
      c = { pos: {}, sync: undefined, recent: [], recentSet: new Set(), live: false, missed: 0, waiters: [] };
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
    for (const w of c.waiters.splice(0)) w.reject(new WsgwError('unsubscribed', `unsubscribed from ${ch} before the ack`));
    if (this.stateValue === 'open') await this.request({ op: 'unsub', ch });
  }

  /**
   * Publishes JSON data (or bytes, over the `proto` protocol). Resolves when the gateway's bus
   * holds it durably. While disconnected the publish waits in the offline queue.
   */
  publish(ch: string, data: unknown): Promise<void> {
    const binary = data instanceof Uint8Array;
    if (binary && this.opts.protocol !== 'proto') return Promise.reject(new TypeError('binary payloads need protocol "proto"'));
    const payload = binary ? data : textEncoder.encode(JSON.stringify(data));
    const op: ClientOp = { op: 'pub', ch, contentType: binary ? 'application/octet-stream' : 'application/json', payload };
    if (this.stateValue === 'open' && this.ws?.readyState === OPEN) return this.request(op).then(() => undefined);
    if (this.outbox.length >= this.opts.offlineQueueLimit) {
      return Promise.reject(new WsgwError('offline_queue_full', `${this.opts.offlineQueueLimit} publishes already wait for the connection`));
    }
    return new Promise((resolve, reject) => {
      this.outbox.push({ op, settle: { resolve: () => resolve(), reject, timer: undefined as unknown as ReturnType<typeof setTimeout> } });
    });
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
    const c = this.channels.get(ch);
    return c?.sync !== undefined ? withSync(c.pos, c.sync) : undefined;
  }

  // ------------------------------------------------------------------ connection

  /** open() reports its own failures; this keeps an unexpected one from going unhandled. */
  private startOpen(): void {
    this.open().catch((err: unknown) => this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) }));
  }

  private async open(): Promise<void> {
    this.setState(this.attempt === 0 && this.stateValue !== 'reconnecting' ? 'connecting' : 'reconnecting');
    let url = this.opts.url;
    try {
      if (typeof this.opts.token === 'function' && (this.refreshToken || this.token === undefined)) this.token = await this.opts.token();
      else if (typeof this.opts.token === 'string') this.token = this.opts.token;
      this.refreshToken = false;
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
          if (waiters.length === 0) this.emit('error', { error: e });
          waiters.forEach((w) => w.reject(e));
        },
      );
    }
    const queued = this.outbox.splice(0);
    for (const { op, settle } of queued) this.request(op).then(() => settle.resolve(undefined as never), settle.reject);
  }

  private onClose(code: number, reason: string): void {
    this.ws = undefined;
    this.stopPing();
    for (const c of this.channels.values()) c.live = false;
    this.failPending(new WsgwError('disconnected', `connection closed (${code}) before the reply`));
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
          ws.close(CLOSE_CODES.goingAway, 'ping timeout');
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
    const since = c?.sync !== undefined ? withSync(c.pos, c.sync) : undefined;
    const recovering = since !== undefined;
    if (c) c.missed = 0;
    return this.request({ op: 'sub', ch, since }).then((ack) => {
      const cur = this.channels.get(ch);
      if (cur === undefined || ack.op !== 'ack') return;
      cur.live = true;
      if (ack.pos) {
        // Start from the server's position for origins we have not heard from.
        for (const [k, v] of Object.entries(idsOf(ack.pos))) if (cur.pos[k] === undefined) cur.pos[k] = v;
        cur.sync = mergeSync(cur.sync, syncOf(ack.pos));
      }
      if (recovering) {
        this.emit('resubscribed', { ch, recovered: ack.recovered === true, missed: cur.missed });
        if (ack.recovered !== true) this.emit('gap', { ch });
      }
    });
  }

  private request(op: ClientOp): Promise<ServerOp> {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== OPEN) return Promise.reject(new WsgwError('disconnected', 'not connected'));
    const id = this.nextId++;
    if (this.nextId > 0xffff_fff0) this.nextId = 1;
    return new Promise<ServerOp>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new WsgwError('timeout', `no reply to ${op.op} within ${this.opts.requestTimeoutMs} ms`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const full = { ...op, id } as ClientOp;
      ws.send(this.opts.protocol === 'proto' ? encodeClientProto(full) : encodeClientJson(full));
    });
  }

  private onFrame(data: unknown): void {
    let op: ServerOp;
    try {
      op = typeof data === 'string' ? decodeServerJson(data) : decodeServerProto(new Uint8Array(data as ArrayBuffer));
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
        if (op.sync !== undefined) for (const c of this.channels.values()) if (c.live) c.sync = mergeSync(c.sync, op.sync);
        return this.settle(op.id, op);
      case 'ack':
        return this.settle(op.id, op);
      case 'error':
        if (op.id === undefined) return this.emit('error', { error: new WsgwError(op.code, op.message) });
        return this.settle(op.id, op);
    }
  }

  private settle(id: number | undefined, op: ServerOp): void {
    if (id === undefined) return;
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (op.op === 'error') p.reject(new WsgwError(op.code, op.message));
    else p.resolve(op);
  }

  private onMsg(op: Extract<ServerOp, { op: 'msg' }>): void {
    const c = this.channels.get(op.ch);
    if (c === undefined) return; // unsubscribed meanwhile
    const entries = Object.entries(op.pos);
    const id = entries.length > 0 ? entries[0]![1] : undefined;
    if (id !== undefined) {
      if (c.recentSet.has(id)) return; // recovered twice (skew window) or redelivered
      c.recent.push(id);
      c.recentSet.add(id);
      if (c.recent.length > this.opts.dedupWindow) c.recentSet.delete(c.recent.shift()!);
      for (const [origin, mid] of entries) c.pos[origin] = mid;
    }
    if (!c.live) c.missed++;
    const data = op.contentType === 'application/json' ? JSON.parse(textDecoder.decode(op.payload)) : op.payload;
    this.emit('message', { ch: op.ch, data, contentType: op.contentType, pos: op.pos });
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  private failAll(err: Error): void {
    this.failPending(err);
    for (const c of this.channels.values()) for (const w of c.waiters.splice(0)) w.reject(err);
    for (const { settle } of this.outbox.splice(0)) settle.reject(err);
  }
}

async function defaultWebSocket(): Promise<WebSocketCtor> {
  const g = globalThis as { WebSocket?: WebSocketCtor };
  if (g.WebSocket) return g.WebSocket;
  const mod = (await import('ws')) as unknown as { default: WebSocketCtor };
  return mod.default;
}
