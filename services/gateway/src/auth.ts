/**
 * Authentication at the upgrade and per-channel authorisation.
 *
 * A token is a JWT (HS256 with `WSGW_JWT_SECRET`, or any algorithm a JWKS at `WSGW_JWKS_URL` signs
 * with) carried as `?token=` or `Authorization: Bearer`. Its claims grant operations by channel
 * pattern, where `*` matches any run of characters:
 *
 *     { "sub": "user-42", "exp": 1764340000,
 *       "subscribe": ["room:*", "news"], "publish": ["room:42"] }
 *
 * A token without `subscribe`/`publish` grants nothing. Anonymous connections (embedded mode only)
 * are granted everything.
 */
import {
  createRemoteJWKSet,
  jwtVerify,
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { AuthSettings } from './config.js';
import { ERRORS, statusOf } from '../../shared/src/errors.js';

/** What one connection may do, compiled once at the upgrade. */
export interface Grant {
  readonly subject: string | undefined;
  /** Milliseconds since the epoch when the token expires; undefined for none. */
  readonly expiresAt: number | undefined;
  canSubscribe(ch: string): boolean;
  canPublish(ch: string): boolean;
}

const ALL: Grant = Object.freeze({
  subject: undefined,
  expiresAt: undefined,
  canSubscribe: () => true,
  canPublish: () => true,
});

/**
 * Why a token was refused; `status` is the HTTP status of the refused upgrade: 401 for the token
 * itself, 503 (retryable) when the keys to check it cannot be fetched.
 */
export class AuthError extends Error {
  constructor(
    readonly code: 'token_missing' | 'token_invalid' | 'token_expired' | 'auth_unavailable',
    message: string = ERRORS[code].message,
  ) {
    super(message);
    this.name = 'AuthError';
  }
  get status(): number {
    return statusOf(this.code);
  }
}

/** Failures of the key set itself (as opposed to a token it does not verify). */
class KeysUnavailable extends Error {}

/**
 * The JWKS key function, with its fetch failures (refused connection, timeout, an error status,
 * a body that is no key set) told apart from tokens that name a key the set lacks: the first is
 * the issuer's outage and must not read as "your token is bad".
 */
function remoteKeys(url: URL): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (err) {
      if (
        err instanceof joseErrors.JWKSNoMatchingKey ||
        err instanceof joseErrors.JWKSMultipleMatchingKeys ||
        err instanceof joseErrors.JOSENotSupported
      )
        throw err;
      throw new KeysUnavailable('key set unavailable', { cause: err });
    }
  };
}

/** Compiles `room:*`-style patterns into one matcher. */
export function compilePatterns(patterns: readonly string[]): (ch: string) => boolean {
  if (patterns.length === 0) return () => false;
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const globs = patterns.filter((p) => p.includes('*'));
  const re = globs.length
    ? new RegExp(
        `^(?:${globs
          .map((g) =>
            g
              .split('*')
              .map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
              .join('.*'),
          )
          .join('|')})$`,
      )
    : undefined;
  return (ch) => exact.has(ch) || (re !== undefined && re.test(ch));
}

function patternsClaim(payload: JWTPayload, claim: string): string[] {
  const v = payload[claim];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 256)) {
    throw new AuthError('token_invalid', `claim "${claim}" must be an array of channel patterns`);
  }
  return v as string[];
}

export class Authenticator {
  private readonly key: Uint8Array | JWTVerifyGetKey | undefined;

  constructor(private readonly settings: AuthSettings) {
    if (settings.jwtSecret !== undefined) this.key = new TextEncoder().encode(settings.jwtSecret);
    else if (settings.jwksUrl !== undefined) this.key = remoteKeys(new URL(settings.jwksUrl));
  }

  /** Whether tokens can be verified at all (a secret or a JWKS is configured). */
  get verifies(): boolean {
    return this.key !== undefined;
  }

  /** Resolves the grant for a token (or its absence); rejects with {@link AuthError}. */
  async authenticate(token: string | undefined): Promise<Grant> {
    if (token === undefined || token === '') {
      if (this.settings.allowAnonymous) return ALL;
      throw new AuthError('token_missing', 'a token is required (?token= or Authorization: Bearer)');
    }
    if (this.key === undefined)
      throw new AuthError('token_invalid', 'this gateway is not configured to verify tokens');
    let payload: JWTPayload;
    try {
      const opts = {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: this.key instanceof Uint8Array ? ['HS256'] : undefined,
      };
      payload = (
        this.key instanceof Uint8Array
          ? await jwtVerify(token, this.key, opts)
          : await jwtVerify(token, this.key, opts)
      ).payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AuthError('token_expired', 'token has expired');
      // The cause (addresses, statuses) is for the log, never for the client.
      if (err instanceof KeysUnavailable)
        throw new AuthError('auth_unavailable', 'token keys cannot be fetched right now; retry');
      throw new AuthError('token_invalid', `token is not valid: ${(err as Error).message}`);
    }
    // A token without exp would be good forever, and so would a stolen one.
    if (typeof payload.exp !== 'number') throw new AuthError('token_invalid', 'token must carry exp');
    const maxS = this.settings.maxLifetimeS;
    if (maxS > 0 && payload.exp * 1000 - Date.now() > maxS * 1000) {
      throw new AuthError(
        'token_invalid',
        `token expires more than ${maxS} s from now (WSGW_JWT_MAX_LIFETIME_S)`,
      );
    }
    const subscribe = compilePatterns(patternsClaim(payload, 'subscribe'));
    const publish = compilePatterns(patternsClaim(payload, 'publish'));
    return {
      subject: payload.sub,
      expiresAt: payload.exp * 1000,
      canSubscribe: subscribe,
      canPublish: publish,
    };
  }
}

/**
 * Extracts the token from the request target's `?token=` or an `Authorization: Bearer` header.
 * The target is never parsed as a URL: any request target HTTP allows (`//a:b`, `*`, an absolute
 * URI) must reach this point without throwing, and only its query matters.
 */
export function tokenFrom(target: string | undefined, authorization: string | undefined): string | undefined {
  const q = queryOf(target).get('token');
  if (q) return q;
  if (authorization && /^Bearer\s+/i.test(authorization))
    return authorization.replace(/^Bearer\s+/i, '').trim() || undefined;
  return undefined;
}

/** The query of a request target, whatever its form; URLSearchParams never throws. */
export function queryOf(target: string | undefined): URLSearchParams {
  const t = target ?? '';
  const q = t.indexOf('?');
  if (q < 0) return new URLSearchParams();
  const hash = t.indexOf('#', q);
  return new URLSearchParams(t.slice(q + 1, hash < 0 ? undefined : hash));
}

/** Origin allow-list check against cross-site WebSocket hijacking. */
export function originAllowed(origin: string | undefined, allowed: readonly string[] | undefined): boolean {
  // Non-browser clients send no Origin; the check protects browsers, whose Origin cannot be forged.
  if (allowed === undefined || origin === undefined) return true;
  const o = origin.toLowerCase();
  return allowed.some((a) => {
    const p = a.toLowerCase();
    if (!p.includes('*.')) return p === o;
    const [scheme, rest] = p.split('://*.') as [string, string];
    return o.startsWith(`${scheme}://`) && o.endsWith(`.${rest}`);
  });
}
