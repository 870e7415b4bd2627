import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DELTA_SECONDS_MAX,
  parseCacheControl,
  parseDeltaSeconds,
  parseHttpDate,
} from '../src/cache-control.ts';
import { splitList } from '../src/headers.ts';
import { computeInitialAge, parseRequestDirectives, varyFields } from '../src/policy.ts';
import type { HeaderList } from '../src/types.ts';

// Header values as a client or origin can send them: anything, including unicode and controls.
const anyText = fc.string({ unit: 'binary', maxLength: 200 });
const latin1 = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)),
  maxLength: 200,
});
const headerText = fc.oneof(anyText, latin1);
const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const token = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 12 });
const quoted = fc
  .string({ unit: fc.constantFrom(...'abc ,;="\\'), maxLength: 10 })
  .map((text) => `"${text.replace(/["\\]/g, '\\$&')}"`);
const directive = fc
  .tuple(token, fc.option(fc.oneof(token, quoted), { nil: undefined }))
  .map(([name, value]) => (value === undefined ? name : `${name}=${value}`));
const ows = fc.constantFrom('', ' ', '  ', '\t');
const directiveLine = fc
  .array(fc.tuple(ows, directive, ows), { maxLength: 8 })
  .map((items) => items.map(([a, d, b]) => `${a}${d}${b}`).join(','));

/** Cache-Control as a cache would write it back: one line, `name` or `name="value"`. */
function formatDirectives(directives: ReadonlyMap<string, string | true>): string {
  return [...directives]
    .map(([name, value]) =>
      value === true ? name : `${name}="${value.replace(/["\\]/g, '\\$&')}"`,
    )
    .join(', ');
}

describe('property: parseCacheControl', () => {
  it('never throws; names are lower-case, trimmed and non-empty', () => {
    fc.assert(
      fc.property(fc.array(headerText, { maxLength: 4 }), (lines) => {
        const { directives, conflicting } = parseCacheControl(lines);
        for (const name of directives.keys()) {
          expect(name.length).toBeGreaterThan(0);
          expect(name).toBe(name.trim().toLowerCase());
        }
        for (const name of conflicting) expect(directives.has(name)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent: re-parsing its own serialization gives the same directives', () => {
    fc.assert(
      fc.property(fc.array(directiveLine, { minLength: 1, maxLength: 3 }), (lines) => {
        const first = parseCacheControl(lines);
        const again = parseCacheControl([formatDirectives(first.directives)]);
        expect([...again.directives]).toEqual([...first.directives]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('property: parseDeltaSeconds', () => {
  it('never throws; gives undefined or an integer from 0 to 2^31', () => {
    fc.assert(
      fc.property(fc.oneof(headerText, fc.constant(true as const)), (value) => {
        const seconds = parseDeltaSeconds(value);
        if (seconds !== undefined) {
          expect(Number.isInteger(seconds)).toBe(true);
          expect(seconds).toBeGreaterThanOrEqual(0);
          expect(seconds).toBeLessThanOrEqual(DELTA_SECONDS_MAX);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reads every digit string exactly up to 2^31 and clamps beyond (RFC 9111 \u00a71.2.2)', () => {
    // Leading zeros: see property-known-issues.test.ts.
    fc.assert(
      fc.property(fc.stringMatching(/^(0|[1-9]\d{0,29})$/), (digits) => {
        const expected = Math.min(Number(digits), DELTA_SECONDS_MAX);
        expect(parseDeltaSeconds(digits)).toBe(expected);
        // Normalization is idempotent: the value read, written back, reads the same.
        expect(parseDeltaSeconds(String(parseDeltaSeconds(digits)))).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses anything that is not digits only', () => {
    fc.assert(
      fc.property(
        headerText.filter((text) => !/^\d+$/.test(text)),
        (text) => {
          expect(parseDeltaSeconds(text)).toBeUndefined();
        },
      ),
    );
  });
});

describe('property: parseHttpDate', () => {
  const dates = fc.date({
    min: new Date('1970-01-01T00:00:00Z'),
    max: new Date('9999-12-31T23:59:59Z'),
    noInvalidDate: true,
  });

  it('never throws on any text; gives undefined or a finite time', () => {
    fc.assert(
      fc.property(fc.option(headerText, { nil: undefined }), (text) => {
        const ms = parseHttpDate(text);
        if (ms !== undefined) expect(Number.isFinite(ms)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('reads back every IMF-fixdate it could have written, to the second, and is idempotent', () => {
    fc.assert(
      fc.property(dates, (date) => {
        const text = date.toUTCString();
        const ms = parseHttpDate(text);
        expect(ms).toBe(Math.floor(date.getTime() / 1000) * 1000);
        expect(parseHttpDate(new Date(ms!).toUTCString())).toBe(ms);
      }),
      { numRuns: 500 },
    );
  });
});

describe('property: splitList', () => {
  it('never throws; items are trimmed and non-empty', () => {
    fc.assert(
      fc.property(headerText, (text) => {
        for (const item of splitList(text)) {
          expect(item.length).toBeGreaterThan(0);
          expect(item).toBe(item.trim());
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent: joining the items and splitting again gives the same items', () => {
    fc.assert(
      fc.property(headerText, (text) => {
        const items = splitList(text);
        expect(splitList(items.join(', '))).toEqual(items);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: parseRequestDirectives', () => {
  const headers = fc.record(
    {
      'cache-control': fc.oneof(headerText, directiveLine),
      pragma: headerText,
    },
    { requiredKeys: [] },
  );

  it('never throws; every limit is undefined or a non-negative number', () => {
    fc.assert(
      fc.property(headers, (record) => {
        const directives = parseRequestDirectives(record);
        for (const value of [directives.maxAge, directives.maxStale, directives.minFresh]) {
          if (value !== undefined) expect(value).toBeGreaterThanOrEqual(0);
        }
        for (const flag of [directives.noStore, directives.noCache, directives.onlyIfCached]) {
          expect(typeof flag).toBe('boolean');
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: varyFields', () => {
  const varyHeaders = fc
    .array(fc.oneof(headerText, directiveLine), { maxLength: 4 })
    .map((lines): HeaderList => lines.map((line) => ['vary', line]));

  it('never throws; gives sorted, unique, lower-case names, or ["*"]', () => {
    fc.assert(
      fc.property(varyHeaders, (headers) => {
        const fields = varyFields(headers);
        if (fields.includes('*')) {
          expect(fields).toEqual(['*']);
          return;
        }
        expect([...new Set(fields)].sort()).toEqual(fields);
        for (const field of fields) expect(field).toBe(field.toLowerCase());
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent: a Vary written from its own fields reads the same', () => {
    // Field names are tokens (RFC 9110 \u00a712.5.5); a stray quote in one line may swallow the
    // next line's names when lines are joined, which only ever narrows what is stored.
    const tokenVary = fc
      .array(fc.array(fc.tuple(ows, token, ows), { maxLength: 5 }), { maxLength: 4 })
      .map((lines): HeaderList =>
        lines.map((items) => ['vary', items.map(([a, t, b]) => a + t + b).join(',')]),
      );
    fc.assert(
      fc.property(tokenVary, (headers) => {
        const fields = varyFields(headers);
        expect(varyFields([['vary', fields.join(', ')]])).toEqual(fields);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: computeInitialAge', () => {
  it('never throws; is finite, non-negative and at least the response delay (RFC 9111 \u00a74.2.3)', () => {
    const time = fc.integer({ min: 0, max: 4_102_444_800_000 });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('age', 'date', 'x-other'),
            fc.oneof(headerText, fc.stringMatching(/^\d{1,12}$/)),
          ),
          { maxLength: 4 },
        ),
        time,
        fc.integer({ min: 0, max: 600_000 }),
        (headers: HeaderList, requestTime, delay) => {
          const responseTime = requestTime + delay;
          const age = computeInitialAge(headers, requestTime, responseTime);
          expect(Number.isFinite(age)).toBe(true);
          expect(age).toBeGreaterThanOrEqual(delay / 1000);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
