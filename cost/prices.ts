/**
 * Price data: one dated, versioned JSON file per AWS region under `cost/prices/`, plus `global.json`
 * for services billed once per account (Global Accelerator). Every entry names the public page it
 * was taken from. This module loads and validates those files and answers price look-ups with
 * errors that say exactly which entry of which file is missing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CostError } from './errors.js';

/** Directory holding the price files that ship with the project. */
export const DEFAULT_PRICES_DIR = fileURLToPath(new URL('./prices/', import.meta.url));

const flatPrice = z.object({
  usd: z.number().nonnegative(),
  unit: z.string().min(1),
  source: z.string().url(),
  note: z.string().optional(),
});

const tier = z.object({
  /** Upper bound of the tier in the entry's unit, cumulative over the month; `null` = no bound. */
  upTo: z.number().positive().nullable(),
  usd: z.number().nonnegative(),
});

const tieredPrice = z.object({
  unit: z.string().min(1),
  source: z.string().url(),
  note: z.string().optional(),
  tiers: z
    .array(tier)
    .min(1)
    .refine((ts) => ts[ts.length - 1]?.upTo === null, 'the last tier must have "upTo": null')
    .refine(
      (ts) => ts.every((t, i) => i === 0 || t.upTo === null || t.upTo > (ts[i - 1]?.upTo ?? 0)),
      'tier bounds must increase',
    ),
});

const priceFile = z.object({
  schemaVersion: z.literal(1),
  version: z.string().min(1),
  asOf: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'asOf must be a date YYYY-MM-DD'),
  region: z.string().min(1),
  location: z.string().min(1),
  geography: z.enum(['NA', 'EU', 'APAC']).optional(),
  currency: z.literal('USD'),
  notice: z.string().min(1),
  prices: z.record(z.string(), z.union([flatPrice, tieredPrice])),
});

export type FlatPrice = z.infer<typeof flatPrice>;
export type TieredPrice = z.infer<typeof tieredPrice>;
export type PriceEntry = FlatPrice | TieredPrice;
export type PriceFile = z.infer<typeof priceFile> & { readonly file: string };
export type Geography = 'NA' | 'EU' | 'APAC';

/** All price files of one directory, keyed by region name (`global` for account-wide prices). */
export interface PriceBook {
  readonly dir: string;
  readonly files: ReadonlyMap<string, PriceFile>;
}

/** Validates one parsed price file; `file` is only used in messages. */
export function parsePriceFile(raw: unknown, file: string): PriceFile {
  const res = priceFile.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new CostError(
      'WSGW_COST_BAD_PRICE_FILE',
      `${file}: invalid price file${where}: ${issue?.message ?? 'unknown error'}`,
    );
  }
  return { ...res.data, file };
}

/** Loads every `*.json` in `dir` as a price file. */
export function loadPriceBook(dir: string = DEFAULT_PRICES_DIR): PriceBook {
  const files = new Map<string, PriceFile>();
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch {
    throw new CostError('WSGW_COST_BAD_PRICE_FILE', `price directory ${dir} cannot be read`);
  }
  for (const name of names) {
    const path = join(dir, name);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new CostError('WSGW_COST_BAD_PRICE_FILE', `${name}: not valid JSON (${(err as Error).message})`);
    }
    const parsed = parsePriceFile(raw, name);
    if (`${parsed.region}.json` !== name) {
      throw new CostError(
        'WSGW_COST_BAD_PRICE_FILE',
        `${name}: "region" is ${parsed.region}; the file must be named ${parsed.region}.json`,
      );
    }
    files.set(parsed.region, parsed);
  }
  return { dir, files };
}

/** Builds a price book from in-memory files (tests, or callers with their own storage). */
export function priceBookOf(files: readonly PriceFile[], dir = '(memory)'): PriceBook {
  return { dir, files: new Map(files.map((f) => [f.region, f])) };
}

/** The regions a price book covers, excluding `global`. */
export function pricedRegions(book: PriceBook): string[] {
  return [...book.files.keys()].filter((r) => r !== 'global').sort();
}

/** The price file of one region; throws `WSGW_COST_UNKNOWN_REGION` if there is none. */
export function regionFile(book: PriceBook, region: string): PriceFile {
  const f = book.files.get(region);
  if (!f) {
    throw new CostError(
      'WSGW_COST_UNKNOWN_REGION',
      `no prices for region "${region}" (priced: ${pricedRegions(book).join(', ') || 'none'}); add ${region}.json to ${book.dir}`,
    );
  }
  return f;
}

function entry(book: PriceBook, region: string, key: string): PriceEntry {
  const f = regionFile(book, region);
  const e = f.prices[key];
  if (!e) throw new CostError('WSGW_COST_MISSING_PRICE', `price "${key}" is missing in ${f.file}`);
  return e;
}

/** A flat price (USD per unit). */
export function price(book: PriceBook, region: string, key: string): FlatPrice {
  const e = entry(book, region, key);
  if ('tiers' in e)
    throw new CostError(
      'WSGW_COST_BAD_PRICE_FILE',
      `price "${key}" in ${regionFile(book, region).file} must be a flat price, not tiered`,
    );
  return e;
}

/** A tiered price; a flat entry is accepted as a single unbounded tier. */
export function tiered(book: PriceBook, region: string, key: string): TieredPrice {
  const e = entry(book, region, key);
  if ('tiers' in e) return e;
  return { unit: e.unit, source: e.source, tiers: [{ upTo: null, usd: e.usd }] };
}

/** Cost of `quantity` units under cumulative monthly tiers. */
export function tieredCost(p: TieredPrice, quantity: number): number {
  let rest = quantity;
  let floor = 0;
  let usd = 0;
  for (const t of p.tiers) {
    if (rest <= 0) break;
    const span = t.upTo === null ? rest : Math.min(rest, t.upTo - floor);
    usd += span * t.usd;
    rest -= span;
    floor = t.upTo ?? floor;
  }
  return usd;
}

/** Geography of a region (for Global Accelerator's DT-Premium matrix). */
export function geographyOf(book: PriceBook, region: string): Geography {
  const f = regionFile(book, region);
  if (!f.geography) throw new CostError('WSGW_COST_MISSING_PRICE', `"geography" is missing in ${f.file}`);
  return f.geography;
}

/** The dates and versions of the files used, for the report header. */
export function priceDates(
  book: PriceBook,
  regions: readonly string[],
): { region: string; asOf: string; version: string; file: string }[] {
  return [...new Set(['global', ...regions])].map((r) => {
    const f = regionFile(book, r);
    return { region: r, asOf: f.asOf, version: f.version, file: f.file };
  });
}
