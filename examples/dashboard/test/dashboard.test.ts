import { createDataCache } from '@gatecache/core/data';
import { createManualClock } from '@gatecache/core/testing';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardApp, FRAGMENT_TTL } from '../src/app.ts';
import type { DashboardSources } from '../src/sources.ts';

type Fragment = keyof DashboardSources;

/** Instant sources that count their calls per fragment. */
function countingSources() {
  const calls: Record<Fragment, number> = {
    profile: 0,
    recentOrders: 0,
    recommendations: 0,
    notifications: 0,
  };
  let failRecommendations = false;
  const orders: Array<{ id: string; total: number }> = [];
  const sources: DashboardSources & { placeOrder(userId: string, total: number): void } = {
    profile: (id) => (calls.profile++, Promise.resolve({ id, name: `User ${id}`, plan: 'pro' })),
    recentOrders: () => (calls.recentOrders++, Promise.resolve([...orders])),
    recommendations: () => {
      calls.recommendations++;
      if (failRecommendations) return Promise.reject(new Error('recommender down'));
      return Promise.resolve([{ sku: `r${calls.recommendations}`, title: 'Book' }]);
    },
    notifications: () => (
      calls.notifications++,
      Promise.resolve([{ id: calls.notifications, text: 'hi' }])
    ),
    placeOrder: (_user, total) => void orders.push({ id: `o${orders.length + 1}`, total }),
  };
  return {
    sources,
    calls,
    failRecommendations: (on: boolean) => {
      failRecommendations = on;
    },
  };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function start(sources: DashboardSources) {
  const clock = createManualClock();
  const { app, cache } = createDashboardApp({ sources, cache: createDataCache({ clock }) });
  const server = createServer(app);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dashboard = async (user = '42') => {
    const res = await fetch(`${base}/api/dashboard`, { headers: { 'x-user-id': user } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    return (await res.json()) as Record<string, unknown>;
  };
  return { base, clock, cache, dashboard };
}

describe('dashboard: fragment caching', () => {
  it('calls each fragment source per its own TTL', async () => {
    const { sources, calls } = countingSources();
    const { clock, dashboard } = await start(sources);
    const body = await dashboard();
    expect(Object.keys(body).sort()).toEqual([
      'notifications',
      'profile',
      'recentOrders',
      'recommendations',
    ]);
    expect(calls).toEqual({ profile: 1, recentOrders: 1, recommendations: 1, notifications: 1 });

    await dashboard();
    expect(calls).toEqual({ profile: 1, recentOrders: 1, recommendations: 1, notifications: 1 });

    // Notifications (10 s) expire first; the other fragments are still served from the cache.
    clock.advance(FRAGMENT_TTL.notifications * 1000);
    await dashboard();
    expect(calls).toEqual({ profile: 1, recentOrders: 1, recommendations: 1, notifications: 2 });

    // At 60 s: orders and notifications again.
    clock.advance((FRAGMENT_TTL.recentOrders - FRAGMENT_TTL.notifications) * 1000);
    await dashboard();
    expect(calls).toEqual({ profile: 1, recentOrders: 2, recommendations: 1, notifications: 3 });

    // At 300 s: the profile too; recommendations (30 min) still cached.
    clock.advance((FRAGMENT_TTL.profile - FRAGMENT_TTL.recentOrders) * 1000);
    await dashboard();
    expect(calls).toEqual({ profile: 2, recentOrders: 3, recommendations: 1, notifications: 4 });

    clock.advance((FRAGMENT_TTL.recommendations - FRAGMENT_TTL.profile) * 1000);
    const late = await dashboard();
    // Past its TTL, within stale-while-revalidate: the stale list now, a refresh behind it.
    expect(late['recommendations']).toEqual([{ sku: 'r1', title: 'Book' }]);
    expect(calls.recommendations).toBe(2);
  });

  it('keeps fragments per user and purges only the fragment a write changed', async () => {
    const { sources, calls } = countingSources();
    const { base, dashboard } = await start(sources);
    await dashboard('1');
    await dashboard('2');
    expect(calls.profile).toBe(2);
    const res = await fetch(`${base}/api/orders`, {
      method: 'POST',
      headers: { 'x-user-id': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ total: 30 }),
    });
    expect(res.status).toBe(201);
    const after = await dashboard('1');
    expect(after['recentOrders']).toEqual([{ id: 'o1', total: 30 }]);
    expect(calls).toMatchObject({ profile: 2, recentOrders: 3, notifications: 2 });
    await dashboard('2');
    expect(calls.recentOrders).toBe(3);
  });

  it('serves the last recommendations when the recommender fails (stale-if-error)', async () => {
    const { sources, calls, failRecommendations } = countingSources();
    const { clock, dashboard } = await start(sources);
    await dashboard();
    failRecommendations(true);
    clock.advance((FRAGMENT_TTL.recommendations + 900) * 1000);
    const body = await dashboard();
    expect(body['recommendations']).toEqual([{ sku: 'r1', title: 'Book' }]);
    expect(calls.recommendations).toBe(2);
  });
});
