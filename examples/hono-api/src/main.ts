import { serve } from '@hono/node-server';
import { app } from './app.ts';

const port = Number(process.env['PORT'] ?? 3002);
serve({ fetch: app.fetch, port }, (info) => {
  console.log(`hono-api on http://localhost:${info.port}`);
  console.log(
    'try: curl -i localhost:%d/quotes (twice), curl -N localhost:%d/ticker (twice)',
    info.port,
    info.port,
  );
});
