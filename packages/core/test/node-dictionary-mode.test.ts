import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toDictionaryMode } from '../src/node/index.ts';

const BRIDGE = fileURLToPath(new URL('../src/node/index.ts', import.meta.url));

/** Runs `handle` on one request to a fresh server and waits for the response to end. */
async function onRequest(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const response = await new Promise<IncomingMessage>((resolve) => {
    get(`http://127.0.0.1:${port}/`, resolve);
  });
  response.resume();
  await once(response, 'end');
  server.close();
}

describe('toDictionaryMode', () => {
  it('keeps every own field, value and prototype, and leaves nothing behind', () => {
    const proto = { greet: () => 'hi' };
    const target = Object.assign(Object.create(proto) as Record<PropertyKey, unknown>, {
      a: 1,
      b: 'two',
      [Symbol.for('mark')]: true,
    });
    const keysBefore = Reflect.ownKeys(target);
    toDictionaryMode(target);
    expect(Reflect.ownKeys(target)).toEqual(keysBefore);
    expect(target.a).toBe(1);
    expect(target.b).toBe('two');
    expect(target[Symbol.for('mark')]).toBe(true);
    expect(Object.getPrototypeOf(target)).toBe(proto);
    target.c = 3;
    expect(target.c).toBe(3);
  });

  it('leaves a frozen or sealed object alone instead of throwing', () => {
    const frozen = Object.freeze({ a: 1 });
    const sealed = Object.seal({ b: 2 });
    expect(() => toDictionaryMode(frozen)).not.toThrow();
    expect(() => toDictionaryMode(sealed)).not.toThrow();
    expect(Reflect.ownKeys(frozen)).toEqual(['a']);
    expect(Reflect.ownKeys(sealed)).toEqual(['b']);
  });

  it('switches a Node request and response to dictionary mode', () => {
    // V8 tells only with its natives syntax, so the check runs in a child process.
    const script = `
      import http from 'node:http';
      import { toDictionaryMode } from ${JSON.stringify(BRIDGE)};
      const server = http.createServer((req, res) => {
        const before = [%HasFastProperties(req), %HasFastProperties(res)];
        toDictionaryMode(req);
        toDictionaryMode(res);
        const after = [%HasFastProperties(req), %HasFastProperties(res)];
        console.log(JSON.stringify({ before, after }));
        res.end();
        server.close();
      });
      server.listen(0, '127.0.0.1', () =>
        http.get('http://127.0.0.1:' + server.address().port + '/', (r) => r.resume()));
    `;
    const child = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ before: [true, true], after: [false, false] });
  });

  it('keeps a Node response’s listeners and the same set of fields', async () => {
    let finished = false;
    let keys: { before: string[]; after: string[] } | undefined;
    let events: [unknown, unknown] | undefined;
    await onRequest((req, res) => {
      res.on('finish', () => (finished = true));
      const held = (res as unknown as { _events: unknown })._events;
      const before = Object.keys(res).sort();
      toDictionaryMode(req);
      toDictionaryMode(res);
      keys = { before, after: Object.keys(res).sort() };
      events = [held, (res as unknown as { _events: unknown })._events];
      res.end('ok');
    });
    expect(finished).toBe(true);
    expect(keys!.after).toEqual(keys!.before);
    expect(events![1]).toBe(events![0]);
  });

  it('leaves an `_events` it cannot take out and put back as it is', () => {
    const getter = () => 'kept';
    const target = Object.defineProperty({ a: 1 }, '_events', { get: getter, configurable: true });
    toDictionaryMode(target);
    const descriptor = Object.getOwnPropertyDescriptor(target, '_events');
    expect(descriptor !== undefined && 'get' in descriptor && descriptor.get === getter).toBe(true);
    const fixed = Object.defineProperty({ b: 2 }, '_events', { value: 'fixed', enumerable: true });
    toDictionaryMode(fixed);
    expect(Object.getOwnPropertyDescriptor(fixed, '_events')).toEqual({
      value: 'fixed',
      writable: false,
      enumerable: true,
      configurable: false,
    });
  });
});
