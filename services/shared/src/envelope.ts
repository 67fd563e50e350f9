/**
 * Encoding of the Kafka record value (the protobuf `Envelope`). The record key is the channel,
 * written as UTF-8, so consumers can decide interest without decoding the value.
 */
import protobuf from 'protobufjs';
import { PROTO_SCHEMA } from './schema.js';

/** The only envelope version this build understands. */
export const ENVELOPE_VERSION = 1;

/** Payload encodings a message may carry. */
export type ContentType = 'application/json' | 'application/octet-stream';

export interface Envelope {
  readonly id: string;
  readonly channel: string;
  readonly origin: string;
  readonly node: string;
  readonly ts: number;
  readonly contentType: ContentType;
  readonly payload: Uint8Array;
}

const root = protobuf.parse(PROTO_SCHEMA, { keepCase: false }).root;
/** @internal the reflected protobuf types, shared with the frame codec. */
export const protoTypes = Object.freeze({
  Envelope: root.lookupType('wsgw.v1.Envelope'),
  ClientFrame: root.lookupType('wsgw.v1.ClientFrame'),
  ServerFrame: root.lookupType('wsgw.v1.ServerFrame'),
});

/** Why an envelope could not be decoded. */
export type EnvelopeErrorCode = 'malformed' | 'unknown_version' | 'invalid';

export class EnvelopeError extends Error {
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  return protoTypes.Envelope.encode({
    version: ENVELOPE_VERSION,
    id: e.id,
    channel: e.channel,
    origin: e.origin,
    node: e.node,
    ts: e.ts,
    contentType: e.contentType,
    payload: e.payload,
  }).finish();
}

const CONTENT_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/octet-stream']);

/** Decodes and validates an envelope; throws {@link EnvelopeError} on anything unusable. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let m: Record<string, unknown>;
  try {
    m = protoTypes.Envelope.toObject(protoTypes.Envelope.decode(bytes), {
      longs: Number,
      bytes: Uint8Array,
    }) as Record<string, unknown>;
  } catch (err) {
    throw new EnvelopeError('malformed', `envelope does not decode: ${(err as Error).message}`);
  }
  if (m.version !== ENVELOPE_VERSION) {
    throw new EnvelopeError(
      'unknown_version',
      `envelope version ${String(m.version ?? 0)} is not ${ENVELOPE_VERSION}`,
    );
  }
  const { id, channel, origin, node, ts, contentType, payload } = m;
  if (
    typeof id !== 'string' ||
    id === '' ||
    typeof channel !== 'string' ||
    channel === '' ||
    typeof origin !== 'string' ||
    origin === ''
  ) {
    throw new EnvelopeError('invalid', 'envelope lacks id, channel or origin');
  }
  if (typeof contentType !== 'string' || !CONTENT_TYPES.has(contentType)) {
    throw new EnvelopeError('invalid', `envelope content type ${String(contentType)} is not supported`);
  }
  return {
    id,
    channel,
    origin,
    node: typeof node === 'string' ? node : '',
    ts: typeof ts === 'number' ? ts : 0,
    contentType: contentType as ContentType,
    payload: payload instanceof Uint8Array ? payload : new Uint8Array(0),
  };
}
