// koa-cash ships no types; this is the part of its API the bench uses.
declare module 'koa-cash' {
  import type { Middleware } from 'koa';

  interface KoaCashOptions {
    maxAge?: number;
    setCachedHeader?: boolean;
    get(key: string, maxAge: number): Promise<unknown>;
    set(key: string, value: object, maxAge: number): Promise<unknown>;
  }
  export default function koaCash(options: KoaCashOptions): Middleware;

  module 'koa' {
    interface ExtendableContext {
      cashed(maxAge?: number): Promise<boolean>;
    }
  }
}
