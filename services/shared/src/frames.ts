/**
 * Protocol v1 frames in both wire shapes (JSON text, `wsgw.v1.json`; protobuf binary,
 * `wsgw.v1.proto`), for both sides: the gateway decodes client frames and encodes server frames,
 * the client SDK does the reverse. docs/protocol.md is the prose version of this file.
 */
import { protoTypes, type ContentType } from './envelope.js';
import type { Sync } from './sync.js';
import type { FrameErrorCode } from './errors.js';

/** Position vector: origin region -> id of the last message seen from there. */
export type Position = Readonly<Record<string, string>>;

export type ClientOp =
  | { readonly op: 'sub'; readonly id?: number; readonly ch: string; readonly since?: Position }
  | { readonly op: 'unsub'; readonly id?: number; readonly ch: string }
  | {
      readonly op: 'pub';
      readonly id?: number;
      readonly ch: string;
      readonly contentType: ContentType;
      readonly payload: Uint8Array;
      readonly mid?: string;
    }
  | { readonly op: 'ping'; readonly id?: number };

export type ServerOp =
  | { readonly op: 'ack'; readonly id: number; readonly recovered?: boolean; readonly pos?: Position }
  | { readonly op: 'error'; readonly id?: number; readonly code: string; readonly message: string }
  | {
      readonly op: 'msg';
      readonly ch: string;
      readonly contentType: ContentType;
      readonly payload: Uint8Array;
      readonly pos: Position;
    }
  /** `sync`: the gateway's sync point (services/shared/src/sync.ts); absent before it has one. */
  | { readonly op: 'pong'; readonly id?: number; readonly sync?: Sync };

/** A client-chosen message id (`pub.mid`): 8 to 64 of A-Z a-z 0-9 _ -. */
export const MESSAGE_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** A frame that cannot be acted on. `id` is set when the frame was readable enough to carry one. */
export class FrameError extends Error {
  constructor(
    readonly code: Extract<FrameErrorCode, 'bad_frame' | 'bad_request'>,
    message: string,
    readonly id?: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

const MAX_ID = 0xffff_ffff;
const isId = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID;
const textDecoder = new TextDecoder('utf-8', { fatal: true });
/** Keeps a byte-order mark as a character, as every JSON consumer downstream sees it. */
const exactDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const textEncoder = new TextEncoder();

/**
 * Whether `bytes` can travel as an `application/json` payload: valid UTF-8 holding one JSON value,
 * exactly as JSON subscribers will splice it into their frames (a byte-order mark is not JSON).
 * The one check at publish and at delivery, so that nothing is acknowledged that a JSON subscriber
 * could not receive.
 */
export function isJsonPayload(bytes: Uint8Array): boolean {
  try {
    JSON.parse(exactDecoder.decode(bytes));
    return true;
  } catch {
    return false;
  }
}

function messageId(v: unknown, id: number | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !MESSAGE_ID.test(v))
    throw new FrameError('bad_request', '"mid" must be 8-64 characters of A-Z a-z 0-9 _ -', id);
  return v;
}

function position(v: unknown, id: number | undefined): Position | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new FrameError('bad_request', '"since" must be an object of region -> message id', id);
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' || k.length > 64 || x.length > 128)
      throw new FrameError('bad_request', '"since" must map region names to message ids', id);
  }
  return v as Position;
}

// ---------------------------------------------------------------- JSON (text frames)

/** Decodes one client text frame. Throws {@link FrameError}. */
export function decodeClientJson(text: string): ClientOp {
  let f: unknown;
  try {
    f = JSON.parse(text);
  } catch {
    throw new FrameError('bad_frame', 'frame is not valid JSON');
  }
  if (typeof f !== 'object' || f === null || Array.isArray(f))
    throw new FrameError('bad_frame', 'frame must be a JSON object');
  const o = f as Record<string, unknown>;
  let id: number | undefined;
  if (o.id !== undefined) {
    if (!isId(o.id)) throw new FrameError('bad_request', '"id" must be an integer from 0 to 4294967295');
    id = o.id;
  }
  const needCh = (): string => {
    if (typeof o.ch !== 'string') throw new FrameError('bad_request', '"ch" must be a string', id);
    return o.ch;
  };
  switch (o.op) {
    case 'sub':
      return { op: 'sub', id, ch: needCh(), since: position(o.since, id) };
    case 'unsub':
      return { op: 'unsub', id, ch: needCh() };
    case 'pub': {
      const ch = needCh();
      if (!('data' in o) || o.data === undefined)
        throw new FrameError('bad_request', '"data" is required', id);
      const mid = messageId(o.mid, id);
      return {
        op: 'pub',
        id,
        ch,
        contentType: 'application/json',
        payload: textEncoder.encode(JSON.stringify(o.data)),
        ...(mid === undefined ? {} : { mid }),
      };
    }
    case 'ping':
      return { op: 'ping', id };
    default:
      throw new FrameError('bad_request', `unknown op ${JSON.stringify(o.op)}`, id);
  }
}

export const encodeAckJson = (id: number): string => `{"op":"ack","id":${id}}`;
/** The ack of a `sub`: carries the channel's position, and the outcome of a recovery if one was asked. */
export const encodeSubAckJson = (id: number, pos: Position, recovered?: boolean): string =>
  `{"op":"ack","id":${id}${recovered === undefined ? '' : `,"recovered":${recovered}`},"pos":${JSON.stringify(pos)}}`;
/** A pong carrying the sync point (`ts`, and `w` only for origins that lag behind it). */
export function encodePongJson(id: number | undefined, sync: Sync | undefined): string {
  let s = id === undefined ? '{"op":"pong"' : `{"op":"pong","id":${id}`;
  if (sync !== undefined) {
    s += `,"ts":${sync.common}`;
    const lagging = Object.entries(sync.lagging);
    if (lagging.length > 0) s += `,"w":{${lagging.map(([o, w]) => `${JSON.stringify(o)}:${w}`).join(',')}}`;
  }
  return `${s}}`;
}
export const encodeErrorJson = (id: number | undefined, code: string, message: string): string =>
  id === undefined
    ? `{"op":"error","code":${JSON.stringify(code)},"message":${JSON.stringify(message)}}`
    : `{"op":"error","id":${id},"code":${JSON.stringify(code)},"message":${JSON.stringify(message)}}`;

/**
 * Encodes a `msg` frame without parsing the payload: JSON payloads are spliced in as they are
 * (they were produced by JSON.stringify at the origin, or validated on decode), binary payloads
 * travel as base64 with `"enc":"base64"`.
 */
export function encodeMsgJson(
  ch: string,
  contentType: ContentType,
  payload: Uint8Array,
  pos: Position,
): string {
  const data =
    contentType === 'application/json'
      ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')
      : `"${Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64')}","enc":"base64"`;
  return `{"op":"msg","ch":${JSON.stringify(ch)},"data":${data},"pos":${JSON.stringify(pos)}}`;
}

/** Client side: encodes a client op as a JSON text frame. */
export function encodeClientJson(op: ClientOp): string {
  switch (op.op) {
    case 'pub':
      if (op.contentType !== 'application/json')
        throw new TypeError('the JSON subprotocol carries JSON payloads only');
      return `{"op":"pub","ch":${JSON.stringify(op.ch)},"data":${textDecoder.decode(op.payload)}${op.mid === undefined ? '' : `,"mid":${JSON.stringify(op.mid)}`}${op.id === undefined ? '' : `,"id":${op.id}`}}`;
    default:
      return JSON.stringify(op);
  }
}

/** The `w` of a pong: origin -> stamp, numbers only. */
function lagging(w: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof w !== 'object' || w === null) return out;
  for (const [k, v] of Object.entries(w)) {
    const n = toNumber(v);
    if (Number.isFinite(n)) out[k] = n;
  }
  return out;
}

/** Base64 to bytes with what browsers and Node both have (the client SDK runs in both). */
function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Client side: decodes a server text frame. Throws {@link FrameError}. */
export function decodeServerJson(text: string): ServerOp {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new FrameError('bad_frame', 'server frame is not valid JSON');
  }
  switch (o.op) {
    case 'msg': {
      const binary = o.enc === 'base64';
      return {
        op: 'msg',
        ch: String(o.ch),
        contentType: binary ? 'application/octet-stream' : 'application/json',
        payload: binary ? fromBase64(String(o.data)) : textEncoder.encode(JSON.stringify(o.data)),
        pos: (o.pos ?? {}) as Position,
      };
    }
    case 'ack':
      return {
        op: 'ack',
        id: Number(o.id),
        ...(typeof o.recovered === 'boolean' ? { recovered: o.recovered } : {}),
        ...(o.pos !== undefined ? { pos: o.pos as Position } : {}),
      };
    case 'pong':
      return {
        op: 'pong',
        id: o.id === undefined ? undefined : Number(o.id),
        ...(typeof o.ts === 'number' ? { sync: { common: o.ts, lagging: lagging(o.w) } } : {}),
      };
    case 'error':
      return {
        op: 'error',
        id: o.id === undefined ? undefined : Number(o.id),
        code: String(o.code),
        message: String(o.message),
      };
    default:
      throw new FrameError('bad_frame', `unknown server op ${JSON.stringify(o.op)}`);
  }
}

// ---------------------------------------------------------------- protobuf (binary frames)

const { ClientFrame, ServerFrame } = protoTypes;
const CONTENT_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/octet-stream']);

/** Decodes one client binary frame. Throws {@link FrameError}. */
export function decodeClientProto(bytes: Uint8Array): ClientOp {
  let f: Record<string, any>;
  try {
    f = ClientFrame.decode(bytes) as unknown as Record<string, any>;
  } catch {
    throw new FrameError('bad_frame', 'frame is not a valid wsgw.v1.ClientFrame');
  }
  const id = f.id ? (f.id as number) : undefined;
  if (f.sub) {
    const since = f.sub.since && Object.keys(f.sub.since).length > 0 ? position(f.sub.since, id) : undefined;
    return { op: 'sub', id, ch: f.sub.ch ?? '', since };
  }
  if (f.unsub) return { op: 'unsub', id, ch: f.unsub.ch ?? '' };
  if (f.pub) {
    const contentType = f.pub.contentType || 'application/octet-stream';
    if (!CONTENT_TYPES.has(contentType))
      throw new FrameError('bad_request', `content type ${JSON.stringify(contentType)} is not supported`, id);
    const payload: Uint8Array = f.pub.data ?? new Uint8Array(0);
    // JSON payloads are spliced verbatim into JSON frames for other clients, so they must be valid JSON.
    if (contentType === 'application/json' && !isJsonPayload(payload)) {
      throw new FrameError(
        'bad_request',
        'data is declared application/json but is not valid UTF-8 JSON (without a byte-order mark)',
        id,
      );
    }
    const mid = messageId(f.pub.mid, id);
    return { op: 'pub', id, ch: f.pub.ch ?? '', contentType, payload, ...(mid === undefined ? {} : { mid }) };
  }
  if (f.ping) return { op: 'ping', id };
  throw new FrameError('bad_request', 'frame carries no operation', id);
}

export const encodeAckProto = (id: number): Uint8Array => ServerFrame.encode({ ack: { id } }).finish();
export const encodeSubAckProto = (id: number, pos: Position, recovered?: boolean): Uint8Array =>
  ServerFrame.encode({ ack: recovered === undefined ? { id, pos } : { id, pos, recovered } }).finish();
export const encodePongProto = (id: number | undefined, sync: Sync | undefined): Uint8Array =>
  ServerFrame.encode({
    pong: { id: id ?? 0, ...(sync === undefined ? {} : { ts: sync.common, w: sync.lagging }) },
  }).finish();
export const encodeErrorProto = (id: number | undefined, code: string, message: string): Uint8Array =>
  ServerFrame.encode({ error: { id: id ?? 0, code, message } }).finish();
export const encodeMsgProto = (
  ch: string,
  contentType: ContentType,
  payload: Uint8Array,
  pos: Position,
): Uint8Array => ServerFrame.encode({ msg: { ch, data: payload, pos, contentType } }).finish();

/** Client side: encodes a client op as a protobuf binary frame. */
export function encodeClientProto(op: ClientOp): Uint8Array {
  const id = op.id ?? 0;
  switch (op.op) {
    case 'sub':
      return ClientFrame.encode({ id, sub: { ch: op.ch, since: op.since ?? {} } }).finish();
    case 'unsub':
      return ClientFrame.encode({ id, unsub: { ch: op.ch } }).finish();
    case 'pub':
      return ClientFrame.encode({
        id,
        pub: {
          ch: op.ch,
          data: op.payload,
          contentType: op.contentType,
          ...(op.mid === undefined ? {} : { mid: op.mid }),
        },
      }).finish();
    case 'ping':
      return ClientFrame.encode({ id, ping: {} }).finish();
  }
}

/** uint64 fields decode to a Long when long.js is present, to a number otherwise. */
const toNumber = (v: unknown): number =>
  typeof v === 'object' && v !== null && 'toNumber' in v
    ? (v as { toNumber(): number }).toNumber()
    : Number(v);

/** Client side: decodes a server binary frame. Throws {@link FrameError}. */
export function decodeServerProto(bytes: Uint8Array): ServerOp {
  let f: Record<string, any>;
  try {
    f = ServerFrame.decode(bytes) as unknown as Record<string, any>;
  } catch {
    throw new FrameError('bad_frame', 'server frame is not a valid wsgw.v1.ServerFrame');
  }
  if (f.msg)
    return {
      op: 'msg',
      ch: f.msg.ch,
      contentType: f.msg.contentType || 'application/octet-stream',
      payload: f.msg.data ?? new Uint8Array(0),
      pos: f.msg.pos ?? {},
    };
  if (f.ack) {
    const pos = f.ack.pos && Object.keys(f.ack.pos).length > 0 ? (f.ack.pos as Position) : undefined;
    return {
      op: 'ack',
      id: f.ack.id ?? 0,
      ...(typeof f.ack.recovered === 'boolean' ? { recovered: f.ack.recovered } : {}),
      ...(pos ? { pos } : {}),
    };
  }
  if (f.pong)
    return {
      op: 'pong',
      id: f.pong.id || undefined,
      ...(f.pong.ts ? { sync: { common: toNumber(f.pong.ts), lagging: lagging(f.pong.w) } } : {}),
    };
  if (f.error)
    return { op: 'error', id: f.error.id || undefined, code: f.error.code, message: f.error.message };
  throw new FrameError('bad_frame', 'server frame carries no operation');
}
