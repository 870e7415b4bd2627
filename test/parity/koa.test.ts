import { runAdapterParity } from '@gatecache/core/testing';
import { koaAdapter } from './koa-app.ts';

runAdapterParity('koa', koaAdapter);
