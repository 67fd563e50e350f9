/**
 * Hub on its own: the channel registry and the fan-out. Connections are stand-ins that record the
 * frames handed to them, so that "encoded once, written to many" can be checked by identity.
 */
import { describe, expect, it } from 'vitest';
import { Hub } from '../../services/gateway/src/hub.js';
import { History } from '../../services/gateway/src/history.js';
import { Progress } from '../../services/gateway/src/progress.js';
import { GatewayMetrics } from '../../services/gateway/src/metrics.js';
import { LOAD_CHANNEL } from '../../services/gateway/src/rebalance.js';
import type { Conn, SendResult } from '../../services/gateway/src/conn.js';
import type { BusMessage } from '../../services/gateway/src/bus/bus.js';

class FakeConn {
  readonly subs = new Set<string>();
  readonly frames: Buffer[] = [];
  constructor(
    readonly proto: boolean,
    private readonly result: SendResult = 'queued',
  ) {}
  send(frame: Buffer): SendResult {
    if (this.result === 'queued') this.frames.push(frame);
    return this.result;
  }
}

function hub(maxSubscriptions = 10) {
  const slow: unknown[] = [];
  const control: BusMessage[] = [];
  const history = new History({ perChannel: 100, maxBytes: 1 << 20, maxAgeMs: 60_000 });
  const progress = new Progress();
  const metrics = new GatewayMetrics({ connections: () => 0, subscriptions: () => 0, channels: () => 0 });
  const h = new Hub({
    maxSubscriptions,
    compressionMinBytes: 512,
    metrics,
    onSlowConsumer: (c) => slow.push(c),
    history,
    progress,
    onControl: (m) => control.push(m),
  });
  return { h, slow, control, history, progress, metrics };
}

const msg = (
  channel: string,
  payload: string,
  contentType: BusMessage['contentType'] = 'application/json',
): BusMessage => ({
  id: `id-${Math.random().toString(36).slice(2)}`,
  channel,
  origin: 'r1',
  node: 'n',
  ts: Date.now(),
  contentType,
  payload: Buffer.from(payload),
});

const conn = (c: FakeConn) => c as unknown as Conn;

describe('Hub subscriptions', () => {
  it('counts subscriptions and channels, refuses past the limit, and frees a channel with its last subscriber', () => {
    const { h } = hub(2);
    const a = new FakeConn(false);
    const b = new FakeConn(false);
    expect(h.subscribe(conn(a), 'x')).toBe('subscribed');
    expect(h.subscribe(conn(a), 'x')).toBe('already');
    expect(h.subscribe(conn(a), 'y')).toBe('subscribed');
    expect(h.subscribe(conn(a), 'z')).toBe('limit');
    expect(h.subscribe(conn(b), 'x')).toBe('subscribed');
    expect([h.subscriptions, h.channelCount]).toEqual([3, 2]);
    expect(h.wants('x')).toBe(true);
    h.removeAll(conn(a));
    expect([h.subscriptions, h.channelCount]).toEqual([1, 1]);
    expect(h.unsubscribe(conn(b), 'x')).toBe(true);
    expect(h.unsubscribe(conn(b), 'x')).toBe(false);
    expect(h.wants('x')).toBe(false);
    expect(h.channelCount).toBe(0);
  });
});

describe('Hub#deliver', () => {
  it('encodes a message once per wire shape and hands the same bytes to every subscriber of that shape', () => {
    const { h } = hub();
    const json = [new FakeConn(false), new FakeConn(false)];
    const proto = [new FakeConn(true), new FakeConn(true)];
    for (const c of [...json, ...proto]) h.subscribe(conn(c), 'room');
    h.deliver(msg('room', '{"n":1}'), Date.now());
    expect(json[0]!.frames[0]).toBe(json[1]!.frames[0]);
    expect(proto[0]!.frames[0]).toBe(proto[1]!.frames[0]);
    expect(json[0]!.frames[0]).not.toBe(proto[0]!.frames[0]);
    expect(json[0]!.frames[0]!.toString()).toContain('"data":{"n":1}');
  });

  it('keeps every message in the history, and a JSON payload that is not JSON from JSON subscribers only', () => {
    const { h, history } = hub();
    history.reading(undefined, 0);
    const json = new FakeConn(false);
    const proto = new FakeConn(true);
    h.subscribe(conn(json), 'room');
    h.subscribe(conn(proto), 'room');
    h.deliver(msg('room', '{not json'), Date.now());
    expect(json.frames).toEqual([]);
    expect(proto.frames).toHaveLength(1);
    expect(history.size).toBe(1);
  });

  it('reports a subscriber whose buffer overflowed, after handing the others the message', () => {
    const { h, slow } = hub();
    const ok = new FakeConn(false);
    const full = new FakeConn(false, 'overflow');
    h.subscribe(conn(ok), 'room');
    h.subscribe(conn(full), 'room');
    h.deliver(msg('room', '1'), Date.now());
    expect(ok.frames).toHaveLength(1);
    expect(slow).toEqual([full]);
  });

  it('hands load reports to the control handler, never to subscribers, and reports progress and coverage onward', () => {
    const { h, control, progress, history } = hub();
    const c = new FakeConn(false);
    h.subscribe(conn(c), LOAD_CHANNEL);
    h.deliver(msg(LOAD_CHANNEL, '{"node":"n","region":"r1","connections":3}'), Date.now());
    expect(control).toHaveLength(1);
    expect(c.frames).toEqual([]);
    h.progress('r1', 1_000);
    expect(progress.sync(1_000)).toEqual({ common: 1_000, lagging: {} });
    h.reading('r1', 500);
    h.skipped('quiet', msg('quiet', '1'), 600, 'r1');
    expect(history.recover('quiet', { '@': '550' })).toMatchObject({ recovered: true });
  });
});
