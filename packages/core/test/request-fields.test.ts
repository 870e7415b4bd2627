/**
 * The request checks the engine makes before caching, done in one pass over the request's fields:
 * they must agree with the separate checks they stand for, and the engine must step aside for
 * each, with its reason.
 */
import { describe, expect, it } from 'vitest';
import {
  FIELDS_TOO_LARGE,
  FIELDS_UNKEYED,
  FIELDS_WITH_BODY,
  findUnkeyedHeader,
  hasRequestBody,
  scanRequestFields,
  UNKEYED_HEADERS,
} from '../src/defences.ts';
import {
  createHttpCache,
  type CachePolicy,
  type HeaderList,
  type HttpCacheOptions,
  type Origin,
} from '../src/index.ts';
import type { RequestHeaders } from '../src/types.ts';

const unkeyed = new Set(UNKEYED_HEADERS);

describe('scanRequestFields', () => {
  // Name, fields, fields the policy varies on, and whether the request carries a body.
  const cases: Array<[string, RequestHeaders, readonly string[] | undefined, boolean]> = [
    ['nothing', {}, undefined, false],
    ['plain', { host: 'a.test', accept: '*/*' }, undefined, false],
    ['a body by length', { host: 'a.test', 'content-length': '12' }, undefined, true],
    ['an empty length', { 'content-length': '0' }, undefined, false],
    ['a chunked body', { 'transfer-encoding': 'chunked' }, undefined, true],
    ['an unkeyed field', { 'x-forwarded-host': 'evil.test' }, undefined, false],
    [
      'an unkeyed field varied on',
      { 'x-forwarded-host': 'evil.test' },
      ['x-forwarded-host'],
      false,
    ],
    ['a repeated field', { 'x-a': ['1', '2'], forwarded: ['for=1'] }, undefined, false],
    ['everything', { 'content-length': ['3'], 'x-host': 'h', 'x-pad': 'p'.repeat(40) }, [], true],
  ];

  it.each(cases)('agrees with the separate checks: %s', (_, headers, keyed, body) => {
    const flags = scanRequestFields(headers, 1e9, unkeyed, keyed);
    expect((flags & FIELDS_WITH_BODY) !== 0).toBe(body);
    expect(hasRequestBody(headers)).toBe(body);
    expect((flags & FIELDS_UNKEYED) !== 0).toBe(
      findUnkeyedHeader(headers, UNKEYED_HEADERS, keyed) !== undefined,
    );
    expect(flags & FIELDS_TOO_LARGE).toBe(0);
    expect(scanRequestFields(headers, 1e9, undefined, keyed) & FIELDS_UNKEYED).toBe(0);
  });

  it('counts each name and value plus 4 bytes, every value of a repeated field', () => {
    const headers = { ab: 'cde', f: ['gh', 'i'] }; // 2+3+4, 1+2+4, 1+1+4: 22 bytes
    expect(scanRequestFields(headers, 22, undefined, undefined) & FIELDS_TOO_LARGE).toBe(0);
    expect(scanRequestFields(headers, 21, undefined, undefined) & FIELDS_TOO_LARGE).toBe(
      FIELDS_TOO_LARGE,
    );
  });
});

describe('the engine steps aside for what the request carries', () => {
  /** The Cache-Status the engine sends for one GET carrying `headers`, the origin called once. */
  async function detail(
    headers: RequestHeaders,
    options: HttpCacheOptions = {},
    overrides?: CachePolicy,
  ): Promise<string> {
    const cache = createHttpCache({ ttl: 60, maxRequestHeaderBytes: 200, ...options });
    let calls = 0;
    let sent: HeaderList = [];
    const origin: Origin = async (call) => {
      calls++;
      const fields: HeaderList = [['cache-control', 'public, max-age=60']];
      const body = new Uint8Array(1);
      const action = call.head(200, fields, body);
      if (action.type === 'stream') sent = action.headers;
      await Promise.resolve();
      return {
        status: 200,
        headers: fields,
        body: action.capture ? body : undefined,
        complete: true,
      };
    };
    const request = {
      method: 'GET',
      url: '/p',
      host: 'a.test',
      headers: { host: 'a.test', ...headers },
    };
    await cache.serve(request, origin, overrides);
    expect(calls).toBe(1);
    await cache.close();
    return sent.find(([name]) => name === 'cache-status')?.[1] ?? '';
  }

  it('names the reason', async () => {
    expect(await detail({ 'x-pad': 'p'.repeat(300) })).toContain('detail=headers-too-large');
    expect(await detail({ 'content-length': '4' })).toContain('detail=request-body');
    expect(await detail({ 'x-original-url': '/admin' })).toContain('detail=unkeyed-header');
    expect(await detail({})).toContain('uri-miss');
  });

  it('takes an unkeyed field when the policy varies on it or the defence is off', async () => {
    const varied = await detail(
      { 'x-original-url': '/admin' },
      {},
      {
        varyHeaders: ['x-original-url'],
      },
    );
    expect(varied).not.toContain('unkeyed-header');
    const off = await detail({ 'x-original-url': '/admin' }, { unkeyedHeaders: [] });
    expect(off).not.toContain('unkeyed-header');
  });
});
