/** A real `ws` client that records every frame and close, for protocol tests. */
import WebSocket from 'ws';
import {
  decodeServerJson,
  decodeServerProto,
  encodeClientProto,
  type ClientOp,
  type ServerOp,
} from '../../services/shared/src/frames.js';
import { waitFor } from './gateway.js';

/** A client op with an optional id (Omit distributed over the union). */
type OpInput = ClientOp extends infer T
  ? T extends ClientOp
    ? Omit<T, 'id'> & { id?: number }
    : never
  : never;

export interface Closed {
  code: number;
  reason: string;
}

export class TestClient {
  readonly frames: ServerOp[] = [];
  readonly raw: string[] = [];
  closed: Closed | undefined;
  readonly opened: Promise<void>;
  private nextId = 1;

  constructor(
    readonly ws: WebSocket,
    readonly proto: boolean,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.frames.push(decodeServerProto(data));
      else {
        this.raw.push(data.toString());
        this.frames.push(decodeServerJson(data.toString()));
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
    });
    ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })),
      );
      ws.once('error', reject);
    });
  }

  static async connect(
    url: string,
    opts: {
      proto?: boolean;
      headers?: Record<string, string>;
      protocols?: string[];
      autoPong?: boolean;
      /** Offer permessage-deflate (ws's default: yes). */
      perMessageDeflate?: boolean;
    } = {},
  ): Promise<TestClient> {
    const protocols = opts.protocols ?? (opts.proto ? ['wsgw.v1.proto'] : []);
    const c = new TestClient(
      new WebSocket(url, protocols, {
        headers: opts.headers,
        autoPong: opts.autoPong ?? true,
        perMessageDeflate: opts.perMessageDeflate ?? true,
      }),
      opts.proto ?? false,
    );
    await c.opened;
    return c;
  }

  /** Sends an op in this client's wire shape, assigning an id; returns the id. */
  send(op: OpInput): number {
    const id = op.id ?? this.nextId++;
    const full = { ...op, id } as ClientOp;
    if (this.proto) this.ws.send(encodeClientProto(full));
    else if (full.op === 'pub')
      this.ws.send(
        JSON.stringify({
          op: 'pub',
          ch: full.ch,
          id,
          data: JSON.parse(Buffer.from(full.payload).toString()),
          ...(full.mid === undefined ? {} : { mid: full.mid }),
        }),
      );
    else this.ws.send(JSON.stringify(full));
    return id;
  }

  /** Sends and waits for the ack or error carrying the same id. */
  async request(op: OpInput): Promise<ServerOp> {
    const id = this.send(op);
    let reply: ServerOp | undefined;
    await waitFor(
      () =>
        (reply = this.frames.find(
          (f) => (f.op === 'ack' || f.op === 'error' || f.op === 'pong') && f.id === id,
        )) !== undefined,
      5_000,
      `reply to ${op.op} #${id}`,
    );
    return reply!;
  }

  sub(ch: string) {
    return this.request({ op: 'sub', ch });
  }

  pub(ch: string, data: unknown) {
    return this.request({
      op: 'pub',
      ch,
      contentType: 'application/json',
      payload: Buffer.from(JSON.stringify(data)),
    });
  }

  messages(ch?: string): Array<Extract<ServerOp, { op: 'msg' }>> {
    return this.frames.filter(
      (f): f is Extract<ServerOp, { op: 'msg' }> => f.op === 'msg' && (ch === undefined || f.ch === ch),
    );
  }

  /** JSON values of the messages received, in order. */
  data(ch?: string): unknown[] {
    return this.messages(ch).map((m) => JSON.parse(Buffer.from(m.payload).toString()));
  }

  errors() {
    return this.frames.filter((f): f is Extract<ServerOp, { op: 'error' }> => f.op === 'error');
  }

  async waitClosed(timeoutMs = 5_000): Promise<Closed> {
    await waitFor(() => this.closed !== undefined, timeoutMs, 'close');
    return this.closed!;
  }

  close(): void {
    this.ws.terminate();
  }
}
