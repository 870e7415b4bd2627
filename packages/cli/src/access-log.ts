/**
 * Access logs for `gatecache simulate`: the Common and Combined Log Formats (Apache, nginx's
 * default `combined`) and JSON lines (one object per line with `time`, `method`, `url`, `status`,
 * `bytes`, and optionally `host`, `user`, `headers`).
 */

export interface AccessRecord {
  /** Epoch milliseconds. */
  readonly time: number;
  readonly method: string;
  /** Origin-form target: path and query. */
  readonly url: string;
  readonly host: string | undefined;
  readonly status: number;
  /** Response body bytes (0 when the log says `-`). */
  readonly bytes: number;
  /** The authenticated user, when the log names one: the simulation keys per-user entries by it. */
  readonly user: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

export type LogFormat = 'clf' | 'json';

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// host ident authuser [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.1" 200 2326 ["referer" "agent"]
const CLF =
  /^(\S+) (\S+) (\S+) \[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))? ([+-]\d{4})\] "(\S+) (\S+)(?: [^"]*)?" (\d{3}) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?/;

/** Parses one CLF/Combined line; undefined for a line that is not one. */
export function parseClfLine(line: string): AccessRecord | undefined {
  const m = CLF.exec(line);
  if (m === null) return undefined;
  const month = MONTHS[m[5]!];
  if (month === undefined) return undefined;
  const offset = m[11]!;
  const sign = offset.startsWith('-') ? -1 : 1;
  const offsetMinutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(3, 5)));
  const time =
    Date.UTC(
      Number(m[6]),
      month,
      Number(m[4]),
      Number(m[7]),
      Number(m[8]),
      Number(m[9]),
      Number((m[10] ?? '0').padEnd(3, '0')),
    ) -
    offsetMinutes * 60_000;
  const headers: Record<string, string> = {};
  if (m[17] !== undefined && m[17] !== '-' && m[17] !== '') headers['user-agent'] = m[17];
  const target = m[13]!;
  let url = target;
  let host: string | undefined;
  if (/^https?:\/\//i.test(target)) {
    const parsed = new URL(target);
    url = parsed.pathname + parsed.search;
    host = parsed.host;
  }
  return {
    time,
    method: m[12]!.toUpperCase(),
    url,
    host,
    status: Number(m[14]),
    bytes: m[15] === '-' ? 0 : Number(m[15]),
    user: m[3] === '-' ? undefined : m[3],
    headers,
  };
}

function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Seconds (nginx $msec, Unix time) or milliseconds.
    return value < 1e11 ? Math.round(value * 1000) : value;
  }
  if (typeof value === 'string') {
    if (/^\d+(\.\d+)?$/.test(value)) return timeOf(Number(value));
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return parsed;
    const clf = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})$/.exec(value);
    if (clf !== null) {
      return parseClfLine(`- - - [${value}] "GET / HTTP/1.1" 200 0`)?.time;
    }
  }
  return undefined;
}

/** Parses one JSON line; undefined when it lacks a time, a URL or a status. */
export function parseJsonLine(line: string): AccessRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  const time = timeOf(o.time ?? o.timestamp ?? o.ts ?? o['@timestamp'] ?? o.time_local);
  let url = o.url ?? o.uri ?? o.path ?? o.request_uri;
  let host = typeof o.host === 'string' ? o.host : undefined;
  const request = typeof o.request === 'string' ? o.request.split(' ') : undefined;
  if (url === undefined && request !== undefined) url = request[1];
  const method = o.method ?? o.request_method ?? request?.[0] ?? 'GET';
  const status = Number(o.status ?? o.status_code);
  const bytes = Number(o.bytes ?? o.body_bytes_sent ?? o.size ?? o.response_size ?? 0);
  if (time === undefined || typeof url !== 'string' || !Number.isInteger(status)) return undefined;
  if (/^https?:\/\//i.test(url)) {
    const parsed = new URL(url);
    host ??= parsed.host;
    url = parsed.pathname + parsed.search;
  }
  const headers: Record<string, string> = {};
  if (o.headers !== null && typeof o.headers === 'object' && !Array.isArray(o.headers)) {
    for (const [name, v] of Object.entries(o.headers))
      if (typeof v === 'string') headers[name.toLowerCase()] = v;
  }
  const user = o.user ?? o.remote_user;
  return {
    time,
    method: typeof method === 'string' ? method.toUpperCase() : 'GET',
    url: url as string,
    host,
    status,
    bytes: Number.isFinite(bytes) && bytes >= 0 ? bytes : 0,
    user: typeof user === 'string' && user !== '' && user !== '-' ? user : undefined,
    headers,
  };
}

export interface ParsedLog {
  readonly format: LogFormat;
  readonly records: AccessRecord[];
  /** Lines that could not be read (blank lines aside). */
  readonly skipped: number;
}

/** Parses a whole log, detecting the format from its first non-blank line unless given. */
export function parseAccessLog(text: string, format?: LogFormat): ParsedLog {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const detected = format ?? (lines[0]?.trimStart().startsWith('{') ? 'json' : 'clf');
  const parse = detected === 'json' ? parseJsonLine : parseClfLine;
  const records: AccessRecord[] = [];
  let skipped = 0;
  for (const line of lines) {
    const record = parse(line);
    if (record === undefined) skipped++;
    else records.push(record);
  }
  // Logs are written when responses end; replay in request order.
  records.sort((a, b) => a.time - b.time);
  return { format: detected, records, skipped };
}
