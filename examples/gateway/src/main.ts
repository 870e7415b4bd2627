/** Reads the environment, starts the gateway (and the demo backend when no UPSTREAM is set), listens. */
import { readGatewayConfig } from './config.ts';
import { startDemoBackend } from './demo-backend.ts';
import { createGateway } from './gateway.ts';

const config = readGatewayConfig(process.env);
const backend = config.upstream === undefined ? await startDemoBackend() : undefined;
const upstream = config.upstream ?? backend?.url ?? '';

const gateway = createGateway({
  upstream,
  timeoutMs: config.upstreamTimeoutMs,
});
const url = await gateway.listen(config.port, config.host);
console.log(
  `gatecache gateway listening on ${url} -> upstream ${upstream}${backend === undefined ? '' : ' (bundled demo backend)'}`,
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
