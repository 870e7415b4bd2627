import {
  GatecacheError,
  createMemoryStore,
  type CacheStore,
  type StoredRecord,
} from '@gatecache/core';
import express from 'express';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { listen } from '../../../test/support/http.ts';
import { httpCache } from '../src/index.ts';
import { rawGet, setup } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Express response styles', () => {
  it('caches res.json, res.send, res.write/res.end and piped streams byte for byte', async () => {
    const h = await setup((app, hit) => {
      app.get('/json', (_req, res) => {
        hit('/json');
        res.set('Cache-Control', 'max-age=60').json({ ok: true, text: 'héllo ✓' });
      });
      app.get('/chunks', (_req, res) => {
        hit('/chunks');
        res.set('Cache-Control', 'max-age=60').type('text/plain');
        res.write('a');
        setTimeout(() => {
          res.write(Buffer.from('b'));
          setTimeout(() => res.end('c'), 10);
        }, 10);
      });
      app.get('/stream', (_req, res) => {
        hit('/stream');
        res.set('Cache-Control', 'max-age=60').type('application/octet-stream');
        const bytes = Buffer.alloc(200_000);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
        Readable.from([bytes.subarray(0, 50_000), bytes.subarray(50_000)]).pipe(res);
      });
    });
    for (const path of ['/json', '/chunks', '/stream']) {
      const first = Buffer.from(await (await h.get(path)).arrayBuffer());
      const second = await h.get(path);
      expect(Buffer.from(await second.arrayBuffer()).equals(first)).toBe(true);
      expect(second.headers.get('cache-status')).toContain('hit');
      expect(h.count(path)).toBe(1);
    }
    const json = (await (await h.get('/json')).json()) as { text: string };
    expect(json.text).toBe('héllo ✓');
    expect(Buffer.from(await (await h.get('/stream')).arrayBuffer())[7]).toBe(49);
  });

  it('caches res.sendFile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatecache-'));
    const file = join(dir, 'data.txt');
    writeFileSync(file, 'file body\n');
    const h = await setup((app, hit) => {
      app.get('/file', (_req, res) => {
        hit('/file');
        res.sendFile(file, { maxAge: 60_000 });
      });
    });
    expect(await (await h.get('/file')).text()).toBe('file body\n');
    const second = await h.get('/file');
    expect(await second.text()).toBe('file body\n');
    expect(second.headers.get('cache-status')).toContain('hit');
    expect(h.count('/file')).toBe(1);
  });

  it('answers HEAD from a GET entry, and never stores the empty body of a HEAD miss', async () => {
    const h = await setup((app, hit) => {
      app.get('/h', (_req, res) => {
        hit('/h');
        res.set('Cache-Control', 'max-age=60').send('body for head');
      });
    });
    const headMiss = await rawGet(h.base + '/h', {}, 'HEAD');
    expect(headMiss.status).toBe(200);
    expect(await (await h.get('/h')).text()).toBe('body for head');
    const head = await rawGet(h.base + '/h', {}, 'HEAD');
    expect(head.headers.get('content-length')).toBe('13');
    expect(head.headers.get('cache-status')).toContain('hit');
    expect(h.count('/h')).toBe(2);
  });

  it('keeps fields set by earlier middleware per request, and never stores them', async () => {
    const h = await setup(
      (app, hit) => {
        app.get('/cors', (_req, res) => {
          hit('/cors');
          res.set('Cache-Control', 'max-age=60').send('c');
        });
      },
      {},
      (app) => {
        app.use((req, res, next) => {
          res.set('Access-Control-Allow-Origin', req.get('origin') ?? '*');
          next();
        });
      },
    );
    const a = await h.get('/cors', { origin: 'https://a.example' });
    expect(a.headers.get('access-control-allow-origin')).toBe('https://a.example');
    const b = await h.get('/cors', { origin: 'https://b.example' });
    expect(b.headers.get('cache-status')).toContain('hit');
    expect(b.headers.get('access-control-allow-origin')).toBe('https://b.example');
  });

  it('leaves request and response as the app knows them: own fields, locals, no extra keys', async () => {
    const seen: string[] = [];
    const h = await setup(
      (app, hit) => {
        app.get('/shape', (req, res) => {
          hit('/shape');
          const marked = req as typeof req & { user?: string };
          marked.user = 'u1';
          res.locals.view = 'shape';
          // The scratch fields the cache used on its way are not left on either object.
          const extra = [...Reflect.ownKeys(req), ...Reflect.ownKeys(res)].filter(
            (key) => typeof key === 'symbol' && String(key).includes('gatecache.scratch'),
          );
          seen.push(
            `${marked.user} ${String(res.locals.view)} ${typeof req.query.q === 'string' ? req.query.q : ''} ${extra.length}`,
          );
          res.set('Cache-Control', 'max-age=60').send(`${req.path} ${marked.user}`);
        });
      },
      {},
      (app) => {
        app.use((_req, res, next) => {
          res.locals.before = true;
          next();
        });
      },
    );
    const first = await h.get('/shape?q=1');
    expect(await first.text()).toBe('/shape u1');
    expect(seen).toEqual(['u1 shape 1 0']);
    const second = await h.get('/shape?q=1');
    expect(second.headers.get('cache-status')).toContain('hit');
    expect(await second.text()).toBe('/shape u1');
    expect(h.count('/shape')).toBe(1);
  });

  it('per-route use: only the route with the middleware is cached, with its own ttl', async () => {
    const calls = { a: 0, b: 0 };
    const app = express();
    app.get('/a', httpCache({ ttl: 60 }), (_req, res) => {
      res.send(String(++calls.a));
    });
    app.get('/b', (_req, res) => {
      res.send(String(++calls.b));
    });
    const { base, close } = await listen(createServer(app));
    try {
      await rawGet(base + '/a');
      await rawGet(base + '/b');
      expect(await (await rawGet(base + '/a')).text()).toBe('1');
      expect(await (await rawGet(base + '/b')).text()).toBe('2');
    } finally {
      await close();
    }
  });

  it('app-level and route-level middlewares on one engine do not cache twice', async () => {
    const shared = httpCache({ ttl: 60 });
    let calls = 0;
    const app = express();
    app.use(shared);
    app.get('/x', httpCache({ cache: shared.cache, ttl: 5 }), (_req, res) => {
      res.send(String(++calls));
    });
    const { base, close } = await listen(createServer(app));
    try {
      const first = await rawGet(base + '/x');
      expect(first.headers.get('cache-status')).toBe('gatecache; fwd=uri-miss; stored; ttl=60');
      expect(await (await rawGet(base + '/x')).text()).toBe('1');
    } finally {
      await close();
    }
  });
});

describe('incomplete responses are never stored', () => {
  it('an aborted stream is not stored', async () => {
    const h = await setup((app, hit) => {
      app.get('/abort', (_req, res) => {
        const n = hit('/abort');
        res.set('Cache-Control', 'max-age=60').set('Content-Length', '100');
        res.write('partial');
        if (n === 1) setTimeout(() => res.destroy(), 10);
        else res.end('x'.repeat(93));
      });
    });
    await expect(h.get('/abort')).rejects.toThrow();
    const second = await h.get('/abort');
    expect((await second.text()).length).toBe(100);
    expect(h.count('/abort')).toBe(2);
    expect(await (await h.get('/abort')).text()).toHaveLength(100);
    expect(h.count('/abort')).toBe(2);
  });

  it('a client that goes away mid-response leaves nothing stored', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = await setup((app, hit) => {
      app.get('/slow', (_req, res) => {
        const n = hit('/slow');
        res.set('Cache-Control', 'max-age=60');
        res.write('first ');
        if (n === 1) void gate.then(() => res.end('rest'));
        else res.end('rest');
      });
    });
    await new Promise<void>((resolve) => {
      const req = request(h.base + '/slow', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.end();
    });
    await sleep(20);
    release();
    await sleep(20);
    expect(await (await h.get('/slow')).text()).toBe('first rest');
    expect(h.count('/slow')).toBe(2);
  });

  it('a body shorter than its Content-Length is not stored', async () => {
    const h = await setup((app, hit) => {
      app.get('/short', (_req, res) => {
        const n = hit('/short');
        res.set('Cache-Control', 'max-age=60');
        if (n === 1) {
          res.set('Content-Length', '10');
          res.write('12345');
          res.destroy();
        } else res.send('1234567890');
      });
    });
    await h.get('/short').catch(() => undefined);
    await h.get('/short');
    expect(h.count('/short')).toBe(2);
  });
});

describe('coalescing', () => {
  it('50 concurrent cold requests make one origin call and all get the complete body', async () => {
    const h = await setup((app, hit) => {
      app.get('/cold', (_req, res) => {
        hit('/cold');
        setTimeout(() => res.set('Cache-Control', 'max-age=60').send('x'.repeat(10_000)), 50);
      });
    });
    const bodies = await Promise.all(
      Array.from({ length: 50 }, async () => (await h.get('/cold')).text()),
    );
    expect(h.count('/cold')).toBe(1);
    expect(bodies.every((b) => b.length === 10_000)).toBe(true);
  });

  it('a failed leader is never handed to waiters as a success', async () => {
    const h = await setup((app, hit) => {
      app.get('/flaky', (_req, res) => {
        const n = hit('/flaky');
        setTimeout(() => {
          if (n === 1) res.status(500).send('failed');
          else res.set('Cache-Control', 'max-age=60').send('ok');
        }, 30);
      });
    });
    const responses = await Promise.all(Array.from({ length: 10 }, () => h.get('/flaky')));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 500)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    expect(h.count('/flaky')).toBeGreaterThanOrEqual(2);
  });

  it('holds when the store loses the write: waiters get the leader\u2019s entry directly', async () => {
    const memory = createMemoryStore();
    const lossy: CacheStore = {
      name: 'lossy',
      get: (key) => memory.get(key),
      set: () => Promise.reject(new Error('write lost')),
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
    };
    const h = await setup(
      (app, hit) => {
        app.get('/lossy', (req, res) => {
          hit('/lossy');
          setTimeout(
            () =>
              res
                .set('Cache-Control', 'max-age=60')
                .set('Vary', 'Accept-Language')
                .send(`${req.get('accept-language')}`),
            40,
          );
        });
      },
      { store: lossy },
    );
    const en = Array.from({ length: 20 }, () => h.get('/lossy', { 'accept-language': 'en' }));
    const fr = Array.from({ length: 5 }, () => h.get('/lossy', { 'accept-language': 'fr' }));
    const bodies = await Promise.all([...en, ...fr].map(async (r) => (await r).text()));
    expect(bodies.slice(0, 20).every((b) => b === 'en')).toBe(true);
    // Another variant never receives the leader's body; it fetches its own.
    expect(bodies.slice(20).every((b) => b === 'fr')).toBe(true);
    expect(h.count('/lossy')).toBeLessThanOrEqual(3);
  });

  it('a client that leaves before the origin answers is not an error', async () => {
    const errors: unknown[] = [];
    const h = await setup((app, hit) => {
      app.get('/gone', (_req, res) => {
        hit('/gone');
        setTimeout(() => res.set('Cache-Control', 'max-age=60').send('late'), 80);
      });
      app.use(
        (
          error: unknown,
          _req: express.Request,
          res: express.Response,
          _next: express.NextFunction,
        ) => {
          errors.push(error);
          res.status(500).end();
        },
      );
    });
    await new Promise<void>((resolve) => {
      const req = request(h.base + '/gone');
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 20);
    });
    await sleep(150);
    expect(errors).toEqual([]);
    expect(h.count('/gone')).toBe(1);
  });

  it('uncacheable responses do not serialize concurrent requests behind each other', async () => {
    const h = await setup((app, hit) => {
      app.get('/private', (_req, res) => {
        hit('/private');
        setTimeout(() => res.set('Cache-Control', 'private').send('p'), 30);
      });
    });
    await Promise.all(Array.from({ length: 5 }, () => h.get('/private')));
    expect(h.count('/private')).toBe(5);
  });
});

describe('keys', () => {
  it('sorts query parameters, drops ignored ones, and keeps paths byte for byte', async () => {
    const h = await setup(
      (app, hit) => {
        app.get(/.*/, (req, res) => {
          res.set('Cache-Control', 'max-age=60').send(`${req.url}:${hit('all')}`);
        });
      },
      { queryIgnore: ['utm_*'] },
    );
    await h.get('/q?a=1&b=2');
    expect(await (await h.get('/q?b=2&a=1')).text()).toBe('/q?a=1&b=2:1');
    expect(await (await h.get('/q?a=1&utm_source=x&b=2')).text()).toBe('/q?a=1&b=2:1');
    expect(await (await h.get('/q?a=1&b=3')).text()).toBe('/q?a=1&b=3:2');
    expect(await (await h.get('/Q?a=1&b=2')).text()).toBe('/Q?a=1&b=2:3');
    expect(await (await h.get('/q/?a=1&b=2')).text()).toBe('/q/?a=1&b=2:4');
    expect(await (await h.get('/%71?a=1&b=2')).text()).toBe('/%71?a=1&b=2:5');
  });

  it('never puts a key over 250 characters, or a raw credential, into the store', async () => {
    const keys: string[] = [];
    const memory = createMemoryStore();
    const store: CacheStore = {
      name: 'spy',
      get: (key) => memory.get(key),
      set: (key, record: StoredRecord, ttl) => {
        keys.push(key);
        memory.set(key, record, ttl);
      },
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
    };
    const h = await setup(
      (app, hit) => {
        app.get(/.*/, (_req, res) => {
          res
            .set('Cache-Control', 'private, max-age=60')
            .set('Vary', 'Authorization')
            .send(String(hit('x')));
        });
      },
      { store, partitionBy: (req) => req.get('authorization') },
    );
    const long = '/long/' + 'segment/'.repeat(60);
    await h.get(long + '?access_token=supersecret', { authorization: 'Bearer topsecret-token' });
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key.length).toBeLessThanOrEqual(250);
      expect(key).not.toContain('topsecret');
      expect(key).not.toContain('supersecret');
      expect(key.startsWith('gc1:default:')).toBe(true);
    }
    await h.get(long + '?access_token=supersecret', { authorization: 'Bearer topsecret-token' });
    expect(h.count('x')).toBe(1);
    await h.get(long + '?access_token=other', { authorization: 'Bearer topsecret-token' });
    expect(h.count('x')).toBe(2);
  });

  it('keys on the Host, so two sites behind one gateway never share entries', async () => {
    const h = await setup((app, hit) => {
      app.get('/', (req, res) => {
        res.set('Cache-Control', 'max-age=60').send(`${req.hostname}:${hit('/')}`);
      });
    });
    expect(await (await h.get('/', { host: 'a.example' })).text()).toBe('a.example:1');
    expect(await (await h.get('/', { host: 'b.example' })).text()).toBe('b.example:2');
    expect(await (await h.get('/', { host: 'A.EXAMPLE' })).text()).toBe('a.example:1');
  });
});

describe('failure of the cache never fails a request', () => {
  it('a store that throws or hangs degrades to the origin', async () => {
    const broken: CacheStore = {
      name: 'broken',
      get: () => {
        throw new Error('down');
      },
      set: () => Promise.reject(new Error('down')),
      delete: () => undefined,
      clear: () => undefined,
    };
    const errors: unknown[] = [];
    const h = await setup(
      (app, hit) => {
        app.get('/s', (_req, res) => {
          res.set('Cache-Control', 'max-age=60').send(String(hit('/s')));
        });
      },
      { store: broken, onEvent: (e) => e.type === 'store-error' && errors.push(e.error) },
    );
    expect((await h.get('/s')).status).toBe(200);
    expect(await (await h.get('/s')).text()).toBe('2');
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a foreign or unknown-version record reads as a miss', async () => {
    const memory = createMemoryStore();
    const h = await setup(
      (app, hit) => {
        app.get('/f', (_req, res) => {
          res.set('Cache-Control', 'max-age=60').send(String(hit('/f')));
        });
      },
      { store: memory },
    );
    await h.get('/f');
    const [key] = [...memory.keys()];
    const record = memory.get(key!)!;
    memory.set(key!, { ...record, key: 'gc1:default:other' }, 60_000);
    expect(await (await h.get('/f')).text()).toBe('2');
    memory.set(key!, { ...record, v: 2 } as unknown as StoredRecord, 60_000);
    expect(await (await h.get('/f')).text()).toBe('3');
  });

  it('a throwing partition resolver is passed to the error handler, not swallowed', async () => {
    const h = await setup(
      (app) => {
        app.get('/p', (_req, res) => {
          res.send('never');
        });
      },
      {
        partitionBy: () => {
          throw new Error('resolver failed');
        },
      },
    );
    expect((await h.get('/p')).status).toBe(500);
  });
});

describe('options are validated once, with the option named', () => {
  it.each([
    [{ ttl: -1 }, 'ttl'],
    [{ maxBodyBytes: 0 }, 'maxBodyBytes'],
    [{ namespace: 'has space' }, 'namespace'],
    [{ queryIgnore: [''] }, 'queryIgnore'],
    [{ partitionBy: 'user' }, 'partitionBy'],
    [{ policy: 42 }, 'policy'],
    [{ cacheStatusName: 'a b' }, 'cacheStatusName'],
  ])('%j', (options, name) => {
    let error: unknown;
    try {
      httpCache(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GatecacheError);
    expect((error as GatecacheError).code).toBe('ERR_INVALID_OPTION');
    expect((error as Error).message).toContain(`"${name}"`);
    expect((error as Error).message.startsWith('[gatecache]')).toBe(true);
  });
});
