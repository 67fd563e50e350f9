/**
 * Reading one environment variable through a schema: what every part of the configuration uses,
 * so that every problem becomes the same one-line {@link ConfigError} naming the variable.
 */
import { z } from 'zod';

/** A configuration error: `variable` names the setting at fault. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly got: string | undefined,
  ) {
    super(`${variable} ${expected}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export const int = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
export const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
export const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);

/** Reads one variable through a schema, turning failure into a {@link ConfigError}. */
export function read<T>(
  env: Env,
  name: string,
  schema: z.ZodType<T, string>,
  expected: string,
  fallback: T,
): T;
export function read<T>(
  env: Env,
  name: string,
  schema: z.ZodType<T, string>,
  expected: string,
): T | undefined;
export function read<T>(
  env: Env,
  name: string,
  schema: z.ZodType<T, string>,
  expected: string,
  fallback?: T,
): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const r = schema.safeParse(raw);
  if (!r.success) throw new ConfigError(name, expected, raw);
  return r.data;
}

export const intIn = (env: Env, name: string, min: number, max: number, fallback: number): number =>
  read(env, name, int(min, max), `must be an integer from ${min} to ${max}`, fallback);
