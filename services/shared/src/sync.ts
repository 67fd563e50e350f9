/**
 * Sync points: how far a client is known to hold a channel's stream, per origin region.
 *
 * A gateway's pong and sub ack carry its *progress*: for every origin, a stamp `w` such that every
 * message of that origin stamped at or before `w` (the origin log's append time, docs/protocol.md)
 * had been written to the client's socket before that frame. The client keeps, per channel, the
 * highest such point per origin while the channel was live, and hands it back in `sub.since`; the
 * gateway it reconnects to then owes it every message stamped after it.
 *
 * On the wire a sync point rides in a position vector next to the message ids: `"@"` holds the
 * common point, `"@<origin>"` the point of an origin that lags behind it (usually none). Origin
 * names never start with `@`, so the keys cannot collide.
 */
import type { Position } from './frames.js';

/** Key of the common sync point in a position vector. */
export const SYNC_KEY = '@';

export interface Sync {
  /** Every origin not named in `lagging` is held up to this stamp (ms). */
  readonly common: number;
  /** Origins held only up to an earlier stamp. */
  readonly lagging: Readonly<Record<string, number>>;
}

const stamp = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^\d{1,16}$/.test(v)) return undefined;
  return Number(v);
};

/** The sync point a position vector carries; undefined when it carries none (or a malformed one). */
export function syncOf(pos: Position): Sync | undefined {
  const common = stamp(pos[SYNC_KEY]);
  if (common === undefined) return undefined;
  const lagging: Record<string, number> = {};
  for (const [k, v] of Object.entries(pos)) {
    if (k.length <= 1 || !k.startsWith(SYNC_KEY)) continue;
    const s = stamp(v);
    if (s === undefined) return undefined;
    lagging[k.slice(1)] = s;
  }
  return { common, lagging };
}

/** The sync point for one origin. */
export function syncFor(sync: Sync, origin: string): number {
  return sync.lagging[origin] ?? sync.common;
}

/** The message ids of a position vector, without its sync keys. */
export function idsOf(pos: Position): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pos)) if (!k.startsWith(SYNC_KEY)) out[k] = v;
  return out;
}

/** A position vector: message ids plus the sync point. */
export function withSync(
  ids: Readonly<Record<string, string>>,
  sync: Sync | undefined,
): Record<string, string> {
  const out: Record<string, string> = { ...ids };
  if (sync === undefined) return out;
  out[SYNC_KEY] = String(sync.common);
  for (const [o, s] of Object.entries(sync.lagging)) out[`${SYNC_KEY}${o}`] = String(s);
  return out;
}

/**
 * The later of two sync points, origin by origin: each promise holds on its own, so the client
 * holds whichever reaches further. Entries no longer behind the common point are dropped.
 */
export function mergeSync(a: Sync | undefined, b: Sync | undefined): Sync | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const common = Math.max(a.common, b.common);
  const lagging: Record<string, number> = {};
  for (const o of new Set([...Object.keys(a.lagging), ...Object.keys(b.lagging)])) {
    const s = Math.max(syncFor(a, o), syncFor(b, o));
    if (s < common) lagging[o] = s;
  }
  return { common, lagging };
}
