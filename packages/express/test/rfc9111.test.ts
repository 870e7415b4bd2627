import { describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { setup } from './harness.ts';

const httpDate = (ms: number): string => new Date(ms).toUTCString();

describe('§3 storing responses', () => {
  it('stores a fresh GET response and serves it without calling the origin again', async () => {
    const h = await setup((app, hit) => {
      app.get('/items', (_req, res) => {
        res.set('Cache-Control', 'max-age=60').json({ n: hit('/items') });
      });
    });
    const first = await h.get('/items');
    expect(first.headers.get('cache-status')).toBe('gatecache; fwd=uri-miss; stored; ttl=60');
    expect(await first.json()).toEqual({ n: 1 });
    const second = await h.get('/items');
    expect(await second.json()).toEqual({ n: 1 });
    expect(second.headers.get('cache-status')).toMatch(/^gatecache; hit; ttl=(59|60)$/);
    expect(second.headers.get('age')).toBe('0');
    expect(h.count('/items')).toBe(1);
  });

  it('never stores no-store responses', async () => {
    const h = await setup((app, hit) => {
      app.get('/x', (_req, res) => {
        res.set('Cache-Control', 'no-store, max-age=60').send(String(hit('/x')));
      });
    });
    await h.get('/x');
    const second = await h.get('/x');
    expect(await second.text()).toBe('2');
    expect(second.headers.get('cache-status')).toContain('detail=no-store');
  });

  it('does not store a response without explicit or heuristic freshness', async () => {
    const h = await setup((app, hit) => {
      app.get('/plain', (_req, res) => {
        res.send(String(hit('/plain')));
      });
    });
    await h.get('/plain');
    expect(await (await h.get('/plain')).text()).toBe('2');
  });

  it('applies the ttl option to responses that carry no freshness of their own', async () => {
    const h = await setup(
      (app, hit) => {
        app.get('/plain', (_req, res) => {
          res.send(String(hit('/plain')));
        });
        app.get('/explicit', (_req, res) => {
          res.set('Cache-Control', 'max-age=5').send(String(hit('/explicit')));
        });
      },
      { ttl: 60 },
    );
    await h.get('/plain');
    await h.get('/explicit');
    h.clock.advance(10_000);
    expect(await (await h.get('/plain')).text()).toBe('1');
    // The origin's own max-age wins over the option.
    expect(await (await h.get('/explicit')).text()).toBe('2');
  });

  it('does not store 5xx responses or errors thrown by handlers', async () => {
    const h = await setup(
      (app, hit) => {
        app.get('/boom', (_req, res) => {
          res
            .status(503)
            .set('Cache-Control', 'max-age=60')
            .send(String(hit('/boom')));
        });
        app.get('/throw', () => {
          hit('/throw');
          throw new Error('handler failed');
        });
      },
      { ttl: 60 },
    );
    await h.get('/boom');
    const again = await h.get('/boom');
    expect(again.status).toBe(503);
    expect(h.count('/boom')).toBe(2);
    expect((await h.get('/throw')).status).toBe(500);
    expect((await h.get('/throw')).status).toBe(500);
    expect(h.count('/throw')).toBe(2);
  });

  it('stores private responses only per user, and only when a user is known', async () => {
    const h = await setup(
      (app, hit) => {
        app.get('/me', (req, res) => {
          res
            .set('Cache-Control', 'private, max-age=60')
            .send(`${req.get('x-user') ?? 'anon'}:${hit('/me')}`);
        });
      },
      { partitionBy: (req) => req.get('x-user') },
    );
    expect(await (await h.get('/me', { 'x-user': 'alice' })).text()).toBe('alice:1');
    expect(await (await h.get('/me', { 'x-user': 'bob' })).text()).toBe('bob:2');
    expect(await (await h.get('/me', { 'x-user': 'alice' })).text()).toBe('alice:1');
    expect(await (await h.get('/me', { 'x-user': 'bob' })).text()).toBe('bob:2');
    expect(await (await h.get('/me')).text()).toBe('anon:3');
    expect(await (await h.get('/me')).text()).toBe('anon:4');
  });

  it('§3.5: a response to an authorized request is shared only with public, s-maxage or must-revalidate', async () => {
    const h = await setup((app, hit) => {
      app.get('/auth-plain', (req, res) => {
        res
          .set('Cache-Control', 'max-age=60')
          .send(`${req.get('authorization')}:${hit('/auth-plain')}`);
      });
      app.get('/auth-public', (_req, res) => {
        res.set('Cache-Control', 'public, max-age=60').send(String(hit('/auth-public')));
      });
      app.get('/auth-smaxage', (_req, res) => {
        res.set('Cache-Control', 's-maxage=60').send(String(hit('/auth-smaxage')));
      });
    });
    await h.get('/auth-plain', { authorization: 'Bearer a' });
    const other = await h.get('/auth-plain', { authorization: 'Bearer b' });
    expect(await other.text()).toBe('Bearer b:2');
    expect(other.headers.get('cache-status')).toContain('detail=authorization');
    await h.get('/auth-public', { authorization: 'Bearer a' });
    expect(await (await h.get('/auth-public', { authorization: 'Bearer b' })).text()).toBe('1');
    await h.get('/auth-smaxage', { authorization: 'Bearer a' });
    expect(await (await h.get('/auth-smaxage')).text()).toBe('1');
  });

  it('does not store Set-Cookie responses unless a route allows it, then without the cookie', async () => {
    const h = await setup((app, hit) => {
      app.get('/cookie', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=60')
          .cookie('sid', 'secret')
          .send(String(hit('/cookie')));
      });
    });
    await h.get('/cookie');
    const second = await h.get('/cookie');
    expect(await second.text()).toBe('2');
    expect(second.headers.get('cache-status')).toContain('detail=set-cookie');

    const allowed = await setup(
      (app, hit) => {
        app.get('/cookie', (_req, res) => {
          res
            .set('Cache-Control', 'max-age=60')
            .cookie('sid', 'secret')
            .send(String(hit('/cookie')));
        });
      },
      { route: { storeSetCookie: true } },
    );
    const first = await allowed.get('/cookie');
    expect(first.headers.get('set-cookie')).toContain('sid=secret');
    const hit = await allowed.get('/cookie');
    expect(await hit.text()).toBe('1');
    expect(hit.headers.get('set-cookie')).toBeNull();
  });

  it('§5.2.2.4/§5.2.2.7: qualified no-cache and private strip the named fields from the stored copy', async () => {
    const h = await setup((app, hit) => {
      app.get('/q', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=60, no-cache="set-cookie", private="x-user-secret"')
          .set('X-User-Secret', 'alice')
          .cookie('sid', 'abc')
          .send(String(hit('/q')));
      });
    });
    const first = await h.get('/q');
    expect(first.headers.get('x-user-secret')).toBe('alice');
    const second = await h.get('/q');
    expect(await second.text()).toBe('1');
    expect(second.headers.get('set-cookie')).toBeNull();
    expect(second.headers.get('x-user-secret')).toBeNull();
  });

  it('does not store Vary: *', async () => {
    const h = await setup((app, hit) => {
      app.get('/star', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=60')
          .set('Vary', '*')
          .send(String(hit('/star')));
      });
    });
    await h.get('/star');
    expect(await (await h.get('/star')).text()).toBe('2');
  });

  it('does not store bodies over maxBodyBytes but still delivers them whole', async () => {
    const big = 'x'.repeat(4096);
    const h = await setup(
      (app, hit) => {
        app.get('/big', (_req, res) => {
          hit('/big');
          res.set('Cache-Control', 'max-age=60').send(big);
        });
      },
      { maxBodyBytes: 1024 },
    );
    expect(await (await h.get('/big')).text()).toBe(big);
    const second = await h.get('/big');
    expect(await second.text()).toBe(big);
    expect(h.count('/big')).toBe(2);
    expect(second.headers.get('cache-status')).toContain('detail=too-large');
  });
});

describe('§4.2 freshness', () => {
  it('s-maxage wins over max-age for a shared cache', async () => {
    const h = await setup((app, hit) => {
      app.get('/s', (_req, res) => {
        res.set('Cache-Control', 'max-age=1, s-maxage=100').send(String(hit('/s')));
      });
    });
    await h.get('/s');
    h.clock.advance(50_000);
    expect(await (await h.get('/s')).text()).toBe('1');
    h.clock.advance(60_000);
    await h.get('/s');
    expect(h.count('/s')).toBe(2);
  });

  it('max-age wins over Expires, and Expires counts from Date', async () => {
    const h = await setup((app, hit) => {
      app.get('/both', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=10')
          .set('Expires', httpDate(Date.now() + 1_000_000))
          .send(String(hit('/both')));
      });
      app.get('/expires', (_req, res) => {
        const now = Date.now();
        res
          .set('Date', httpDate(now))
          .set('Expires', httpDate(now + 30_000))
          .send(String(hit('/expires')));
      });
    });
    await h.get('/both');
    await h.get('/expires');
    h.clock.advance(20_000);
    await h.get('/both');
    expect(h.count('/both')).toBe(2);
    expect(await (await h.get('/expires')).text()).toBe('1');
    h.clock.advance(15_000);
    await h.get('/expires');
    expect(h.count('/expires')).toBe(2);
  });

  it('§5.3: Expires: 0 and an invalid Expires mean already stale', async () => {
    const h = await setup((app, hit) => {
      app.get('/zero', (_req, res) => {
        res
          .set('Expires', '0')
          .set('ETag', '"z"')
          .send(String(hit('/zero')));
      });
    });
    await h.get('/zero');
    await h.get('/zero');
    expect(h.count('/zero')).toBe(2);
  });

  it('§4.2.1: conflicting duplicate max-age lines mean stale; two Expires lines mean stale', async () => {
    const h = await setup((app, hit) => {
      app.get('/dup', (_req, res) => {
        res.setHeader('Cache-Control', ['max-age=60', 'max-age=3600']);
        res.set('ETag', '"d"').send(String(hit('/dup')));
      });
      app.get('/dup-expires', (_req, res) => {
        res.setHeader('Expires', [httpDate(Date.now() + 60_000), httpDate(Date.now() + 90_000)]);
        res.set('ETag', '"e"').send(String(hit('/dup-expires')));
      });
      app.get('/same', (_req, res) => {
        res.setHeader('Cache-Control', ['max-age=60', 'max-age=60']);
        res.send(String(hit('/same')));
      });
    });
    await h.get('/dup');
    await h.get('/dup');
    expect(h.count('/dup')).toBe(2);
    await h.get('/dup-expires');
    await h.get('/dup-expires');
    expect(h.count('/dup-expires')).toBe(2);
    await h.get('/same');
    await h.get('/same');
    expect(h.count('/same')).toBe(1);
  });

  it('§1.2.2: an overflowing max-age clamps to 2^31 seconds rather than failing', async () => {
    const h = await setup((app, hit) => {
      app.get('/huge', (_req, res) => {
        res.set('Cache-Control', 'max-age=99999999999999999999').send(String(hit('/huge')));
      });
    });
    const first = await h.get('/huge');
    expect(first.headers.get('cache-status')).toContain('ttl=2147483648');
    h.clock.advance(365 * 86_400_000);
    expect(await (await h.get('/huge')).text()).toBe('1');
  });

  it('§4.2.1: an invalid max-age means stale', async () => {
    const h = await setup((app, hit) => {
      app.get('/bad', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=soon')
          .set('ETag', '"b"')
          .send(String(hit('/bad')));
      });
    });
    await h.get('/bad');
    await h.get('/bad');
    expect(h.count('/bad')).toBe(2);
  });

  it('§4.2.2: heuristic freshness is 10% of the time since Last-Modified, for heuristically cacheable codes', async () => {
    const h = await setup((app, hit) => {
      app.get('/lm', (_req, res) => {
        const now = Date.now();
        res
          .set('Date', httpDate(now))
          .set('Last-Modified', httpDate(now - 1000_000))
          .send(String(hit('/lm')));
      });
      app.get('/lm-201', (_req, res) => {
        res
          .status(201)
          .set('Last-Modified', httpDate(Date.now() - 1000_000))
          .send(String(hit('/lm-201')));
      });
    });
    const first = await h.get('/lm');
    expect(first.headers.get('cache-status')).toContain('ttl=100');
    h.clock.advance(90_000);
    expect(await (await h.get('/lm')).text()).toBe('1');
    await h.get('/lm-201');
    await h.get('/lm-201');
    expect(h.count('/lm-201')).toBe(2);
  });

  it('§4.2.3: Age is sent on every hit and grows with resident time and the origin Age', async () => {
    const h = await setup((app, hit) => {
      app.get('/age', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=100')
          .set('Age', '10')
          .send(String(hit('/age')));
      });
    });
    await h.get('/age');
    h.clock.advance(30_000);
    const r = await h.get('/age');
    expect(Number(r.headers.get('age'))).toBeGreaterThanOrEqual(40);
    expect(Number(r.headers.get('age'))).toBeLessThan(43);
    h.clock.advance(65_000);
    await h.get('/age');
    expect(h.count('/age')).toBe(2);
  });

  it('§5.1: a list-valued Age uses its first member; an invalid Age is ignored', async () => {
    const h = await setup((app, hit) => {
      app.get('/age-list', (_req, res) => {
        res.setHeader('Age', ['50', '5']);
        res.set('Cache-Control', 'max-age=60').send(String(hit('/age-list')));
      });
      app.get('/age-bad', (_req, res) => {
        res
          .set('Age', 'old')
          .set('Cache-Control', 'max-age=60')
          .send(String(hit('/age-bad')));
      });
    });
    const first = await h.get('/age-list');
    // Stored with 50 s of age already: 10 s of freshness left.
    expect(first.headers.get('cache-status')).toContain('stored');
    h.clock.advance(15_000);
    await h.get('/age-list');
    expect(h.count('/age-list')).toBe(2);
    await h.get('/age-bad');
    h.clock.advance(30_000);
    expect(await (await h.get('/age-bad')).text()).toBe('1');
  });
});

describe('§5.2.1 request directives', () => {
  const route = (path: string, cc = 'max-age=100') =>
    function routes(app: Express, hit: (p: string) => number): void {
      app.get(path, (_req, res) => {
        res
          .set('Cache-Control', cc)
          .set('ETag', `"v${hit(path)}"`)
          .send(`body`);
      });
    };

  it('no-cache revalidates with the origin before reuse', async () => {
    const h = await setup(route('/r'));
    await h.get('/r');
    const r = await h.get('/r', { 'cache-control': 'no-cache' });
    expect(r.headers.get('cache-status')).toContain('fwd=request');
    expect(h.count('/r')).toBe(2);
  });

  it('Pragma: no-cache counts only without Cache-Control', async () => {
    const h = await setup(route('/p'));
    await h.get('/p');
    await h.get('/p', { pragma: 'no-cache' });
    expect(h.count('/p')).toBe(2);
    await h.get('/p', { pragma: 'no-cache', 'cache-control': 'max-stale=5' });
    expect(h.count('/p')).toBe(2);
  });

  it('no-store in the request forwards and stores nothing', async () => {
    const h = await setup(route('/ns'));
    await h.get('/ns', { 'cache-control': 'no-store' });
    await h.get('/ns');
    expect(h.count('/ns')).toBe(2);
  });

  it('max-age limits the acceptable age; min-fresh asks for remaining freshness', async () => {
    const h = await setup(route('/m'));
    await h.get('/m');
    h.clock.advance(30_000);
    await h.get('/m', { 'cache-control': 'max-age=60' });
    expect(h.count('/m')).toBe(1);
    await h.get('/m', { 'cache-control': 'max-age=10' });
    expect(h.count('/m')).toBe(2);
    h.clock.advance(50_000);
    await h.get('/m', { 'cache-control': 'min-fresh=90' });
    expect(h.count('/m')).toBe(3);
  });

  it('max-stale accepts a stale entry, unless must-revalidate forbids it (§4.2.4)', async () => {
    const h = await setup((app, hit) => {
      app.get('/ms', (_req, res) => {
        res.set('Cache-Control', 'max-age=10').send(String(hit('/ms')));
      });
      app.get('/mr', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=10, must-revalidate')
          .set('ETag', '"x"')
          .send(String(hit('/mr')));
      });
    });
    await h.get('/ms');
    await h.get('/mr');
    h.clock.advance(20_000);
    const stale = await h.get('/ms', { 'cache-control': 'max-stale=60' });
    expect(await stale.text()).toBe('1');
    expect(stale.headers.get('cache-status')).toContain('ttl=-10');
    await h.get('/ms', { 'cache-control': 'max-stale=5' });
    expect(h.count('/ms')).toBe(1 + 0 + 0 + 1 - 1 + 1);
    await h.get('/mr', { 'cache-control': 'max-stale' });
    expect(h.count('/mr')).toBe(2);
  });

  it('only-if-cached answers 504 when nothing usable is stored, and serves what is', async () => {
    const h = await setup(route('/o'));
    const miss = await h.get('/o', { 'cache-control': 'only-if-cached' });
    expect(miss.status).toBe(504);
    expect(h.count('/o')).toBe(0);
    await h.get('/o');
    const hit = await h.get('/o', { 'cache-control': 'only-if-cached' });
    expect(hit.status).toBe(200);
    expect(h.count('/o')).toBe(1);
  });

  it('ignoreRequestCacheControl lets a gateway protect its origin from client directives', async () => {
    const h = await setup(route('/ig'), { ignoreRequestCacheControl: true });
    await h.get('/ig');
    await h.get('/ig', { 'cache-control': 'no-cache' });
    await h.get('/ig', { 'cache-control': 'no-store' });
    expect(h.count('/ig')).toBe(1);
  });

  it('unknown request and response directives are ignored, never a reason to bypass', async () => {
    const h = await setup(route('/u', 'max-age=100, x-vendor-thing=3, community="UCI"'));
    await h.get('/u', { 'cache-control': 'x-whatever, max-stale=zz' });
    await h.get('/u', { 'cache-control': 'x-whatever' });
    expect(h.count('/u')).toBe(1);
  });
});

describe('§4.3 validation', () => {
  it('revalidates a stale entry with its validator and a 304 refreshes the stored headers (§4.3.4)', async () => {
    const seen: Array<string | undefined> = [];
    const h = await setup((app, hit) => {
      app.get('/v', (req, res) => {
        const n = hit('/v');
        seen.push(req.get('if-none-match'));
        res.set('Cache-Control', 'max-age=10').set('ETag', '"v1"').set('X-Version', String(n));
        if (req.get('if-none-match') === '"v1"') {
          res.status(304).end();
          return;
        }
        res.send('payload');
      });
    });
    await h.get('/v');
    h.clock.advance(20_000);
    const r = await h.get('/v');
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('payload');
    expect(r.headers.get('x-version')).toBe('2');
    expect(r.headers.get('cache-status')).toContain('fwd=stale; fwd-status=304');
    expect(seen).toEqual([undefined, '"v1"']);
    const again = await h.get('/v');
    expect(again.headers.get('cache-status')).toMatch(/hit/);
    expect(h.count('/v')).toBe(2);
  });

  it('revalidates with If-Modified-Since when there is no ETag, and a 200 replaces the entry', async () => {
    const lm = httpDate(Date.now() - 3600_000);
    const seen: Array<string | undefined> = [];
    const h = await setup(
      (app, hit) => {
        app.get('/lm', (req, res) => {
          const n = hit('/lm');
          seen.push(req.get('if-modified-since'));
          // end(), not send(): Express would add an ETag of its own.
          res.set('Cache-Control', 'max-age=10').set('Last-Modified', lm).end(`v${n}`);
        });
      },
      { etag: false },
    );
    await h.get('/lm');
    h.clock.advance(20_000);
    expect(await (await h.get('/lm')).text()).toBe('v2');
    expect(seen[1]).toBe(lm);
    expect(await (await h.get('/lm')).text()).toBe('v2');
    expect(h.count('/lm')).toBe(2);
  });

  it('a response with unqualified no-cache is stored but validated on every reuse', async () => {
    const h = await setup((app, hit) => {
      app.get('/nc', (req, res) => {
        hit('/nc');
        res.set('Cache-Control', 'no-cache').set('ETag', '"nc"');
        if (req.get('if-none-match') === '"nc"') res.status(304).end();
        else res.send('full body');
      });
    });
    await h.get('/nc');
    const r = await h.get('/nc');
    expect(await r.text()).toBe('full body');
    expect(r.headers.get('cache-status')).toContain('fwd-status=304');
    expect(h.count('/nc')).toBe(2);
  });

  it('never sends a cache-generated ETag to the origin as a validator', async () => {
    const seen: Array<string | undefined> = [];
    const h = await setup((app, hit) => {
      app.get('/gen', (req, res) => {
        seen.push(req.get('if-none-match'));
        res.set('Cache-Control', 'max-age=10').set('Last-Modified', httpDate(Date.now() - 10_000));
        res.end(`n${hit('/gen')}`);
      });
    });
    const first = await h.get('/gen');
    expect(first.headers.get('etag')).toMatch(/^"[0-9a-f]+-/);
    h.clock.advance(20_000);
    await h.get('/gen');
    expect(seen[1]).toBeUndefined();
  });
});

describe('conditional requests answered by the cache', () => {
  it('generates an ETag like the etag package and answers If-None-Match with 304', async () => {
    const { default: etag } = await import('etag');
    const h = await setup((app, hit) => {
      app.get('/e', (_req, res) => {
        hit('/e');
        res.set('Cache-Control', 'max-age=60').end('hello world');
      });
    });
    const first = await h.get('/e');
    const tag = first.headers.get('etag')!;
    expect(tag).toBe(etag(Buffer.from('hello world')));
    for (const inm of [tag, `W/${tag}`, `"nope", ${tag}`, '*']) {
      const r = await h.get('/e', { 'if-none-match': inm });
      expect(r.status).toBe(304);
      expect(r.headers.get('etag')).toBe(tag);
      expect(r.headers.get('age')).not.toBeNull();
    }
    expect((await h.get('/e', { 'if-none-match': '"other"' })).status).toBe(200);
    expect(h.count('/e')).toBe(1);
  });

  it('answers If-Modified-Since from Last-Modified when no If-None-Match is sent', async () => {
    const lm = httpDate(Date.now() - 60_000);
    const h = await setup((app, hit) => {
      app.get('/ims', (_req, res) => {
        hit('/ims');
        res.set('Cache-Control', 'max-age=60').set('Last-Modified', lm).send('x');
      });
    });
    await h.get('/ims');
    expect((await h.get('/ims', { 'if-modified-since': lm })).status).toBe(304);
    expect(
      (await h.get('/ims', { 'if-modified-since': httpDate(Date.now() - 120_000) })).status,
    ).toBe(200);
    expect(
      (await h.get('/ims', { 'if-modified-since': lm, 'if-none-match': '"other"' })).status,
    ).toBe(200);
  });

  it('answers a conditional miss with 304 after filling the cache from a full origin response', async () => {
    const seen: Array<string | undefined> = [];
    const h = await setup((app, hit) => {
      app.get('/fill', (req, res) => {
        seen.push(req.get('if-none-match'));
        hit('/fill');
        res.set('Cache-Control', 'max-age=60').set('ETag', '"f1"').send('full');
      });
    });
    const r = await h.get('/fill', { 'if-none-match': '"f1"' });
    expect(r.status).toBe(304);
    // The client's validator was not forwarded: the origin sent the full body, now stored.
    expect(seen).toEqual([undefined]);
    const full = await h.get('/fill');
    expect(await full.text()).toBe('full');
    expect(h.count('/fill')).toBe(1);
  });

  it('the option etag: false turns generated tags off', async () => {
    const h = await setup(
      (app) => {
        app.get('/noetag', (_req, res) => {
          res.set('Cache-Control', 'max-age=60').end('x');
        });
      },
      { etag: false },
    );
    await h.get('/noetag');
    expect((await h.get('/noetag')).headers.get('etag')).toBeNull();
  });
});

describe('§4.1 Vary', () => {
  it('selects variants by the request fields Vary names; absent only matches absent', async () => {
    const h = await setup((app, hit) => {
      app.get('/lang', (req, res) => {
        hit('/lang');
        res
          .set('Cache-Control', 'max-age=60')
          .set('Vary', 'Accept-Language')
          .send(req.get('x-lang-probe') ?? req.get('accept-language') ?? 'none');
      });
    });
    const en = await h.get('/lang', { 'accept-language': 'en' });
    expect(await en.text()).toBe('en');
    const fr = await h.get('/lang', { 'accept-language': 'fr' });
    expect(await fr.text()).toBe('fr');
    expect(fr.headers.get('cache-status')).toContain('fwd=vary-miss');
    expect(await (await h.get('/lang', { 'accept-language': 'en' })).text()).toBe('en');
    expect(await (await h.get('/lang', { 'accept-language': 'fr' })).text()).toBe('fr');
    expect(h.count('/lang')).toBe(2);
  });

  it('normalizes whitespace in list values when selecting', async () => {
    const h = await setup((app, hit) => {
      app.get('/enc', (req, res) => {
        hit('/enc');
        res
          .set('Cache-Control', 'max-age=60')
          .set('Vary', 'X-Probe')
          .send(req.get('x-probe') ?? '');
      });
    });
    await h.get('/enc', { 'x-probe': 'a,b' });
    await h.get('/enc', { 'x-probe': 'a ,  b' });
    expect(h.count('/enc')).toBe(1);
  });
});

describe('§4.4 invalidation by unsafe methods', () => {
  it('a successful POST invalidates the target URI, and same-origin Location and Content-Location', async () => {
    const h = await setup((app, hit) => {
      app.get('/list', (_req, res) => {
        res.set('Cache-Control', 'max-age=60').send(String(hit('/list')));
      });
      app.get('/item/1', (_req, res) => {
        res.set('Cache-Control', 'max-age=60').send(String(hit('/item/1')));
      });
      app.get('/other', (_req, res) => {
        res.set('Cache-Control', 'max-age=60').send(String(hit('/other')));
      });
      app.post('/list', (_req, res) => {
        res
          .status(201)
          .set('Location', '/item/1')
          .set('Content-Location', 'http://elsewhere.example/other')
          .send('ok');
      });
      app.delete('/list', (_req, res) => {
        res.status(500).send('failed');
      });
    });
    for (const p of ['/list', '/item/1', '/other']) await h.get(p);
    const post = await fetch(h.base + '/list', { method: 'POST' });
    expect(post.headers.get('cache-status')).toContain('fwd=method');
    for (const p of ['/list', '/item/1', '/other']) await h.get(p);
    expect(h.count('/list')).toBe(2);
    expect(h.count('/item/1')).toBe(2);
    expect(h.count('/other')).toBe(1);
    // An error response invalidates nothing.
    await fetch(h.base + '/list', { method: 'DELETE' });
    await h.get('/list');
    expect(h.count('/list')).toBe(2);
  });
});

describe('RFC 9213 targeted cache control', () => {
  it('obeys CDN-Cache-Control and the gateway field ahead of Cache-Control', async () => {
    const h = await setup((app, hit) => {
      app.get('/cdn', (_req, res) => {
        res
          .set('Cache-Control', 'no-store')
          .set('CDN-Cache-Control', 'max-age=60')
          .send(String(hit('/cdn')));
      });
      app.get('/gw', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=600')
          .set('CDN-Cache-Control', 'max-age=600')
          .set('Gatecache-Cache-Control', 'no-store')
          .send(String(hit('/gw')));
      });
    });
    await h.get('/cdn');
    const r = await h.get('/cdn');
    expect(await r.text()).toBe('1');
    // The origin's fields pass through unchanged.
    expect(r.headers.get('cache-control')).toBe('no-store');
    await h.get('/gw');
    await h.get('/gw');
    expect(h.count('/gw')).toBe(2);
  });
});

describe('transparency (§3.1)', () => {
  it('passes origin header fields through unchanged, duplicates included, adding only Age, Cache-Status and ETag', async () => {
    const h = await setup((app, hit) => {
      app.get('/t', (_req, res) => {
        hit('/t');
        res.setHeader('X-Multi', ['one', 'two']);
        res
          .set('Cache-Control', 'public, max-age=60, x-ext')
          .set('Content-Type', 'text/plain; charset=utf-8');
        res.end('t');
      });
    });
    const first = await h.get('/t');
    const second = await h.get('/t');
    for (const r of [first, second]) {
      expect(r.headers.get('x-multi')).toBe('one, two');
      expect(r.headers.get('cache-control')).toBe('public, max-age=60, x-ext');
      expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    }
    const added = [...second.headers.keys()].filter((k) => !first.headers.has(k));
    expect(added.sort()).toEqual(['age']);
  });
});
