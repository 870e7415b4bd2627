import { describe, expect, it } from 'vitest';
import { parseCron } from '@gatecache/core/warming';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('cron schedule', () => {
  it('runs the seed schedule "0 */6 * * *" every six hours on the hour (UTC)', () => {
    const cron = parseCron('0 */6 * * *');
    let t = at('2025-03-10T01:30:00Z');
    const runs: string[] = [];
    for (let i = 0; i < 5; i++) runs.push(iso((t = cron.next(t))));
    expect(runs).toEqual([
      '2025-03-10T06:00:00.000Z',
      '2025-03-10T12:00:00.000Z',
      '2025-03-10T18:00:00.000Z',
      '2025-03-11T00:00:00.000Z',
      '2025-03-11T06:00:00.000Z',
    ]);
    // Strictly after: a run exactly at 06:00 is followed by 12:00.
    expect(iso(cron.next(at('2025-03-10T06:00:00Z')))).toBe('2025-03-10T12:00:00.000Z');
  });

  it('handles lists, ranges, steps, names, and month ends', () => {
    expect(iso(parseCron('15,45 9-17/4 * * mon-fri').next(at('2025-03-14T17:50:00Z')))).toBe(
      '2025-03-17T09:15:00.000Z',
    );
    expect(iso(parseCron('0 0 31 * *').next(at('2025-04-01T00:00:00Z')))).toBe(
      '2025-05-31T00:00:00.000Z',
    );
    expect(iso(parseCron('0 0 29 feb *').next(at('2025-01-01T00:00:00Z')))).toBe(
      '2028-02-29T00:00:00.000Z',
    );
    expect(iso(parseCron('@daily').next(at('2025-01-01T10:00:00Z')))).toBe(
      '2025-01-02T00:00:00.000Z',
    );
    // Sunday as 7.
    expect(iso(parseCron('0 12 * * 7').next(at('2025-03-10T00:00:00Z')))).toBe(
      '2025-03-16T12:00:00.000Z',
    );
  });

  it('runs on either day field when both are restricted (Vixie cron)', () => {
    // The 1st of the month or any Monday.
    const cron = parseCron('0 0 1 * mon');
    expect(iso(cron.next(at('2025-03-25T12:00:00Z')))).toBe('2025-03-31T00:00:00.000Z');
    expect(iso(cron.next(at('2025-03-31T12:00:00Z')))).toBe('2025-04-01T00:00:00.000Z');
  });

  it('rejects malformed expressions, naming the option', () => {
    for (const bad of [
      '* * * *',
      '60 * * * *',
      '* 24 * * *',
      '*/0 * * * *',
      '5-1 * * * *',
      'x * * * *',
    ]) {
      expect(() => parseCron(bad)).toThrow(/option "schedule"/);
    }
    expect(() => parseCron('0 0 30 feb *').next(0)).toThrow(/no date ever matches/);
  });
});
