import { describe, expect, it } from 'vitest';
import { compilePatterns, originAllowed, tokenFrom } from '../../services/gateway/src/auth.js';

describe('compilePatterns', () => {
  it('matches exact names and * as any run of characters', () => {
    const m = compilePatterns(['room:*', 'news', 'user:*:inbox']);
    expect(['room:1', 'room:', 'room:a:b', 'news', 'user:7:inbox'].map(m)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['roo', 'newsx', 'xnews', 'user:7:outbox', 'aroom:1'].map(m)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
  it('treats regex metacharacters literally', () => {
    const m = compilePatterns(['a.b', 'c+*']);
    expect(m('a.b')).toBe(true);
    expect(m('axb')).toBe(false);
    expect(m('c+1')).toBe(true);
    expect(m('cc1')).toBe(false);
  });
  it('grants nothing for no patterns and everything for *', () => {
    expect(compilePatterns([])('x')).toBe(false);
    expect(compilePatterns(['*'])('anything')).toBe(true);
  });
});

describe('originAllowed', () => {
  const list = ['https://app.example.com', 'https://*.example.org', 'http://localhost:3000'];
  it('allows listed origins case-insensitively and wildcard subdomains', () => {
    expect(originAllowed('https://APP.example.com', list)).toBe(true);
    expect(originAllowed('https://x.example.org', list)).toBe(true);
    expect(originAllowed('http://localhost:3000', list)).toBe(true);
  });
  it('refuses look-alikes', () => {
    for (const o of [
      'https://example.org',
      'https://evilexample.org',
      'https://app.example.com.evil.io',
      'http://x.example.org',
      'http://localhost:3001',
      'null',
    ]) {
      expect(originAllowed(o, list)).toBe(false);
    }
  });
  it('allows anything without a list and requests without Origin', () => {
    expect(originAllowed('https://any', undefined)).toBe(true);
    expect(originAllowed(undefined, list)).toBe(true);
  });
});

describe('tokenFrom', () => {
  it('prefers ?token= and falls back to a Bearer header', () => {
    expect(tokenFrom('/?token=abc', 'Bearer xyz')).toBe('abc');
    expect(tokenFrom('/', 'bearer  xyz ')).toBe('xyz');
    expect(tokenFrom('/', 'Basic xyz')).toBeUndefined();
    expect(tokenFrom('/', undefined)).toBeUndefined();
    expect(tokenFrom('/', 'Bearer ')).toBeUndefined();
  });
});

describe('tokenFrom, with any request target HTTP allows', () => {
  it('reads the query of origin-form, absolute-form, authority-like and asterisk targets without throwing', () => {
    expect(tokenFrom('//a:b', undefined)).toBeUndefined();
    expect(tokenFrom('//a:b/?token=t1', undefined)).toBe('t1');
    expect(tokenFrom('http://[::1/?token=t2', undefined)).toBe('t2');
    expect(tokenFrom('*', 'Bearer t3')).toBe('t3');
    expect(tokenFrom('/?token=%E0%A4%A', undefined)).toBe('\uFFFD%A'); // malformed escapes stay as they are
    expect(tokenFrom('/?a=1#token=no', undefined)).toBeUndefined();
    expect(tokenFrom(undefined, undefined)).toBeUndefined();
  });
});
