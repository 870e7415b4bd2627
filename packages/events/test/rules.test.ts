import { describe, expect, it } from 'vitest';
import { parseConfig } from '@gatecache/core/config';
import type { PurgeCounts, PurgeSpec } from '@gatecache/core/invalidation';
import { createEventDispatcher, parseCondition, type EventLogger } from '../src/index.ts';

const SEED = `
invalidation:
  strategies:
    event_based:
      enabled: true
      event_sources:
        - type: "webhook"
          endpoint: "/cache/invalidate"
          authentication: "bearer_token"
        - type: "message_queue"
          queue: "cache_events"
          connection: "amqp://127.0.0.1"
    tag_based:
      enabled: true
      batch_size: 100
  rules:
    - event: "user.profile.updated"
      action: "invalidate_tags"
      tags: ["user:\${user_id}"]
    - event: "product.updated"
      action: "invalidate_pattern"
      pattern: "products:*"
    - event: "system.config.changed"
      action: "invalidate_all"
      condition: "config.cache_version != current_version"
`;

function recorder() {
  const specs: PurgeSpec[] = [];
  const counts: PurgeCounts = { urls: 0, tags: 0, patterns: 0, keys: 0, all: false };
  return {
    specs,
    invalidate(spec: PurgeSpec) {
      specs.push(spec);
      return Promise.resolve(counts);
    },
  };
}

const warnings: string[] = [];
const logger: EventLogger = { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };

describe('the seed rules', () => {
  const rules = parseConfig(SEED, { format: 'yaml' }).invalidation!.rules;

  it('user.profile.updated purges the user tag', async () => {
    const sink = recorder();
    const dispatcher = createEventDispatcher({ rules, invalidation: sink, logger });
    const result = await dispatcher.dispatch(
      JSON.stringify({ type: 'user.profile.updated', user_id: 42 }),
    );
    expect(result.outcome).toBe('applied');
    expect(sink.specs).toEqual([{ tags: ['user:42'] }]);
    await dispatcher.dispatch({ type: 'user.profile.updated', data: { user_id: 'a*b' } });
    // A field value is a literal tag, whatever it contains.
    expect(sink.specs[1]).toEqual({ tags: ['user:a*b'] });
  });

  it('product.updated purges the products tag glob', async () => {
    const sink = recorder();
    const dispatcher = createEventDispatcher({ rules, invalidation: sink, logger });
    await dispatcher.dispatch({ type: 'product.updated', product_id: 1 });
    expect(sink.specs).toEqual([{ patterns: ['products:*'] }]);
  });

  it('system.config.changed bumps the namespace only when the version changed', async () => {
    const sink = recorder();
    let current = 3;
    const dispatcher = createEventDispatcher({
      rules,
      invalidation: sink,
      logger,
      variables: { current_version: () => current },
    });
    const same = await dispatcher.dispatch({
      type: 'system.config.changed',
      config: { cache_version: '3' },
    });
    expect(same).toEqual({
      outcome: 'ignored',
      event: 'system.config.changed',
      reason: 'condition-false',
    });
    // An event cannot forge the gateway's own variable.
    await dispatcher.dispatch({
      type: 'system.config.changed',
      config: { cache_version: 3 },
      current_version: 4,
    });
    expect(sink.specs).toEqual([]);
    const changed = await dispatcher.dispatch({
      type: 'system.config.changed',
      config: { cache_version: 4 },
    });
    expect(changed.outcome).toBe('applied');
    expect(sink.specs).toEqual([{ all: true }]);
    current = 4;
  });
});

describe('bad events are dropped, never thrown', () => {
  const rules = parseConfig(SEED, { format: 'yaml' }).invalidation!.rules;
  const sink = recorder();
  const dispatcher = createEventDispatcher({ rules, invalidation: sink, logger });

  it.each([
    ['not JSON', '{"type":'],
    ['not an object', '[1,2]'],
    ['no type', '{"user_id":1}'],
    ['missing template field', '{"type":"user.profile.updated"}'],
    ['object where a value belongs', '{"type":"user.profile.updated","user_id":{"a":1}}'],
  ])('%s', async (_name, message) => {
    const result = await dispatcher.dispatch(message);
    expect(result.outcome).toBe('rejected');
    expect(sink.specs).toEqual([]);
  });

  it('an unknown event is ignored and logged', async () => {
    warnings.length = 0;
    expect(await dispatcher.dispatch({ type: 'order.shipped' })).toEqual({
      outcome: 'ignored',
      event: 'order.shipped',
      reason: 'no-rule',
    });
    expect(warnings.join()).toContain('no invalidation rule');
  });

  it('a failed purge rejects, so the source retries', async () => {
    const failing = createEventDispatcher({
      rules,
      logger,
      invalidation: { invalidate: () => Promise.reject(new Error('redis down')) },
    });
    await expect(failing.dispatch({ type: 'product.updated' })).rejects.toThrow('redis down');
  });
});

describe('templates and patterns', () => {
  it('escapes glob characters of field values put into a tag glob', async () => {
    const sink = recorder();
    const dispatcher = createEventDispatcher({
      rules: [{ event: 'e', action: 'invalidate_pattern', pattern: 'products:${id}:*' }],
      invalidation: sink,
      logger,
    });
    await dispatcher.dispatch({ type: 'e', id: '*' });
    expect(sink.specs).toEqual([{ patterns: ['products:\\*:*'] }]);
  });

  it('refuses field values that would widen a URL glob', async () => {
    const sink = recorder();
    const dispatcher = createEventDispatcher({
      rules: [{ event: 'e', action: 'invalidate_pattern', pattern: '/api/products/${id}/**' }],
      invalidation: sink,
      logger,
    });
    expect((await dispatcher.dispatch({ type: 'e', id: '**' })).outcome).toBe('rejected');
    expect((await dispatcher.dispatch({ type: 'e', id: 12 })).outcome).toBe('applied');
    expect(sink.specs).toEqual([{ patterns: ['/api/products/12/**'] }]);
  });

  it('rejects invalid rules when created, naming the field', () => {
    const invalidation = recorder();
    expect(() =>
      createEventDispatcher({
        rules: [{ event: 'e', action: 'invalidate_tags', tags: ['user:${'] }],
        invalidation,
      }),
    ).toThrow(/rules\[0\]\.tags\[0\]/);
    expect(() =>
      createEventDispatcher({
        rules: [{ event: 'e', action: 'invalidate_all', condition: 'a ==' }],
        invalidation,
      }),
    ).toThrow(/rules\[0\]\.condition/);
  });
});

describe('conditions', () => {
  const values: Record<string, unknown> = {
    config: { cache_version: '4', enabled: true, name: 'x' },
    current_version: 3,
    n: 10,
  };
  const resolve = (path: readonly string[]) =>
    path.reduce<unknown>(
      (v, k) =>
        v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined,
      values,
    );

  it.each([
    ['config.cache_version != current_version', true],
    ['config.cache_version == 4', true],
    ['n > 9 && n <= 10', true],
    ['n < 5 || config.name == "x"', true],
    ["!(config.name == 'x')", false],
    ['config.enabled', true],
    ['config.missing == null', true],
    ['not config.enabled or n >= 11', false],
  ])('%s → %s', (source, expected) => {
    expect(parseCondition(source).evaluate(resolve)).toBe(expected);
  });

  it.each(['a.constructor == 1', 'process.exit()', 'a = 1', 'a ==', '(a == 1', "'unclosed"])(
    'refuses %s',
    (source) => {
      expect(() => parseCondition(source)).toThrow();
    },
  );
});
