/** Reads the environment, starts the gateway (and the demo backend when no UPSTREAM is set), listens. */
import { readGatewayConfig } from './config.ts';
import { startDemoBackend } from './demo-backend.ts';
import { createGateway } from './gateway.ts';

const config = readGatewayConfig(process.env);
const backend = config.upstream === undefined ? await startDemoBackend() : undefined;
const upstream = config.upstream ?? backend?.url ?? '';

const gateway = await createGateway({
  upstream,
  timeoutMs: config.upstreamTimeoutMs,
  adapter: config.adapter,
  redisUrl: config.redisUrl,
  configFile: config.configFile,
  purgeToken: config.purgeToken,
  adminToken: config.adminToken,
});
const url = await gateway.listen(config.port, config.host);
const extras = [
  gateway.stack?.l2 === undefined ? 'memory' : 'memory + Redis',
  config.configFile === undefined ? undefined : `rules from ${config.configFile}`,
  config.purgeToken === undefined ? undefined : 'purge at /cache/invalidate',
  config.adminToken === undefined ? undefined : 'admin at /_gatecache, /metrics',
].filter((part) => part !== undefined);
console.log(
  `gatecache gateway (${config.adapter}) listening on ${url} -> upstream ${upstream}${backend === undefined ? '' : ' (bundled demo backend)'}; ${extras.join(', ')}`,
);

async function shutdown(): Promise<void> {
  await gateway.close();
  await backend?.close();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
