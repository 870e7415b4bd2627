/** The backends a dashboard is composed from. Each call is a network round trip in real life. */
export interface DashboardSources {
  profile(userId: string): Promise<{ id: string; name: string; plan: string }>;
  recentOrders(userId: string): Promise<Array<{ id: string; total: number }>>;
  recommendations(userId: string): Promise<Array<{ sku: string; title: string }>>;
  notifications(userId: string): Promise<Array<{ id: number; text: string }>>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Demo backends with made-up latency, so the effect of caching each fragment is visible. */
export function demoSources(): DashboardSources & {
  placeOrder(userId: string, total: number): void;
} {
  const orders = new Map<string, Array<{ id: string; total: number }>>();
  let notification = 0;
  return {
    async profile(userId) {
      await pause(40);
      return { id: userId, name: `User ${userId}`, plan: 'pro' };
    },
    async recentOrders(userId) {
      await pause(80);
      return (orders.get(userId) ?? []).slice(-5);
    },
    async recommendations(userId) {
      await pause(250);
      return [
        { sku: `sku-${userId}-1`, title: 'Noise-cancelling headphones' },
        { sku: `sku-${userId}-2`, title: 'Mechanical keyboard' },
      ];
    },
    async notifications() {
      await pause(20);
      return [{ id: ++notification, text: 'Your parcel is on its way' }];
    },
    placeOrder(userId, total) {
      const list = orders.get(userId) ?? [];
      list.push({ id: `o-${list.length + 1}`, total });
      orders.set(userId, list);
    },
  };
}
