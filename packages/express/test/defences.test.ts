import { describe, expect, it } from 'vitest';
import { rawGet, setup } from './harness.ts';

describe('cache poisoning defences', () => {
  it('a request with an unkeyed header that changes the response bypasses the cache and poisons nothing', async () => {
    const h = await setup((app, hit) => {
      app.get('/page', (req, res) => {
        hit('/page');
        const host = req.get('x-forwarded-host') ?? req.get('host');
        res.set('Cache-Control', 'public, max-age=60').send(`<script src="//${host}/app.js">`);
      });
    });
    const attack = await h.get('/page', { 'x-forwarded-host': 'evil.example' });
    expect(await attack.text()).toContain('evil.example');
    expect(attack.headers.get('cache-status')).toContain('detail=unkeyed-header');
    const victim = await h.get('/page');
    expect(await victim.text()).not.toContain('evil.example');
    expect(await (await h.get('/page')).text()).not.toContain('evil.example');
    expect(h.count('/page')).toBe(2);
    for (const name of [
      'x-original-url',
      'x-rewrite-url',
      'x-http-method-override',
      'x-forwarded-scheme',
    ]) {
      const r = await h.get('/page', { [name]: 'x' });
      expect(r.headers.get('cache-status'), name).toContain('detail=unkeyed-header');
    }
  });

  it('a rule that keys on the header caches per value; a rule may switch the defence off', async () => {
    const h = await setup(
      (app, hit) => {
        app.get('/keyed', (req, res) => {
          hit('/keyed');
          res.set('Cache-Control', 'max-age=60').send(String(req.get('x-forwarded-proto')));
        });
      },
      { route: { varyHeaders: ['x-forwarded-proto'] } },
    );
    expect(await (await h.get('/keyed', { 'x-forwarded-proto': 'https' })).text()).toBe('https');
    expect(await (await h.get('/keyed', { 'x-forwarded-proto': 'http' })).text()).toBe('http');
    expect(await (await h.get('/keyed', { 'x-forwarded-proto': 'https' })).text()).toBe('https');
    expect(h.count('/keyed')).toBe(2);

    const off = await setup(
      (app, hit) => {
        app.get('/off', (_req, res) => {
          res.set('Cache-Control', 'max-age=60').send(String(hit('/off')));
        });
      },
      { route: { poisoningDefence: false } },
    );
    await off.get('/off', { 'x-forwarded-proto': 'https' });
    expect(await (await off.get('/off', { 'x-forwarded-proto': 'https' })).text()).toBe('1');
  });

  it('ignored query parameters never reach the origin, so they cannot change a shared response', async () => {
    const seen: string[] = [];
    const h = await setup(
      (app, hit) => {
        app.get('/q', (req, res) => {
          seen.push(req.url);
          res.set('Cache-Control', 'max-age=60').send(`${JSON.stringify(req.query)}:${hit('/q')}`);
        });
      },
      { queryIgnore: ['utm_*', 'callback'] },
    );
    const first = await h.get('/q?id=1&callback=alert(1)&utm_source=x');
    expect(await first.text()).toBe('{"id":"1"}:1');
    expect(seen).toEqual(['/q?id=1']);
    expect(await (await h.get('/q?id=1')).text()).toBe('{"id":"1"}:1');
  });

  it('GET with a body, oversized URLs and oversized header sections bypass the cache', async () => {
    const h = await setup(
      (app, hit) => {
        app.get(/.*/, (_req, res) => {
          res.set('Cache-Control', 'max-age=60').send(String(hit('x')));
        });
      },
      { maxUrlLength: 100, maxRequestHeaderBytes: 2048 },
    );
    const withBody = await new Promise<string | null>((resolve, reject) => {
      import('node:http')
        .then(({ request }) => {
          const req = request(
            h.base + '/b',
            { method: 'GET', headers: { 'content-length': '5' } },
            (res) => {
              res.resume();
              res.on('end', () =>
                resolve((res.headers['cache-status'] as string | undefined) ?? null),
              );
            },
          );
          req.on('error', reject);
          req.end('hello');
        })
        .catch(reject);
    });
    expect(withBody).toContain('detail=request-body');
    expect((await h.get('/' + 'a'.repeat(200))).headers.get('cache-status')).toContain(
      'detail=url-too-long',
    );
    expect(
      (await h.get('/h', { 'x-big': 'v'.repeat(3000) })).headers.get('cache-status'),
    ).toContain('detail=headers-too-large');
  });
});

describe('web cache deception defences', () => {
  it('a private page requested under a static-looking path is not stored for others', async () => {
    const h = await setup((app, hit) => {
      // A route that ignores what follows, as many do: /account/anything → the account page.
      app.get(/^\/account(\/.*)?$/, (req, res) => {
        hit('/account');
        res
          .type('html')
          .set('Cache-Control', 'max-age=60')
          .send(`<h1>${req.get('x-user') ?? 'anon'}</h1>`);
      });
      app.get('/static/app.css', (_req, res) => {
        hit('/static/app.css');
        res.type('css').set('Cache-Control', 'max-age=60').send('body{}');
      });
    });
    const victim = await h.get('/account/settings.css', { 'x-user': 'alice' });
    expect(victim.headers.get('cache-status')).toContain('detail=deception');
    const attacker = await h.get('/account/settings.css');
    expect(await attacker.text()).toBe('<h1>anon</h1>');
    // Legitimate static files are still cached.
    await h.get('/static/app.css');
    const css = await h.get('/static/app.css');
    expect(css.headers.get('cache-status')).toContain('hit');
    expect(h.count('/static/app.css')).toBe(1);
  });
});

describe('tenant isolation', () => {
  it('tenants never share entries, and one tenant\u2019s purge leaves the others alone', async () => {
    const h = await setup(
      (app, hit) => {
        app.get('/data', (req, res) => {
          res
            .set('Cache-Control', 'max-age=60')
            .send(`${req.get('x-tenant-id')}:${hit(String(req.get('x-tenant-id')))}`);
        });
        app.post('/data', (_req, res) => {
          res.send('ok');
        });
      },
      {
        tenant: (req) =>
          typeof req.headers['x-tenant-id'] === 'string' ? req.headers['x-tenant-id'] : undefined,
      },
    );
    expect(await (await h.get('/data', { 'x-tenant-id': 'a' })).text()).toBe('a:1');
    expect(await (await h.get('/data', { 'x-tenant-id': 'b' })).text()).toBe('b:1');
    expect(await (await h.get('/data', { 'x-tenant-id': 'a' })).text()).toBe('a:1');
    await rawGet(h.base + '/data', { 'x-tenant-id': 'a' }, 'POST');
    expect(await (await h.get('/data', { 'x-tenant-id': 'a' })).text()).toBe('a:2');
    expect(await (await h.get('/data', { 'x-tenant-id': 'b' })).text()).toBe('b:1');
  });
});
