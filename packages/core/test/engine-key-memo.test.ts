/**
 * The engine remembers the shared key of recently hit URLs by host, then target. Whatever it
 * remembers, every request must reach its own entry: another host's, another target's, or its
 * own after the memo was emptied.
 */
import { describe, expect, it } from 'vitest';
import { createHttpCache, type HeaderList, type Origin } from '../src/index.ts';

/** An origin answering `call n`, counting its calls. */
function countingOrigin(): { origin: Origin; calls: () => number; last: () => string } {
  let calls = 0;
  let last = '';
  const origin: Origin = async (call) => {
    calls++;
    last = `call ${calls}`;
    const body = new TextEncoder().encode(last);
    const headers: HeaderList = [
      ['content-type', 'text/plain'],
      ['cache-control', 'public, max-age=60'],
    ];
    const action = call.head(200, headers, body);
    await Promise.resolve();
    return { status: 200, headers, body: action.capture ? body : undefined, complete: true };
  };
  return { origin, calls: () => calls, last: () => last };
}

const request = (host: string, url: string) => ({ method: 'GET', url, host, headers: { host } });

/** The body the client got: the stored one on a hit, the origin's when it streamed to the client. */
async function bodyOf(
  cache: ReturnType<typeof createHttpCache>,
  host: string,
  url: string,
  source: ReturnType<typeof countingOrigin>,
): Promise<string> {
  const result = await cache.serve(request(host, url), source.origin);
  if (result.type === 'done') return source.last();
  if (result.type !== 'send') throw new Error(`expected a response, got ${result.type}`);
  return new TextDecoder().decode(result.response.body);
}

describe('engine key memo', () => {
  it('keeps one host’s entry from another’s and one target’s from another’s', async () => {
    const cache = createHttpCache({ ttl: 60 });
    const source = countingOrigin();
    const pairs: Array<[string, string]> = [
      ['a.test', '/x'],
      ['b.test', '/x'],
      ['a.test', '/y'],
      ['a.test:8080', '/x'],
      ['a.test', '/x?page=2'],
    ];
    const first = new Map<string, string>();
    for (const [host, url] of pairs) first.set(host + url, await bodyOf(cache, host, url, source));
    expect(source.calls()).toBe(pairs.length);
    // Twice more each: the second read fills the memo, the third goes through it.
    for (let round = 0; round < 2; round++) {
      for (const [host, url] of pairs) {
        expect(await bodyOf(cache, host, url, source)).toBe(first.get(host + url));
      }
    }
    expect(source.calls()).toBe(pairs.length);
    await cache.close();
  });

  it('still finds every entry after more URLs were hit than the memo holds', async () => {
    const cache = createHttpCache({ ttl: 60 });
    const source = countingOrigin();
    const urls = Array.from({ length: 1_500 }, (_, i) => `/items/${i}`);
    const first: string[] = [];
    for (const url of urls) first.push(await bodyOf(cache, 'api.test', url, source));
    for (let round = 0; round < 2; round++) {
      for (const [i, url] of urls.entries()) {
        expect(await bodyOf(cache, 'api.test', url, source)).toBe(first[i]);
      }
    }
    expect(source.calls()).toBe(urls.length);
    await cache.close();
  });
});
