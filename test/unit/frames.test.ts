import { describe, expect, it } from 'vitest';
import {
  decodeClientJson,
  decodeClientProto,
  decodeServerJson,
  decodeServerProto,
  encodeClientJson,
  encodeClientProto,
  encodeMsgJson,
  encodeMsgProto,
  FrameError,
  type ClientOp,
} from '../../services/shared/src/frames.js';
import { decodeEnvelope, encodeEnvelope, EnvelopeError } from '../../services/shared/src/envelope.js';

const ops: ClientOp[] = [
  { op: 'sub', id: 1, ch: 'room:1', since: { 'eu-west-1': 'n1-5' } },
  { op: 'unsub', id: 2, ch: 'room:1' },
  {
    op: 'pub',
    id: 3,
    ch: 'room:1',
    contentType: 'application/json',
    payload: new TextEncoder().encode('{"a":[1,2]}'),
  },
  { op: 'ping', id: 4 },
];

describe('client frames', () => {
  it('round-trip through JSON and protobuf', () => {
    for (const op of ops) {
      expect(decodeClientJson(encodeClientJson(op))).toEqual(op);
      const p = decodeClientProto(encodeClientProto(op));
      expect({ ...p, ...('payload' in p ? { payload: new Uint8Array(p.payload) } : {}) }).toEqual(op);
    }
  });

  it('reject what is not a frame with stable codes', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as FrameError).code;
      }
      return 'none';
    };
    expect(code(() => decodeClientJson('nope'))).toBe('bad_frame');
    expect(code(() => decodeClientJson('"str"'))).toBe('bad_frame');
    expect(code(() => decodeClientJson('null'))).toBe('bad_frame');
    expect(code(() => decodeClientJson('{"op":"sub","ch":1}'))).toBe('bad_request');
    expect(code(() => decodeClientJson('{"op":"sub","ch":"a","since":[]}'))).toBe('bad_request');
    expect(code(() => decodeClientJson('{"op":"ping","id":1.5}'))).toBe('bad_request');
    expect(code(() => decodeClientProto(new Uint8Array([0xff, 0xff])))).toBe('bad_frame');
  });
});

describe('server frames', () => {
  it('encode msg once per shape and decode on the client side', () => {
    const payload = new TextEncoder().encode('{"x":1}');
    const j = decodeServerJson(encodeMsgJson('c', 'application/json', payload, { r: 'id1' }));
    expect(j).toEqual({ op: 'msg', ch: 'c', contentType: 'application/json', payload, pos: { r: 'id1' } });
    const p = decodeServerProto(
      encodeMsgProto('c', 'application/octet-stream', new Uint8Array([1, 2]), { r: 'id1' }),
    );
    expect(p).toMatchObject({
      op: 'msg',
      ch: 'c',
      contentType: 'application/octet-stream',
      pos: { r: 'id1' },
    });
    expect(JSON.parse(encodeMsgJson('c', 'application/json', payload, { r: 'id1' }))).toEqual({
      op: 'msg',
      ch: 'c',
      data: { x: 1 },
      pos: { r: 'id1' },
    });
  });
});

describe('envelope', () => {
  const e = {
    id: 'n-1',
    channel: 'room:1',
    origin: 'us-east-1',
    node: 'n',
    ts: 1_764_000_000_000,
    contentType: 'application/json' as const,
    payload: new Uint8Array([123, 125]),
  };
  it('round-trips', () => {
    const d = decodeEnvelope(encodeEnvelope(e));
    expect({ ...d, payload: new Uint8Array(d.payload) }).toEqual(e);
  });
  it('rejects garbage, unknown versions and missing fields with codes', () => {
    const code = (b: Uint8Array) => {
      try {
        decodeEnvelope(b);
        return 'none';
      } catch (err) {
        return (err as EnvelopeError).code;
      }
    };
    expect(code(new Uint8Array([0xff, 0xff, 0xff]))).toBe('malformed');
    const v2 = encodeEnvelope(e);
    v2[1] = 2; // field 1 (version) is the first byte pair: 0x08 0x01
    expect(code(v2)).toBe('unknown_version');
    expect(code(encodeEnvelope({ ...e, channel: '' }))).toBe('invalid');
  });
});
