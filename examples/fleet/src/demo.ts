/** Runs the demo against a fleet started with `pnpm --filter gatecache-example-fleet start`. */
import { runDemo } from './demo-flow.ts';
import { readFleetEnv } from './env.ts';

const env = readFleetEnv(process.env);
const host = env.host === '0.0.0.0' ? '127.0.0.1' : env.host;
try {
  const steps = await runDemo({
    a: `http://${host}:${env.portA}`,
    b: `http://${host}:${env.portB}`,
    purgeToken: env.purgeToken,
    print: (line) => console.log(line),
  });
  process.exitCode = steps.every((step) => step.ok) ? 0 : 1;
} catch (error) {
  console.error(
    `Cannot reach the fleet on ports ${env.portA} and ${env.portB} (${(error as Error).message}). Start it first: pnpm --filter gatecache-example-fleet start`,
  );
  process.exitCode = 1;
}
