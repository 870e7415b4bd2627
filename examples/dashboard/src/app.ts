import { createDataCache, type DataCache, type DataEntryOptions } from '@gatecache/core/data';
import express, { type Express } from 'express';
import type { DashboardSources } from './sources.ts';

/**
 * How long each fragment may be reused, in seconds: the profile changes rarely, orders when the
 * user orders (purged then), recommendations are expensive and may be a little old, notifications
 * must be near real time.
 */
export const FRAGMENT_TTL = {
  profile: 300,
  recentOrders: 60,
  recommendations: 1800,
  notifications: 10,
} as const;

export interface DashboardAppOptions {
  readonly sources: DashboardSources & { placeOrder?(userId: string, total: number): void };
  readonly cache?: DataCache;
}

/**
 * `GET /api/dashboard` composes four fragments, each cached on its own with its own TTL, so a
 * dashboard request only calls the backends whose fragment expired. Fragments are per user:
 * the user is part of every key and tag.
 */
export function createDashboardApp(options: DashboardAppOptions): {
  app: Express;
  cache: DataCache;
} {
  const cache = options.cache ?? createDataCache({ namespace: 'dashboard' });
  const { sources } = options;
  const app = express();
  app.use(express.json());

  const fragment = <T>(
    name: keyof typeof FRAGMENT_TTL,
    userId: string,
    load: () => Promise<T>,
    extra: DataEntryOptions = {},
  ) =>
    cache.wrap(`${name}:${userId}`, load, {
      ttl: FRAGMENT_TTL[name],
      tags: [`user:${userId}`, `${name}:${userId}`],
      ...extra,
    });

  app.get('/api/dashboard', async (req, res, next) => {
    // A demo stand-in for authentication.
    const userId = req.get('x-user-id');
    if (userId === undefined || !/^[\w-]{1,64}$/.test(userId)) {
      res.status(401).json({ error: 'x-user-id required' });
      return;
    }
    try {
      const [profile, recentOrders, recommendations, notifications] = await Promise.all([
        fragment('profile', userId, () => sources.profile(userId)),
        fragment('recentOrders', userId, () => sources.recentOrders(userId)),
        // Expensive and not critical: served stale while refreshing, and when its backend fails.
        fragment('recommendations', userId, () => sources.recommendations(userId), {
          staleWhileRevalidate: 600,
          staleIfError: 3600,
        }),
        fragment('notifications', userId, () => sources.notifications(userId)),
      ]);
      // The composed response is per user: no shared cache may keep it.
      res.set('cache-control', 'private, no-store');
      res.json({ profile, recentOrders, recommendations, notifications });
    } catch (error) {
      next(error);
    }
  });

  app.post('/api/orders', async (req, res) => {
    const userId = req.get('x-user-id');
    const total = Number((req.body as { total?: unknown } | undefined)?.total);
    if (userId === undefined || !Number.isFinite(total)) {
      res.status(400).json({ error: 'x-user-id and a numeric total required' });
      return;
    }
    sources.placeOrder?.(userId, total);
    // Only this user's orders fragment is out of date now.
    await cache.invalidateTags([`recentOrders:${userId}`]);
    res.status(201).json({ ok: true });
  });

  return { app, cache };
}
