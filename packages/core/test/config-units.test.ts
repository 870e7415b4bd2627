import { describe, expect, it } from 'vitest';
import { interpolateEnv, parseDuration, parseSize } from '@gatecache/core/config';

describe('parseDuration', () => {
  it('reads bare numbers as seconds and unit strings', () => {
    expect(parseDuration(300)).toBe(300);
    expect(parseDuration('300')).toBe(300);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('2d')).toBe(172_800);
    expect(parseDuration('1w')).toBe(604_800);
    expect(parseDuration('5s')).toBe(5);
    expect(parseDuration('50ms')).toBe(0.05);
    expect(parseDuration('1.5h')).toBe(5400);
    expect(parseDuration(' 10M ')).toBe(600);
  });

  it('rejects what is not a duration, showing the value', () => {
    for (const bad of ['', '5 minutes', '-5', '5x', 'm', '1h-', Number.NaN, -1]) {
      expect(() => parseDuration(bad)).toThrow(/duration/);
    }
    expect(() => parseDuration('5 minutes')).toThrow(/"5 minutes"/);
  });
});

describe('parseSize', () => {
  it('reads bytes and 1024-based units, case-insensitively', () => {
    expect(parseSize(512)).toBe(512);
    expect(parseSize('512')).toBe(512);
    expect(parseSize('100MB')).toBe(100 * 1024 * 1024);
    expect(parseSize('2gb')).toBe(2 * 1024 ** 3);
    expect(parseSize('1.5KB')).toBe(1536);
    expect(parseSize('64 KiB')).toBe(65_536);
    expect(parseSize('1TB')).toBe(1024 ** 4);
  });

  it('rejects unknown units and negatives', () => {
    for (const bad of ['100XB', 'MB', '-1MB', '1e3', -1, '']) {
      expect(() => parseSize(bad)).toThrow(/size/);
    }
  });
});

describe('interpolateEnv', () => {
  const env = { REDIS_URL: 'redis://cache:6379', EMPTY: '' };

  it('expands set variables and defaults', () => {
    expect(interpolateEnv('${REDIS_URL}', env)).toBe('redis://cache:6379');
    expect(interpolateEnv('url=${REDIS_URL}/0', env)).toBe('url=redis://cache:6379/0');
    expect(interpolateEnv('${MISSING:-fallback}', env)).toBe('fallback');
    expect(interpolateEnv('${EMPTY:-fallback}', env)).toBe('fallback');
    expect(interpolateEnv('${EMPTY-fallback}', env)).toBe('');
    expect(interpolateEnv('${MISSING-x}', env)).toBe('x');
    expect(interpolateEnv('${MISSING:-}', env)).toBe('');
  });

  it('keeps "$$" escapes and lone dollars literal', () => {
    expect(interpolateEnv('$${REDIS_URL}', env)).toBe('${REDIS_URL}');
    expect(interpolateEnv('cost: $5', env)).toBe('cost: $5');
  });

  it('fails on an unset variable without default, naming it', () => {
    expect(() => interpolateEnv('${NOPE}', env)).toThrow(/NOPE.*not set/);
    expect(() => interpolateEnv('${NOPE', env)).toThrow(/unclosed/);
    expect(() => interpolateEnv('${1BAD}', env)).toThrow(/not a variable name/);
  });
});
