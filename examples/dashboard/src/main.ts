import { createShutdown } from '@gatecache/core/data';
import { createServer } from 'node:http';
import { createDashboardApp } from './app.ts';
import { demoSources } from './sources.ts';

const { app, cache } = createDashboardApp({ sources: demoSources() });
const server = createServer(app);
const port = Number(process.env['PORT'] ?? 3000);
server.listen(port, () => {
  console.log(`dashboard on http://localhost:${port}/api/dashboard (send x-user-id: 42)`);
});

const shutdown = createShutdown({
  cache,
  stores: [{ close: () => new Promise<void>((resolve) => server.close(() => resolve())) }],
  deadlineMs: 5000,
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void shutdown().then(() => process.exit(0)));
}
