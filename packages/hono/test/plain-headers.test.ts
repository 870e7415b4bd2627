import type { HeaderList } from '@gatecache/core';
import { describe, expect, it } from 'vitest';
import {
  headersFromList,
  originHeaders,
  originHeadersFromRecord,
  plainHeaders,
  type HeaderSnapshot,
} from '../src/web-origin.ts';

const stored: HeaderList = [
  ['content-type', 'application/json'],
  ['cache-control', 'public, max-age=60'],
  ['etag', '"e1"'],
];

/** What a `Headers` built the old way holds, for comparison with a record. */
const entries = (headers: HeadersInit): Array<[string, string]> => [...new Headers(headers)];

describe('plainHeaders', () => {
  it('holds the same fields as headersFromList when every name occurs once', () => {
    const before: HeaderSnapshot = new Map([
      ['x-request', ['7']],
      ['etag', ['"earlier"']],
    ]);
    const record = plainHeaders(stored, before, true)!;
    expect(record).toEqual({
      'content-type': 'application/json',
      'cache-control': 'public, max-age=60',
      etag: '"e1"',
      'x-request': '7',
    });
    expect(entries(record)).toEqual(entries(headersFromList(stored, before)));
  });

  it('declines a name the stored response repeats', () => {
    const list: HeaderList = [...stored, ['link', '<a>'], ['link', '<b>']];
    expect(plainHeaders(list, new Map(), true)).toBeUndefined();
  });

  it('declines a field earlier middleware set twice (two Set-Cookie lines)', () => {
    const before: HeaderSnapshot = new Map([['set-cookie', ['a=1', 'b=2']]]);
    expect(plainHeaders(stored, before, true)).toBeUndefined();
  });

  it('declines names every object already has', () => {
    expect(plainHeaders([...stored, ['__proto__', 'x']], new Map(), true)).toBeUndefined();
    expect(plainHeaders(stored, new Map([['constructor', ['x']]]), true)).toBeUndefined();
  });

  it('declines a body without Content-Type, which @hono/node-server would type itself', () => {
    const untyped = stored.filter(([name]) => name !== 'content-type');
    expect(plainHeaders(untyped, new Map(), true)).toBeUndefined();
    expect(plainHeaders(untyped, new Map(), false)).toEqual({
      'cache-control': 'public, max-age=60',
      etag: '"e1"',
    });
  });
});

describe('originHeadersFromRecord', () => {
  const before: HeaderSnapshot = new Map([
    ['access-control-allow-origin', ['*']],
    ['x-trace', ['earlier']],
  ]);

  it('gives what iterating `new Headers(record)` gives, without the fields set before', () => {
    for (const record of [
      { 'content-type': 'application/json', 'cache-control': 'public, max-age=60' },
      { 'x-trace': 'origin', 'access-control-allow-origin': '*', etag: '"v1"', vary: 'accept' },
      { 'set-cookie': 'a=1; Path=/', 'x-empty': '', 'x-inner': 'a\tb  c' },
      {},
    ]) {
      expect(originHeadersFromRecord(record, before)).toEqual(
        originHeaders(new Headers(record), before),
      );
    }
  });

  it('declines what `Headers` would rename, trim, refuse or convert', () => {
    for (const record of [
      { 'Content-Type': 'text/plain' },
      { 'x-pad': ' padded' },
      { 'x-pad': 'padded\t' },
      { 'x-bad': 'a\r\nb' },
      { 'x y': 'z' },
      { 'x-n': 7 },
    ]) {
      expect(originHeadersFromRecord(record as Record<string, unknown>, before)).toBeUndefined();
    }
  });
});
