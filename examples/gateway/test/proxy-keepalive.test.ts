import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { computeIdleTimeoutMs } from '../src/upstream-agent.ts';
import { readBody, request, sleep, startGateway, startUpstream } from './helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

describe('computeIdleTimeoutMs', () => {
  it('retires sockets a margin before the announced Keep-Alive timeout', () => {
    expect(computeIdleTimeoutMs('timeout=5')).toBe(4_000);
    expect(computeIdleTimeoutMs('timeout=60, max=100')).toBe(59_000);
    expect(computeIdleTimeoutMs('max=100, timeout=2')).toBe(1_000);
    // A 1 s upstream still allows reuse, with half the time as margin.
    expect(computeIdleTimeoutMs('timeout=1')).toBe(500);
    expect(computeIdleTimeoutMs('timeout=0')).toBe(0);
  });

  it('falls back to the default idle time without a usable hint', () => {
    expect(computeIdleTimeoutMs(undefined)).toBe(4_000);
    expect(computeIdleTimeoutMs('max=5')).toBe(4_000);
    expect(computeIdleTimeoutMs(undefined, 2_500)).toBe(2_500);
  });
});

describe('upstream connection pool', () => {
  it('reuses one upstream connection for back-to-back requests', async () => {
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanup.push(() => upstream.close());
    const gw = await startGateway({ upstream: upstream.url, cache: false });
    cleanup.push(() => gw.close());
    for (let i = 0; i < 5; i++) expect((await request(`${gw.url}/n${i}`)).status).toBe(200);
    expect(upstream.connections()).toBe(1);
  });

  it('never reuses a socket the upstream is closing (keepAliveTimeout 1000 ms, requests ~1 s apart)', async () => {
    const upstream = await startUpstream((req, res) => {
      void readBody(req).then(() => res.end('ok'));
    });
    upstream.server.keepAliveTimeout = 1_000;
    cleanup.push(() => upstream.close());
    const gw = await startGateway({ upstream: upstream.url, cache: false });
    cleanup.push(() => gw.close());
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      // A POST is never retried, so a request that lands on a closing socket would fail here.
      statuses.push(
        (await request(`${gw.url}/tick`, { method: 'POST', body: `tick ${i}` })).status,
      );
      await sleep(1_000);
    }
    expect(statuses).toEqual([200, 200, 200, 200]);
    // Each idle socket was retired (after 500 ms) before the upstream's 1 s close.
    expect(upstream.connections()).toBe(4);
  });

  it('keeps an idle socket while the upstream announces a longer timeout', async () => {
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    upstream.server.keepAliveTimeout = 3_000;
    cleanup.push(() => upstream.close());
    const gw = await startGateway({ upstream: upstream.url, cache: false });
    cleanup.push(() => gw.close());
    expect((await request(`${gw.url}/a`)).status).toBe(200);
    await sleep(1_000);
    expect((await request(`${gw.url}/b`)).status).toBe(200);
    expect(upstream.connections()).toBe(1);
  });

  it('retires an idle socket a margin before the timeout the upstream announced', async () => {
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    // Announced as Keep-Alive: timeout=4; with a 2 s margin the pool keeps the socket for 2 s.
    upstream.server.keepAliveTimeout = 4_000;
    cleanup.push(() => upstream.close());
    const gw = await startGateway({
      upstream: upstream.url,
      cache: false,
      agentOptions: { retireMarginMs: 2_000 },
    });
    cleanup.push(() => gw.close());
    expect((await request(`${gw.url}/a`)).status).toBe(200);
    // Past the pool's 2 s, well before the upstream's 4 s.
    await sleep(3_000);
    expect((await request(`${gw.url}/b`)).status).toBe(200);
    expect(upstream.connections()).toBe(2);
  });

  it('retries an idempotent request once when a reused socket turns out dead, but not a POST', async () => {
    // The upstream answers the first request on each connection and kills the connection at the
    // second, the way a server that timed it out would.
    const served = new WeakMap<Socket, number>();
    const upstream = await startUpstream((req, res) => {
      const socket = req.socket;
      const n = (served.get(socket) ?? 0) + 1;
      served.set(socket, n);
      if (n > 1) {
        socket.destroy();
        return;
      }
      void readBody(req).then(() => res.end(`ok ${req.method}`));
    });
    cleanup.push(() => upstream.close());
    const gw = await startGateway({ upstream: upstream.url, cache: false });
    cleanup.push(() => gw.close());

    expect((await request(`${gw.url}/1`)).status).toBe(200);
    const retried = await request(`${gw.url}/2`);
    expect(retried.status).toBe(200);
    expect(retried.body.toString()).toBe('ok GET');
    expect(upstream.connections()).toBe(2);

    const post = await request(`${gw.url}/3`, { method: 'POST', body: 'data' });
    expect(post.status).toBe(502);
    expect(upstream.connections()).toBe(2);
  });
});
