import { BusError } from './bus/bus.js';

/**
 * The error code a failed publish reports, for WebSocket and HTTP publishers alike: the bus's own
 * code where a client acts on it differently, `bus_unavailable` for the other bus errors (a closed
 * bus included), undefined when `err` is not a bus error. The codes themselves, with their messages
 * and HTTP statuses, are in services/shared/src/errors.ts.
 */
export function busFailureCode(
  err: unknown,
): 'bus_rejected' | 'bus_uncertain' | 'bus_unavailable' | undefined {
  if (!(err instanceof BusError)) return undefined;
  return err.code === 'bus_rejected' || err.code === 'bus_uncertain' ? err.code : 'bus_unavailable';
}
