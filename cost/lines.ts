/**
 * The primitives every line item is made with: where lines go (`Ctx`), a line at a flat price, a
 * line at a tiered price, and the unit conversions they share.
 */
import { price, tiered, tieredCost, type PriceBook } from './prices.js';
import type { Assumptions, LineItem } from './types.js';

/**
 * Bytes in a billed GB. AWS's pricing pages do not define the GB; its one worked byte-to-GB
 * example (the S3 FAQ) divides by 2^30. docs/cost.md lists the unit of every line.
 */
export const BYTES_PER_GB = 2 ** 30;

export const round = (n: number, digits = 6): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** A number for a line's detail: whole numbers with separators, others to three decimals. */
export const fmt = (n: number): string =>
  Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 });

/** GB a month of a steady rate in bytes per second. */
export const gbPerMonth = (bytesPerSecond: number, a: Assumptions): number =>
  (bytesPerSecond * a.hoursPerMonth * 3600) / BYTES_PER_GB;

/** Where line items of one region go. */
export interface Ctx {
  readonly book: PriceBook;
  readonly region: string;
  readonly lines: LineItem[];
}

/** A line item at a flat unit price. */
export function flat(
  c: Ctx,
  service: string,
  item: string,
  key: string,
  quantity: number,
  detail: string,
): void {
  const p = price(c.book, c.region, key);
  c.lines.push({
    service,
    item,
    quantity: round(quantity),
    unit: p.unit,
    unitUsd: p.usd,
    usd: quantity * p.usd,
    detail,
    price: `${c.region}:${key}`,
  });
}

/** A line item at a tiered price; its unit price is the effective average. */
export function tieredLine(
  c: Ctx,
  service: string,
  item: string,
  key: string,
  quantity: number,
  detail: string,
): void {
  const p = tiered(c.book, c.region, key);
  const usd = tieredCost(p, quantity);
  const unitUsd = quantity > 0 ? usd / quantity : (p.tiers[0]?.usd ?? 0);
  c.lines.push({
    service,
    item,
    quantity: round(quantity),
    unit: p.unit,
    unitUsd: round(unitUsd, 8),
    usd,
    detail,
    price: `${c.region}:${key}`,
  });
}
