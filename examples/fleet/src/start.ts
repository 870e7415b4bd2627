/** Starts the demo backend and two gateways on one Redis, and leaves them running. */
import { startFleet } from './fleet.ts';
import { readFleetEnv } from './env.ts';

const env = readFleetEnv(process.env);
const fleet = await startFleet({
  redisUrl: env.redisUrl,
  ports: [env.portA, env.portB],
  host: env.host,
  purgeToken: env.purgeToken,
  ...(env.adapter !== undefined && { adapter: env.adapter }),
});
console.log(`backend    ${fleet.backend.url}`);
console.log(`gateway A  ${fleet.a.url}`);
console.log(`gateway B  ${fleet.b.url}`);
console.log(`Redis      ${env.redisShown}`);
console.log('Run `pnpm --filter gatecache-example-fleet demo` in another terminal.');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    fleet.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
