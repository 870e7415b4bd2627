import { describe, expect, it } from 'vitest';
import { toDictionaryMode } from '../src/node/index.ts';

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
});
