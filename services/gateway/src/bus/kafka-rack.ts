/**
 * The rack of the fan-out consumer. Every gateway reads the whole fan-out stream, so reading it
 * from a leader in another availability zone is billed per byte per task; naming the consumer's
 * zone (`client.rack`) lets a rack-aware cluster (MSK sets `broker.rack` to the zone id) serve the
 * fetches from the replica in the same zone.
 *
 * A Fargate service spreads one task definition over several zones, so the task cannot be told
 * its zone in its environment; it reads its zone name from the ECS task metadata and looks its
 * rack up in a map the infrastructure writes (zone names differ between accounts, zone ids do
 * not, and MSK uses the ids).
 */

export type RackSetting =
  /** `WSGW_KAFKA_RACK`: this rack. */
  | { readonly kind: 'fixed'; readonly rack: string }
  /** `WSGW_KAFKA_RACK_MAP`: the rack of the zone the ECS task metadata names. */
  | { readonly kind: 'by-zone'; readonly racks: ReadonlyMap<string, string> };

/** A zone name or rack id: 1-64 characters of A-Z a-z 0-9 . _ - */
export const RACK_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses `<zone>=<rack>,<zone>=<rack>`; throws with the part at fault. */
export function parseRackMap(raw: string): ReadonlyMap<string, string> {
  const racks = new Map<string, string>();
  for (const part of raw.split(',').map((p) => p.trim())) {
    const [zone, rack, extra] = part.split('=').map((p) => p.trim());
    if (!zone || !rack || extra !== undefined || !RACK_NAME.test(zone) || !RACK_NAME.test(rack))
      throw new Error(`"${part}" is not <zone>=<rack>`);
    if (racks.has(zone)) throw new Error(`zone ${zone} is listed twice`);
    racks.set(zone, rack);
  }
  return racks;
}

export interface RackResolution {
  /** The rack to name; undefined: fetch from the leaders. */
  readonly rack: string | undefined;
  /** The zone the task metadata gave, when it was asked. */
  readonly zone?: string;
  /** Why there is no rack although one was configured. */
  readonly problem?: string;
}

export interface ResolveRackOptions {
  /** `ECS_CONTAINER_METADATA_URI_V4`, set by the ECS agent in every container. */
  readonly metadataUri: string | undefined;
  /** Default 2 000 ms: start-up must not hang on an unreachable endpoint. */
  readonly timeoutMs?: number;
}

/**
 * Resolves the rack once, at start-up. Never throws: without a rack the gateway still works, it
 * only reads across zones, so a failed lookup is reported (`problem`) rather than fatal.
 */
export async function resolveRack(
  setting: RackSetting | undefined,
  opts: ResolveRackOptions,
): Promise<RackResolution> {
  if (setting === undefined) return { rack: undefined };
  if (setting.kind === 'fixed') return { rack: setting.rack };
  if (!opts.metadataUri)
    return { rack: undefined, problem: 'ECS_CONTAINER_METADATA_URI_V4 is not set, so the zone is unknown' };
  let zone: unknown;
  try {
    const res = await fetch(`${opts.metadataUri}/task`, {
      signal: AbortSignal.timeout(opts.timeoutMs ?? 2_000),
    });
    if (!res.ok) return { rack: undefined, problem: `task metadata answered ${res.status}` };
    zone = ((await res.json()) as { AvailabilityZone?: unknown }).AvailabilityZone;
  } catch (err) {
    return { rack: undefined, problem: `task metadata unreachable: ${(err as Error).message}` };
  }
  if (typeof zone !== 'string' || zone === '')
    return { rack: undefined, problem: 'task metadata names no AvailabilityZone' };
  const rack = setting.racks.get(zone);
  return rack === undefined
    ? { rack: undefined, zone, problem: `zone ${zone} is not in WSGW_KAFKA_RACK_MAP` }
    : { rack, zone };
}
