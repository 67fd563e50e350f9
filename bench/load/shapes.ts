/**
 * JSON payloads of realistic shape for the compression benchmark: what deflate makes of a
 * payload depends on its content, and the `x` padding of {@link payloadFor} would compress a
 * hundredfold. Each shape is built from a seeded generator, so every server is sent the same
 * sequence of messages, and consecutive messages differ the way real ones do (new ids, prices,
 * positions, sentences drawn from a vocabulary).
 *
 * Every payload starts with the publish time (`{"bt":…`), like payloadFor's, so receivers that
 * can read it (uncompressed frames) still measure latency.
 */

export const SHAPES = ['chat', 'ticks', 'snapshot'] as const;
export type Shape = (typeof SHAPES)[number];

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const WORDS = (
  'the a to and of is it you that in we for on this be are have with not just so but what can do ' +
  'was about if like get at all my your will one know there think they time good no up out see now ' +
  'how when make going really deploy meeting tomorrow release build test merge review coffee lunch ' +
  'great thanks sure okay maybe later today yesterday weekend friday customer ticket fixed broken ' +
  'server gateway latency dashboard chart numbers looks works again please check'
).split(' ');
const NAMES = [
  'Alice Martin',
  'Bob Chen',
  'Carla Diaz',
  'Dmitri Ivanov',
  'Emeka Obi',
  'Fatima Khan',
  'Gus Berg',
];
const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA', 'BRK.B', 'JPM', 'V', 'XOM', 'UNH'];
const TEAMS = ['red', 'blue', 'green', 'gold'];
const ITEMS = ['sword', 'shield', 'potion', 'bow', 'arrows', 'map', 'torch', 'key'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function sentence(r: () => number): string {
  const n = 4 + Math.floor(r() * 14);
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(pick(r, WORDS));
  return w.join(' ');
}

/** One item of the shape's list (a chat message, a quote, a player). */
function item(shape: Shape, r: () => number, i: number, t: number): unknown {
  switch (shape) {
    case 'chat': {
      const u = Math.floor(r() * NAMES.length);
      return {
        id: `m_${hex(r, 12)}`,
        user: { id: `u_${1000 + u}`, name: NAMES[u], avatar: `https://cdn.example.com/a/u_${1000 + u}.png` },
        text: sentence(r),
        ts: t - i * 1_500 - Math.floor(r() * 1_000),
        ...(r() < 0.3 ? { reactions: { '+1': 1 + Math.floor(r() * 5) } } : {}),
      };
    }
    case 'ticks': {
      const mid = 50 + r() * 450;
      return {
        s: pick(r, SYMBOLS),
        b: Number((mid - 0.01).toFixed(2)),
        a: Number((mid + 0.01).toFixed(2)),
        bs: 100 * (1 + Math.floor(r() * 50)),
        as: 100 * (1 + Math.floor(r() * 50)),
        l: Number(mid.toFixed(2)),
        v: Math.floor(r() * 5_000_000),
        t: t - Math.floor(r() * 200),
      };
    }
    case 'snapshot':
      return {
        id: `p_${hex(r, 8)}`,
        name: `${pick(r, NAMES).split(' ')[0]}${Math.floor(r() * 100)}`,
        team: pick(r, TEAMS),
        x: Number((r() * 1_000).toFixed(2)),
        y: Number((r() * 1_000).toFixed(2)),
        hp: Math.floor(r() * 101),
        score: Math.floor(r() * 10_000),
        items: [pick(r, ITEMS), pick(r, ITEMS)],
        online: r() < 0.9,
      };
  }
}

function envelope(shape: Shape, seq: number, list: unknown[]): Record<string, unknown> {
  switch (shape) {
    case 'chat':
      return { type: 'chat', room: 'room-42', seq, messages: list };
    case 'ticks':
      return { type: 'ticks', feed: 'us-equities', seq, ticks: list };
    case 'snapshot':
      return { type: 'state', match: 'm-7731', version: seq, players: list };
  }
}

/**
 * The `seq`-th payload body of a shape, about `size` bytes once {@link stampPayload} puts the
 * time in front (within one item's size below). Deterministic in (shape, size, seq).
 */
export function shapedBody(shape: Shape, size: number, seq: number): string {
  const r = rng(((SHAPES.indexOf(shape) + 1) * 1_000_003) ^ (size * 7_919) ^ seq);
  const t = 1_764_000_000_000 + seq * 1_000;
  const list: unknown[] = [];
  // `{"bt":1764000000000.123,` takes 24 bytes in front.
  const budget = size - 24;
  for (let i = 0; ; i++) {
    const next = item(shape, r, i, t);
    if (JSON.stringify(envelope(shape, seq, [...list, next])).length > budget) break;
    list.push(next);
  }
  return JSON.stringify(envelope(shape, seq, list));
}

/** A body from {@link shapedBody} with the publish time as its first key. */
export function stampPayload(body: string, now: number): string {
  return `{"bt":${now.toFixed(3)},${body.slice(1)}`;
}
