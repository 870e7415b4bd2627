import { createServer } from 'node:net';

/** A loopback port that was free a moment ago (the kernel picks it, so it is never 6379 by luck alone). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        const found = typeof address === 'object' && address !== null ? address.port : 0;
        probe.close(() => resolve(found));
      });
    });
    if (port !== 0 && port !== 6379) return port;
  }
  throw new Error('no free loopback port found');
}
