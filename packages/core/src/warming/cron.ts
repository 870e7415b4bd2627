import { invalidOption } from '../errors.ts';

/** A parsed five-field cron expression that computes its next run. */
export interface CronSchedule {
  readonly expression: string;
  /** The first run strictly after `after` (epoch ms), at a whole minute. */
  next(after: number): number;
}

export interface CronOptions {
  /** Read the fields in UTC (default) or in the process's local time zone. */
  readonly timezone?: 'utc' | 'local';
}

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** First value `names` stand for (months start at 1). */
  readonly namesFrom?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  // 7 is Sunday too, as in Vixie cron.
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function fail(expression: string, detail: string): never {
  throw invalidOption('schedule', expression, `a five-field cron expression (${detail})`);
}

function parseValue(text: string, spec: FieldSpec, expression: string): number {
  const lower = text.toLowerCase();
  const named = spec.names?.indexOf(lower) ?? -1;
  if (named !== -1) return named + (spec.namesFrom ?? 0);
  if (!/^\d+$/.test(text)) fail(expression, `"${text}" is not a ${spec.name}`);
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    fail(expression, `${spec.name} ${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
}

function parseField(
  text: string,
  spec: FieldSpec,
  expression: string,
): { values: Set<number>; any: boolean } {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') fail(expression, `empty list item in the ${spec.name} field`);
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined) fail(expression, `"${part}" has two steps`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
        fail(expression, `bad step "${stepText}"`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      from = parseValue(a ?? '', spec, expression);
      to = parseValue(b ?? '', spec, expression);
      if (from > to) fail(expression, `range "${range}" runs backwards`);
    } else {
      from = parseValue(range, spec, expression);
      to = stepText === undefined ? from : spec.max;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  if (spec.name === 'day of week' && values.has(7)) {
    values.delete(7);
    values.add(0);
  }
  return { values, any: text === '*' };
}

/**
 * Parses `minute hour day-of-month month day-of-week` (`*`, lists, ranges, steps, month and day
 * names, `@daily`-style macros). As in Vixie cron, when both day fields are restricted a day
 * matching either runs.
 */
export function parseCron(expression: string, options: CronOptions = {}): CronSchedule {
  if (typeof expression !== 'string') fail(String(expression), 'not a string');
  const source = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = source.split(/\s+/);
  if (parts.length !== 5) fail(expression, `${parts.length} fields, expected 5`);
  const [minutes, hours, days, months, weekdays] = parts.map((part, i) =>
    parseField(part, FIELDS[i]!, expression),
  ) as [
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
  ];
  const utc = (options.timezone ?? 'utc') === 'utc';
  if (
    options.timezone !== undefined &&
    options.timezone !== 'utc' &&
    options.timezone !== 'local'
  ) {
    throw invalidOption('timezone', options.timezone, '"utc" or "local"');
  }

  const get = {
    month: (d: Date) => (utc ? d.getUTCMonth() : d.getMonth()) + 1,
    day: (d: Date) => (utc ? d.getUTCDate() : d.getDate()),
    weekday: (d: Date) => (utc ? d.getUTCDay() : d.getDay()),
    hour: (d: Date) => (utc ? d.getUTCHours() : d.getHours()),
    minute: (d: Date) => (utc ? d.getUTCMinutes() : d.getMinutes()),
  };
  const dayMatches = (d: Date): boolean => {
    const dom = days.values.has(get.day(d));
    const dow = weekdays.values.has(get.weekday(d));
    if (days.any) return dow;
    if (weekdays.any) return dom;
    return dom || dow;
  };

  return {
    expression,
    next(after: number): number {
      if (!Number.isFinite(after)) throw invalidOption('after', after, 'epoch milliseconds');
      const d = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
      // Jumps by month, day, hour or minute; five years of misses means no date ever matches.
      for (let i = 0; i < 100_000; i++) {
        if (!months.values.has(get.month(d))) {
          if (utc) {
            d.setUTCMonth(d.getUTCMonth() + 1, 1);
            d.setUTCHours(0, 0, 0, 0);
          } else {
            d.setMonth(d.getMonth() + 1, 1);
            d.setHours(0, 0, 0, 0);
          }
          continue;
        }
        if (!dayMatches(d)) {
          if (utc) {
            d.setUTCDate(d.getUTCDate() + 1);
            d.setUTCHours(0, 0, 0, 0);
          } else {
            d.setDate(d.getDate() + 1);
            d.setHours(0, 0, 0, 0);
          }
          continue;
        }
        if (!hours.values.has(get.hour(d))) {
          if (utc) d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
          else d.setHours(d.getHours() + 1, 0, 0, 0);
          continue;
        }
        if (!minutes.values.has(get.minute(d))) {
          d.setTime(d.getTime() + 60_000);
          continue;
        }
        return d.getTime();
      }
      return fail(expression, 'no date ever matches');
    },
  };
}
