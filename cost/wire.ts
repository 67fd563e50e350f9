/**
 * Bytes on the wire between a client and the load balancer: WebSocket frames (RFC 6455) inside
 * TLS records inside TCP/IPv4 segments. The keep-alive traffic of a connection is derived here
 * from the protocol's own encoders and intervals, so that the bill follows the protocol when a
 * frame grows or an interval changes.
 */
import { CLIENT_DEFAULTS } from '../services/client/src/client.js';
import { encodeClientJson, encodePongJson } from '../services/shared/src/frames.js';
import type { Assumptions } from './types.js';

/**
 * Size of a WebSocket frame with `payloadBytes` of payload: a 2-byte header, 2 or 8 more bytes of
 * length for payloads of 126 or 65,536 bytes and up, and a 4-byte masking key on every frame a
 * client sends (RFC 6455 §5.2; servers never mask).
 */
export function wsFrameBytes(payloadBytes: number, fromClient: boolean): number {
  const length = payloadBytes < 126 ? 0 : payloadBytes < 65_536 ? 2 : 8;
  return 2 + length + (fromClient ? 4 : 0) + payloadBytes;
}

export type Framing = Pick<Assumptions, 'tcpIpHeaderBytes' | 'tlsRecordOverheadBytes'>;

/** One frame sent on its own, as keep-alives are: one TLS record in one TCP segment. */
export function segmentBytes(f: Framing, payloadBytes: number, fromClient: boolean): number {
  return wsFrameBytes(payloadBytes, fromClient) + f.tlsRecordOverheadBytes + f.tcpIpHeaderBytes;
}

/**
 * The SDK's default interval between its `ping` requests, in ms. test/cost/wire.test.ts checks
 * against the SDK's timers that it really pings at this interval.
 */
export const SDK_PING_INTERVAL_MS: number = CLIENT_DEFAULTS.pingIntervalMs;

/**
 * A millisecond stamp like the sync point the gateway puts in every pong: all such values from 2001
 * to 2286 have 13 digits, so any of them gives the pong its size.
 */
export const PONG_TIMESTAMP_MS = Date.UTC(2025, 0, 1);

/** The sync point a pong carries when no origin lags: one 13-digit stamp (`ts`), no `w`. */
export const PONG_SYNC = Object.freeze({ common: PONG_TIMESTAMP_MS, lagging: Object.freeze({}) });

/**
 * The id a ping request carries. The SDK numbers its requests from 1, and pings are nearly all of
 * them, so by the end of an average session the id is about session ÷ interval (at least 1).
 */
export function sdkPingId(sessionSeconds: number, sdkPingIntervalSeconds: number): number {
  return Math.max(1, Math.round(sessionSeconds / sdkPingIntervalSeconds));
}

export interface KeepaliveFrame {
  readonly frame: string;
  /** `out`: to the client (internet data out); `in`: from the client. */
  readonly direction: 'out' | 'in';
  /** Bytes on the wire: IP and TCP headers, TLS record, WebSocket frame. */
  readonly bytes: number;
  readonly everySeconds: number;
}

/**
 * Every frame a connection carries to stay alive, with its size and interval, over the JSON
 * subprotocol (the SDK's default).
 *
 * Bare TCP ACKs are counted: a segment that its receiver does not answer with data of its own is
 * acknowledged by a segment of headers alone. A ping is answered at once, and its answer carries
 * the acknowledgement, but nothing answers the answer: the load balancer acknowledges the
 * client's pong, and the client acknowledges the gateway's pong, with a bare ACK each.
 */
export function keepaliveFrames(
  a: Framing &
    Pick<
      Assumptions,
      'serverPingIntervalSeconds' | 'sdkPingIntervalSeconds' | 'skipGatewayPingAfterClientFrame'
    >,
  sessionSeconds: number,
): KeepaliveFrame[] {
  const frames: KeepaliveFrame[] = [];
  const bareAck = a.tcpIpHeaderBytes;
  const server = gatewayPingIntervalSeconds(a);
  if (server > 0 && Number.isFinite(server)) {
    // The gateway's ping control frame carries no payload; the client's pong echoes it (empty).
    frames.push({
      frame: 'gateway ping',
      direction: 'out',
      bytes: segmentBytes(a, 0, false),
      everySeconds: server,
    });
    frames.push({
      frame: 'client pong',
      direction: 'in',
      bytes: segmentBytes(a, 0, true),
      everySeconds: server,
    });
    frames.push({
      frame: 'bare ACK of the client pong',
      direction: 'out',
      bytes: bareAck,
      everySeconds: server,
    });
  }
  const sdk = a.sdkPingIntervalSeconds;
  if (sdk > 0) {
    const id = sdkPingId(sessionSeconds, sdk);
    const ping = Buffer.byteLength(encodeClientJson({ op: 'ping', id }));
    const pong = Buffer.byteLength(encodePongJson(id, PONG_SYNC));
    frames.push({
      frame: 'SDK ping',
      direction: 'in',
      bytes: segmentBytes(a, ping, true),
      everySeconds: sdk,
    });
    frames.push({
      frame: 'gateway pong',
      direction: 'out',
      bytes: segmentBytes(a, pong, false),
      everySeconds: sdk,
    });
    frames.push({
      frame: 'bare ACK of the gateway pong',
      direction: 'in',
      bytes: bareAck,
      everySeconds: sdk,
    });
  }
  return frames;
}

/**
 * Seconds between the gateway's pings to one connection, on average. Without the skip, every
 * ping interval. With it, a connection whose SDK pings at least once per gateway interval is never
 * pinged (Infinity); one whose SDK pings every C > I seconds sent nothing in the last I seconds at
 * a share (C − I) / C of the sweeps. Publishes would spare more pings and are left out.
 */
export function gatewayPingIntervalSeconds(
  a: Pick<
    Assumptions,
    'serverPingIntervalSeconds' | 'sdkPingIntervalSeconds' | 'skipGatewayPingAfterClientFrame'
  >,
): number {
  const server = a.serverPingIntervalSeconds;
  const sdk = a.sdkPingIntervalSeconds;
  if (!a.skipGatewayPingAfterClientFrame || sdk <= 0 || server <= 0) return server;
  const share = Math.max(0, (sdk - server) / sdk);
  return share === 0 ? Number.POSITIVE_INFINITY : server / share;
}

/** Keep-alive bytes per connection and second in one direction. */
export function keepaliveBytesPerSecond(frames: readonly KeepaliveFrame[], direction: 'out' | 'in'): number {
  return frames.filter((f) => f.direction === direction).reduce((s, f) => s + f.bytes / f.everySeconds, 0);
}
